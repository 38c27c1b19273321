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
    ],
    targets: [
        .executableTarget(
            name: "StorageBenchmark",
            dependencies: [
                .product(name: "Storage", package: "hma"),
                // The same system SQLite the store uses, driven directly: the ceiling.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
    ]
)
