/// A harness failure with a message.
public struct ChaosError: Error, CustomStringConvertible {
    /// The message.
    public let description: String
    /// A failure saying `description`.
    public init(_ description: String) { self.description = description }
}
