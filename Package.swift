// swift-tools-version:6.1
import PackageDescription

let strictConcurrency: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "cassandra-scheduler",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "CQLWire", targets: ["CQLWire"]),
        .library(name: "CQLNode", targets: ["CQLNode"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(
            name: "CQLWire",
            swiftSettings: strictConcurrency
        ),
        .target(
            name: "CQLNode",
            dependencies: [
                "CQLWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strictConcurrency
        ),
        .testTarget(
            name: "CQLNodeTests",
            dependencies: [
                "CQLNode", "CQLWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictConcurrency
        ),
        .testTarget(
            name: "CQLWireTests",
            dependencies: ["CQLWire"],
            swiftSettings: strictConcurrency
        ),
    ],
    swiftLanguageModes: [.v6]
)
