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
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // The peer the mesh is compared with (unary RPC over HTTP/2 + TLS).
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
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
                "BenchmarkReport",
                .product(name: "Mesh", package: "hma"),
                .product(name: "MeshTesting", package: "hma"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ]
        ),
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
    ]
)
