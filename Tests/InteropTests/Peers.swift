import Foundation
import TestSupport

/// The real peers the interop tests run (the DataStax Python driver, cqlsh), and whether they are installed.
enum Peers {
    /// The directory holding the Python scripts.
    static let scriptsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("python")

    /// Whether `python3 -c "import cassandra"` succeeds (scripts/test.sh installs the driver from PyPI).
    static func pythonDriverAvailable() async -> Bool { await driverCheck.value }

    private static let driverCheck = Task {
        guard Repository.onPath("python3") != nil else { return false }
        return (try? await Command.run("python3", ["-c", "import cassandra"], timeout: .seconds(60)))?.status == 0
    }

    /// Whether cqlsh is on `PATH`.
    static var cqlshAvailable: Bool { Repository.onPath("cqlsh") != nil }
}
