// swift-tools-version:6.2
// Hummingbird, async-http-client and swift-prometheus need tools version 6.2.

import PackageDescription

// Modules and their dependencies follow docs/architecture.md ("Modules"):
// arrows point from user to used; nothing points back up.
//
//   hma (CLI) ──> Gateway ──> Agents ──> Mesh
//                   │            ├──> Providers (LLM APIs, AsyncHTTPClient)
//                   │            └──> Workspace ──> CGit2 (libgit2)
//                   └──> Storage (GRDB over the system SQLite)

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "hma",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hma", targets: ["hma"]),
        // Runs each git operation inside the project's jail (ProjectGit).
        .executable(name: "hma-git", targets: ["hma-git"]),
        .library(name: "Storage", targets: ["Storage"]),
        .library(name: "Mesh", targets: ["Mesh"]),
        .library(name: "Workspace", targets: ["Workspace"]),
        .library(name: "MeshTesting", targets: ["MeshTesting"]),
        // Driving node processes (multi-process tests, make bench-cluster).
        .library(name: "ProcessTesting", targets: ["ProcessTesting"]),
        .library(name: "Providers", targets: ["Providers"]),
        .library(name: "Agents", targets: ["Agents"]),
        .library(name: "ProviderTesting", targets: ["ProviderTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // FilePath for swift-configuration's file provider (`hma` settings files).
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // One trait only: SwiftPM 6.3.1 orders several trait flags at random and
        // would rebuild hummingbird on every other build.
        .package(
            url: "https://github.com/hummingbird-project/hummingbird",
            from: "2.28.1",
            traits: ["ConfigurationSupport"]
        ),
        // The web IDE's WebSocket (server) and the tests' client.
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        // HTTP field types of the WebSocket client's upgrade headers (test support).
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // `GET /metrics` in Prometheus text.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CGit2",
            pkgConfig: "libgit2",
            providers: [.apt(["libgit2-dev"])]
        ),
        .target(
            name: "Mesh",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // Helpers for mesh tests and benchmarks (a probe actor).
        .target(
            name: "MeshTesting",
            dependencies: ["Mesh", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // System calls Swift cannot make directly (openat2, renameat2).
        .target(name: "CSystemCalls", linkerSettings: [.linkedLibrary("seccomp"), .linkedLibrary("util")]),
        .target(
            name: "Workspace",
            dependencies: [
                "CGit2", "CSystemCalls",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "Logging", package: "swift-log"),
                // The Docker Engine API over its unix socket.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The git helper: libgit2 with the project's rights, one request per run.
        .executableTarget(
            name: "hma-git",
            dependencies: ["Workspace"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Storage",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Language model providers: one protocol, each provider's native
        // streaming API over AsyncHTTPClient, the model catalogue, the demo model.
        .target(
            name: "Providers",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Agents",
            dependencies: ["Mesh", "Providers", "Workspace"],
            resources: [.copy("Resources")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Gateway",
            dependencies: [
                "Agents",
                "Storage",
                "Mesh",
                "Providers",
                "Workspace",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                // Close codes of the WebSocket (policy violation, going away).
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "hma",
            dependencies: [
                "Agents",
                "Gateway",
                "Mesh",
                "Providers",
                "Storage",
                "Workspace",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),

        // Test helpers: a child process that appends acknowledged messages until
        // it is killed (the durability test kills it with SIGKILL).
        .executableTarget(
            name: "hma-storage-appender",
            dependencies: ["Storage"],
            path: "Tests/Support/StorageAppender",
            swiftSettings: swiftSettings
        ),

        // A mesh node process for multi-process tests.
        .executableTarget(
            name: "hma-mesh-node",
            dependencies: ["MeshTesting"],
            path: "Tests/Support/MeshNode",
            swiftSettings: swiftSettings
        ),

        // A stand-in server for sandbox lifetime tests (killed with SIGKILL).
        .executableTarget(
            name: "hma-sandbox-probe",
            dependencies: ["Workspace"],
            path: "Tests/Support/SandboxProbe",
            swiftSettings: swiftSettings
        ),

        // A WebSocket client of the web IDE protocol (gateway tests, make bench-gateway).
        .target(
            name: "GatewayTesting",
            dependencies: [
                "Gateway",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            path: "Tests/Support/GatewayTesting",
            swiftSettings: swiftSettings
        ),

        // Starting, driving and killing real processes in tests.
        .target(
            name: "ProcessTesting",
            dependencies: ["Mesh", "MeshTesting"],
            path: "Tests/Support/ProcessTesting",
            swiftSettings: swiftSettings
        ),

        // A local HTTP server that plays scripted answers in the providers'
        // wire formats (provider tests, `make bench-llm`).
        .target(
            name: "ProviderTesting",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Tests/Support/ProviderTesting",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProvidersTests",
            dependencies: ["Providers", "ProviderTesting", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgentsTests",
            dependencies: ["Agents", "Mesh", "MeshTesting", "Providers", "Workspace", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Agents",
                "Gateway",
                "Mesh",
                "Providers",
                "Storage",
                "Workspace",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeshTests",
            dependencies: [
                "Mesh", "MeshTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WorkspaceTests",
            dependencies: ["Workspace", "ProcessTesting", "hma-sandbox-probe", "hma-git", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
            swiftSettings: swiftSettings
        ),
        // Tests that start real `hma` processes (and the appender) and talk to
        // them over sockets. They find the executables next to the test bundle.
        .testTarget(
            name: "ProcessTests",
            dependencies: [
                "hma", "hma-storage-appender", "hma-mesh-node",  // executables the tests start
                "Storage", "Mesh", "MeshTesting", "ProcessTesting", "ProviderTesting", "Gateway", "GatewayTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Multi-process cluster tests: one OS process per node. Run them
        // alone with `swift test --filter ClusterProcessTests`.
        .testTarget(
            name: "ClusterProcessTests",
            dependencies: ["hma-mesh-node", "Mesh", "MeshTesting", "ProcessTesting"],
            swiftSettings: swiftSettings
        ),
    ]
)
