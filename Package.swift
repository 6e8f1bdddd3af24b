// swift-tools-version:6.1
import PackageDescription

let strictConcurrency: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

/// Imports are internal unless a file says `public import`, and a member is found only through
/// a module the file imports: a file shows exactly what it uses. On every library and executable
/// target (the test targets keep implicit imports).
let explicitImports: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "cassandra-scheduler",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "CQLCodec", targets: ["CQLCodec"]),
        .library(name: "CQLWire", targets: ["CQLWire"]),
        .library(name: "CQLNode", targets: ["CQLNode"]),
        .executable(name: "cqlnode", targets: ["cqlnode"]),
        .executable(name: "cqlprobe", targets: ["cqlprobe"]),
        .executable(name: "cqlbench", targets: ["cqlbench"]),
        .library(name: "Scheduler", targets: ["Scheduler"]),
        .library(name: "WorkerServer", targets: ["WorkerServer"]),
        .executable(name: "worker", targets: ["worker"]),
        .executable(name: "chaos", targets: ["chaos"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/pointfreeco/swift-clocks", from: "1.1.1"),
        .package(url: "https://github.com/attaswift/BigInt", from: "6.0.1"),
        // MD5 for the node's prepared-statement and schema ids.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // Child processes of the tests and the chaos harness (TestSupport).
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        // cqlbench's latency percentiles.
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // `swift package generate-documentation` for the DocC catalogs (scripts/test.sh builds them).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // Bytes <-> frames, messages and values of the native protocol; no I/O. The client
        // (CQLWire) and the node (CQLNode) both build on it and on nothing of each other.
        .target(
            name: "CQLCodec",
            swiftSettings: strictConcurrency + explicitImports
        ),
        .target(
            name: "CQLWire",
            dependencies: [
                "CQLCodec",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: strictConcurrency + explicitImports
        ),
        .target(
            name: "CQLNode",
            dependencies: [
                "CQLCodec",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "BigInt", package: "BigInt"),
                // Insecure.MD5 for prepared statement ids and system table ids, as Cassandra derives them.
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictConcurrency + explicitImports
        ),
        .executableTarget(
            name: "cqlnode",
            dependencies: [
                "CQLNode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/CQLNodeMain",
            swiftSettings: strictConcurrency + explicitImports
        ),
        .testTarget(
            name: "InteropTests",
            dependencies: ["CQLNode", "CQLWire", "TestSupport"],
            exclude: ["python"],
            swiftSettings: strictConcurrency
        ),
        .testTarget(
            name: "CQLNodeTests",
            dependencies: [
                "CQLNode", "CQLWire", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictConcurrency
        ),
        // What every test target and the chaos harness share: child processes, scratch directories,
        // built-product lookup, `eventually`, the loopback TCP proxy and the TLS test certificates.
        // A leaf (no module of this package), so depending on it drags nothing else into a test target.
        .target(
            name: "TestSupport",
            dependencies: [.product(name: "Subprocess", package: "swift-subprocess")],
            path: "Tests/TestSupport",
            swiftSettings: strictConcurrency + explicitImports
        ),
        .testTarget(
            name: "TestSupportTests",
            dependencies: ["TestSupport"],
            swiftSettings: strictConcurrency
        ),
        .testTarget(
            name: "CQLWireIntegrationTests",
            dependencies: [
                "CQLWire", "CQLNode", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Clocks", package: "swift-clocks"),
            ],
            swiftSettings: strictConcurrency
        ),
        .target(
            name: "Scheduler",
            dependencies: [
                "CQLWire",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictConcurrency + explicitImports
        ),
        .testTarget(
            name: "SchedulerTests",
            dependencies: [
                "Scheduler", "CQLWire", "CQLNode", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strictConcurrency
        ),
        .testTarget(
            name: "CQLCodecTests",
            dependencies: ["CQLCodec", "TestSupport"],
            swiftSettings: strictConcurrency
        ),
        .testTarget(
            name: "CQLWireTests",
            dependencies: ["CQLWire", "CQLCodec", "TestSupport"],
            swiftSettings: strictConcurrency
        ),
        .target(
            name: "WorkerServer",
            dependencies: [
                "Scheduler", "CQLWire", "CQLNode",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strictConcurrency + explicitImports
        ),
        .executableTarget(
            name: "worker",
            dependencies: [
                "WorkerServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/WorkerMain",
            swiftSettings: strictConcurrency + explicitImports
        ),
        .testTarget(
            name: "WorkerServerTests",
            dependencies: [
                "WorkerServer", "Scheduler", "CQLWire", "CQLNode", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictConcurrency
        ),
        .target(
            name: "CQLToolOptions",
            dependencies: ["CQLWire", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strictConcurrency + explicitImports
        ),
        .executableTarget(
            name: "cqlprobe",
            dependencies: ["CQLWire", "CQLToolOptions", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/CQLProbeMain",
            swiftSettings: strictConcurrency + explicitImports
        ),
        .executableTarget(
            name: "cqlbench",
            dependencies: [
                "CQLWire", "CQLToolOptions",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Sources/CQLBenchMain",
            swiftSettings: strictConcurrency + explicitImports
        ),
        // The chaos harness's checker, audit-log reader and effect server; its processes, sockets and
        // proxy come from TestSupport, the same code the process tests run.
        .target(
            name: "ChaosKit",
            dependencies: ["TestSupport"],
            swiftSettings: strictConcurrency + explicitImports
        ),
        .executableTarget(
            name: "chaos",
            dependencies: ["ChaosKit", "TestSupport", "CQLWire", "Scheduler", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/ChaosMain",
            swiftSettings: strictConcurrency + explicitImports
        ),
        .testTarget(
            name: "InfraTests",
            dependencies: ["worker", "cqlnode", "cqlprobe", "TestSupport"],
            swiftSettings: strictConcurrency
        ),
        .testTarget(
            name: "ChaosTests",
            dependencies: ["ChaosKit", "CQLNode", "CQLWire", "TestSupport"],
            swiftSettings: strictConcurrency
        ),
        .testTarget(
            name: "ToolsTests",
            dependencies: ["CQLNode", "CQLWire", "cqlprobe", "cqlbench", "TestSupport"],
            swiftSettings: strictConcurrency
        ),
    ],
    swiftLanguageModes: [.v6]
)
