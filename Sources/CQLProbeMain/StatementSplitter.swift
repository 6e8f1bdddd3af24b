import CQLWire

/// A statement cqlprobe runs: cut from its input by ``CQLScript``.
typealias InputStatement = CQLScript.Statement

extension CQLScript {
    /// cqlsh's shell commands, which the end of their line ends as well as `;`.
    static let shellCommands: Set<String> = [
        "CONSISTENCY", "SERIAL", "TRACING", "EXIT", "QUIT", "DESCRIBE", "DESC", "HELP", "PAGING", "HISTORY",
    ]

    /// A splitter of cqlprobe's input (`-e`, `-f` or the prompt).
    static func shellInput() -> CQLScript { CQLScript(lineCommands: shellCommands) }
}
