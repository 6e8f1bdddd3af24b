extension Optional: CQLDecodable where Wrapped: CQLDecodable {
    /// Decodes the wrapped type.
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        self = .some(try Wrapped(cqlBytes: cqlBytes, range: range, type: type))
    }

    /// Null is `nil`.
    public static func cqlNull() throws(WireError) -> Self { nil }
}

extension Optional: CQLEncodable where Wrapped: CQLEncodable {
    /// Writes the wrapped value; `nil` has no content and is refused here (bind it as a whole value).
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        guard let wrapped = self else { throw .invalidValue(what: type.description, detail: "nil has no content bytes") }
        try wrapped.encodeCQL(into: &writer, as: type)
    }

    /// The wrapped type's default.
    public static var defaultCQLType: DataType { Wrapped.defaultCQLType }

    /// The wrapped value's type, or the wrapped type's default for `nil`.
    public var inferredCQLType: DataType { self?.inferredCQLType ?? Wrapped.defaultCQLType }

    /// `nil` is `.null`.
    public func cqlWireValue(as type: DataType) throws(WireError) -> WireValue {
        guard let wrapped = self else { return .null }
        return try wrapped.cqlWireValue(as: type)
    }
}
