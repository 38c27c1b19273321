// swift-tools-version:6.2
// Benchmarks live in their own package so the main build stays lean; each
// `make bench-*` builds its executable in release mode and runs it.

import PackageDescription

let package = Package(
    name: "hma-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "hma", path: ".."),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // The peer the mesh is compared with (unary RPC over HTTP/2 + TLS).
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        // The gateway benchmark's ceiling: a bare Hummingbird WebSocket echo
        // server. The same single trait as the root package (see its comment).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["ConfigurationSupport"]),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
    ],
    targets: [
        // Writes each benchmark's section of docs/benchmarks.md.
        .target(name: "BenchmarkReport"),
        .executableTarget(
            name: "StorageBenchmark",
            dependencies: [
                "BenchmarkReport",
                .product(name: "Storage", package: "hma"),
                // The same system SQLite the store uses, driven directly: the ceiling.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        .executableTarget(
            name: "MeshBenchmark",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                "BenchmarkReport",
                "AllocationCounter",
                .product(name: "Mesh", package: "hma"),
                .product(name: "MeshTesting", package: "hma"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ]
        ),
        // Interposed malloc and friends: allocations per call in bench-mesh.
        .target(name: "AllocationCounter"),
        .executableTarget(
            name: "WorkspaceBenchmark",
            dependencies: ["BenchmarkReport", .product(name: "Workspace", package: "hma")]
        ),
        .executableTarget(
            name: "LLMBenchmark",
            dependencies: [
                "BenchmarkReport",
                .product(name: "Providers", package: "hma"),
                .product(name: "ProviderTesting", package: "hma"),
            ]
        ),
        .executableTarget(
            name: "AgentsBenchmark",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                "BenchmarkReport",
                .product(name: "Agents", package: "hma"),
                .product(name: "Mesh", package: "hma"),
                .product(name: "Providers", package: "hma"),
                .product(name: "Workspace", package: "hma"),
            ]
        ),
        .executableTarget(
            name: "hma-bench-node",
            dependencies: [.product(name: "MeshTesting", package: "hma")]
        ),
        .executableTarget(
            name: "ClusterBenchmark",
            dependencies: [
                "BenchmarkReport",
                .product(name: "Mesh", package: "hma"),
                .product(name: "MeshTesting", package: "hma"),
                .product(name: "ProcessTesting", package: "hma"),
            ]
        ),
        // make bench-gateway: the web IDE protocol of a real `hma dev` process
        // (built in release mode beside it) against a bare Hummingbird
        // WebSocket echo and a python-socketio echo, driven by a raw NIO
        // WebSocket load client on one event loop.
        .executableTarget(
            name: "GatewayBenchmark",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                "BenchmarkReport",
                .product(name: "ProcessTesting", package: "hma"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
    ]
)
