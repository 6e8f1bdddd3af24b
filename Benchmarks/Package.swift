// swift-tools-version:6.1
// Release-mode benchmarks, kept out of the main package so tests and CI never build them.
// Run through scripts/bench_codec.sh (and the other scripts/bench_* scripts).
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, which depends on where the clone lives.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let rootIdentity = root.lastPathComponent.lowercased()

let package = Package(
    name: "cassandra-scheduler-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.1"),
    ],
    targets: [
        .executableTarget(
            name: "codecbench",
            dependencies: [
                .product(name: "CQLWire", package: rootIdentity),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
