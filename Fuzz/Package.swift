// swift-tools-version:6.2
// libFuzzer target for the mesh's frame, envelope and value decoders.
// Built by `make fuzz-wire` with `--sanitize=fuzzer` (and address), which
// instruments every module; kept out of the main package for that reason.

import PackageDescription

let package = Package(
    name: "hma-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "hma", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
    ],
    targets: [
        .executableTarget(
            name: "WireFuzzer",
            dependencies: [
                .product(name: "Mesh", package: "hma"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
