public import Foundation

/// A fresh directory under the temporary directory, removed with everything in it when the last
/// reference goes away.
public final class ScratchDirectory: Sendable {
    /// Where it is.
    public let url: URL
    /// Where it is, as a path.
    public var path: String { url.path }

    /// Makes a directory named `prefix-<uuid>`.
    public init(prefix: String = "scratch") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the directory.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}
