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
            // Lines as the lexer counts them: by LF bytes (a Swift Character joins "\r\n" into one).
            let lines = text.utf8.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
            precondition(line <= lines, "error line \(line) beyond the \(lines) lines of the input")
        }
    }
    return 0
}
