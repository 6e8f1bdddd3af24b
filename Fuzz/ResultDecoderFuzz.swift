// libFuzzer entry: a RESULT body (no frame header) through the result decoder, the row view,
// dynamic values and `Decodable` rows. Built by scripts/fuzz.sh into one module with the codec.

private struct AnyRow: Decodable {
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        for key in container.allKeys {
            _ = try? container.decodeIfPresent(String.self, forKey: key)
            _ = try? container.decodeIfPresent(Int64.self, forKey: key)
            _ = try? container.decodeIfPresent([String: Int32].self, forKey: key)
        }
    }
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { self.stringValue = String(intValue); self.intValue = intValue }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzResultDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var reader = ByteReader(Array(UnsafeBufferPointer(start: data, count: size)))
    guard let result = try? ResultMessage(from: &reader) else { return 0 }
    if case let .rows(rows) = result {
        for row in rows {
            _ = try? row.values()
            for cell in row.cells { _ = cell.range }
        }
        _ = try? rows.decode(AnyRow.self)
    }
    var writer = ByteWriter()
    result.encode(into: &writer)
    return 0
}
