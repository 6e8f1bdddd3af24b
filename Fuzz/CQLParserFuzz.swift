// libFuzzer entry: the embedded node's CQL lexer and parser on arbitrary text.
// Built by scripts/fuzz.sh with the parser's sources and the codec as a separate module.
//
// Oracle: nothing traps; a syntax error's position lies inside the text it reports on.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCQLParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        _ = try CQLParser.parse(text)
    } catch {
        if let line = error.line, line > 0 {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
            precondition(line <= lines, "error line \(line) beyond the \(lines) lines of the input")
        }
    }
    return 0
}
