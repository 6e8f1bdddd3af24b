/// Splits CQL text into tokens the way Cassandra's ANTLR lexer does (case-insensitive
/// keywords, `''` and `$$` strings, negative numbers as one token, durations, UUIDs, blobs).
///
/// It works on the UTF-8 bytes in one forward pass, so huge statements lex in linear time.
struct Lexer {
    /// A lexical error, reported once the parser's lookahead reaches it (as ANTLR does).
    struct Failure: Sendable {
        /// The message without its `line L:C` header.
        var reason: String
        /// Byte offset the error is reported at.
        var offset: Int
        /// The stream index of the first token lexed after the error.
        var streamIndex: Int
    }

    /// The lexed statement.
    struct Output: Sendable {
        /// The tokens the parser sees (no whitespace or comments), ending with `.eof`.
        var tokens: [Token]
        /// The byte offset of every token of ANTLR's stream, hidden ones included.
        var streamStarts: [Int]
        /// The first lexical error, if any.
        var failure: Failure?
    }

    private let bytes: [UInt8]
    private var position = 0
    private var tokens: [Token] = []
    private var streamStarts: [Int] = []
    private var failure: Failure?

    private init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Lexes `source` completely.
    static func tokenize(_ source: [UInt8]) -> Output {
        var lexer = Lexer(source)
        lexer.run()
        return Output(tokens: lexer.tokens, streamStarts: lexer.streamStarts, failure: lexer.failure)
    }

    private func byte(at offset: Int) -> UInt8? {
        offset < bytes.count ? bytes[offset] : nil
    }

    private mutating func run() {
        while position < bytes.count {
            let start = position
            let current = bytes[position]
            switch current {
            case 0x20, 0x09, 0x0A, 0x0D:
                while let next = byte(at: position), next == 0x20 || next == 0x09 || next == 0x0A || next == 0x0D {
                    position += 1
                }
                streamStarts.append(start)
            case 0x2D where byte(at: position + 1) == 0x2D, 0x2F where byte(at: position + 1) == 0x2F:
                while let next = byte(at: position), next != 0x0A, next != 0x0D { position += 1 }
                if position < bytes.count { position += 1 }
                streamStarts.append(start)
            case 0x2F where byte(at: position + 1) == 0x2A:
                position += 2
                var closed = false
                while position < bytes.count {
                    if bytes[position] == 0x2A && byte(at: position + 1) == 0x2F {
                        position += 2
                        closed = true
                        break
                    }
                    position += 1
                }
                if closed {
                    streamStarts.append(start)
                } else {
                    fail("mismatched character '<EOF>' expecting '*'", at: bytes.count)
                }
            case 0x27:
                lexQuoted(quote: 0x27, kind: .string)
            case 0x22:
                lexQuoted(quote: 0x22, kind: .quotedName)
            case 0x24 where byte(at: position + 1) == 0x24:
                lexDollarString()
            case 0x30...0x39:
                lexNumberLike(negative: false)
            case 0x2D:
                lexMinus()
            case _ where isLetter(current):
                lexWordLike()
            default:
                if !lexSymbol() {
                    fail("no viable alternative at character '\(displayCharacter(at: position))'", at: position)
                    position += scalarLength(at: position)
                }
            }
        }
        streamStarts.append(bytes.count)
        tokens.append(Token(kind: .eof, value: "<EOF>", start: bytes.count, end: bytes.count, streamIndex: streamStarts.count - 1))
    }

    private mutating func fail(_ reason: String, at offset: Int) {
        if failure == nil {
            failure = Failure(reason: reason, offset: offset, streamIndex: streamStarts.count)
        }
    }

    private mutating func emit(_ kind: Token.Kind, value: String, from start: Int) {
        tokens.append(Token(kind: kind, value: value, start: start, end: position, streamIndex: streamStarts.count))
        streamStarts.append(start)
    }

    private func text(_ start: Int, _ end: Int) -> String {
        String(decoding: bytes[start..<end], as: UTF8.self)
    }

    // MARK: quoted text

    private mutating func lexQuoted(quote: UInt8, kind: Token.Kind) {
        let start = position
        position += 1
        var content: [UInt8] = []
        while true {
            guard let next = byte(at: position) else {
                let expected = quote == 0x27 ? "'''" : "'\"'"
                fail("mismatched character '<EOF>' expecting \(expected)", at: bytes.count)
                return
            }
            position += 1
            if next == quote {
                if byte(at: position) == quote {
                    content.append(quote)
                    position += 1
                } else {
                    break
                }
            } else {
                content.append(next)
            }
        }
        emit(kind, value: String(decoding: content, as: UTF8.self), from: start)
    }

    private mutating func lexDollarString() {
        let start = position
        position += 2
        let contentStart = position
        while position + 1 < bytes.count {
            if bytes[position] == 0x24 && bytes[position + 1] == 0x24 {
                let value = text(contentStart, position)
                position += 2
                emit(.string, value: value, from: start)
                return
            }
            position += 1
        }
        position = bytes.count
        fail("mismatched character '<EOF>' expecting '$'", at: bytes.count)
    }

    // MARK: numbers, durations, uuids, words

    private func isLetter(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    private func isDigit(_ byte: UInt8?) -> Bool {
        guard let byte else { return false }
        return byte >= 0x30 && byte <= 0x39
    }

    private func isHex(_ byte: UInt8?) -> Bool {
        guard let byte else { return false }
        return isDigit(byte) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
    }

    private func isWordByte(_ byte: UInt8?) -> Bool {
        guard let byte else { return false }
        return isLetter(byte) || isDigit(byte) || byte == 0x5F
    }

    /// The length of an 8-4-4-4-12 UUID starting at `offset`, or nil.
    private func uuidLength(at offset: Int) -> Int? {
        var index = offset
        for (groupIndex, group) in [8, 4, 4, 4, 12].enumerated() {
            if groupIndex > 0 {
                guard byte(at: index) == 0x2D else { return nil }
                index += 1
            }
            for _ in 0..<group {
                guard isHex(byte(at: index)) else { return nil }
                index += 1
            }
        }
        return index - offset
    }

    /// The end of `DIGIT+` from `offset`, or nil when no digit is there.
    private func digitsEnd(from offset: Int) -> Int? {
        var index = offset
        while isDigit(byte(at: index)) { index += 1 }
        return index > offset ? index : nil
    }

    /// The end of a duration unit (case-insensitive `y mo w d h m s ms us µs ns`) at `offset`.
    private func durationUnitEnd(at offset: Int) -> Int? {
        guard let first = byte(at: offset) else { return nil }
        let lower = first | 0x20
        let second = byte(at: offset + 1).map { $0 | 0x20 }
        if first == 0xC2, byte(at: offset + 1) == 0xB5, let third = byte(at: offset + 2), third | 0x20 == 0x73 {
            return offset + 3
        }
        guard isLetter(first) else { return nil }
        switch (lower, second) {
        case (0x6D, 0x6F), (0x6D, 0x73), (0x75, 0x73), (0x6E, 0x73): return offset + 2
        case (0x79, _), (0x77, _), (0x64, _), (0x68, _), (0x6D, _), (0x73, _): return offset + 1
        default: return nil
        }
    }

    /// The end of `(DIGIT+ UNIT)+` starting at `offset`, or nil.
    private func unitDurationEnd(from offset: Int) -> Int? {
        var index = offset
        var matched = false
        while let digits = digitsEnd(from: index), let unit = durationUnitEnd(at: digits) {
            index = unit
            matched = true
        }
        return matched ? index : nil
    }

    /// The end of an ISO 8601 duration (`P…`, uppercase designators) starting at `offset`, or nil.
    private func isoDurationEnd(from offset: Int) -> Int? {
        guard byte(at: offset) == 0x50 else { return nil }
        let body = offset + 1
        if let alternative = isoAlternativeEnd(from: body) { return alternative }
        if let time = isoTimeEnd(from: body) { return time }
        var index = body
        var designators: [UInt8] = []
        while let digits = digitsEnd(from: index), let designator = byte(at: digits),
              designator == 0x59 || designator == 0x4D || designator == 0x44 || designator == 0x57 {
            designators.append(designator)
            index = digits + 1
        }
        guard !designators.isEmpty else { return nil }
        let valid: Bool
        switch designators {
        case [0x57]: return index
        case [0x59], [0x59, 0x4D], [0x59, 0x44], [0x59, 0x4D, 0x44], [0x4D], [0x4D, 0x44], [0x44]: valid = true
        default: valid = false
        }
        guard valid else { return nil }
        return isoTimeEnd(from: index) ?? index
    }

    private func isoTimeEnd(from offset: Int) -> Int? {
        guard byte(at: offset) == 0x54 else { return nil }
        var index = offset + 1
        var designators: [UInt8] = []
        while let digits = digitsEnd(from: index), let designator = byte(at: digits),
              designator == 0x48 || designator == 0x4D || designator == 0x53 {
            designators.append(designator)
            index = digits + 1
        }
        switch designators {
        case [0x48], [0x48, 0x4D], [0x48, 0x53], [0x48, 0x4D, 0x53], [0x4D], [0x4D, 0x53], [0x53]: return index
        default: return nil
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS` after the `P`.
    private func isoAlternativeEnd(from offset: Int) -> Int? {
        let pattern: [UInt8?] = [nil, nil, nil, nil, 0x2D, nil, nil, 0x2D, nil, nil, 0x54, nil, nil, 0x3A, nil, nil, 0x3A, nil, nil]
        for (index, expected) in pattern.enumerated() {
            let actual = byte(at: offset + index)
            if let expected {
                guard actual == expected else { return nil }
            } else {
                guard isDigit(actual) else { return nil }
            }
        }
        return offset + pattern.count
    }

    private mutating func lexNumberLike(negative: Bool) {
        let start = negative ? position - 1 : position
        if !negative, let length = uuidLength(at: position) {
            position += length
            emit(.uuid, value: text(start, position), from: start)
            return
        }
        if !negative, bytes[position] == 0x30, let x = byte(at: position + 1), x | 0x20 == 0x78 {
            position += 2
            let digitsStart = position
            while isHex(byte(at: position)) { position += 1 }
            emit(.hex, value: text(digitsStart, position), from: start)
            return
        }
        if let durationEnd = unitDurationEnd(from: position) {
            // A unit duration wins over the bare integer, but not over a longer float ("1e5").
            let floatEnd = floatEnd(from: position)
            if floatEnd.map({ durationEnd >= $0.end }) ?? true {
                position = durationEnd
                emit(.duration, value: text(start, position), from: start)
                return
            }
        }
        let number = floatEnd(from: position) ?? (end: digitsEnd(from: position) ?? position, isFloat: false)
        position = number.end
        emit(number.isFloat ? .float : .integer, value: text(start, position), from: start)
    }

    /// The end of `DIGIT+ ('.' DIGIT*)? EXPONENT?` and whether it is a float, or nil when
    /// it is a plain integer (an integer followed by `..` stays an integer).
    private func floatEnd(from offset: Int) -> (end: Int, isFloat: Bool)? {
        guard var index = digitsEnd(from: offset) else { return nil }
        var isFloat = false
        if byte(at: index) == 0x2E && byte(at: index + 1) != 0x2E {
            index += 1
            while isDigit(byte(at: index)) { index += 1 }
            isFloat = true
        }
        if let e = byte(at: index), e | 0x20 == 0x65 {
            var exponent = index + 1
            if byte(at: exponent) == 0x2B || byte(at: exponent) == 0x2D { exponent += 1 }
            if let digits = digitsEnd(from: exponent) {
                index = digits
                isFloat = true
            }
        }
        return isFloat ? (index, true) : nil
    }

    private mutating func lexMinus() {
        let next = byte(at: position + 1)
        if isDigit(next) {
            position += 1
            lexNumberLike(negative: true)
            return
        }
        let start = position
        if let end = isoDurationEnd(from: position + 1), !isWordByte(byte(at: end)) {
            position = end
            emit(.duration, value: text(start, position), from: start)
            return
        }
        var wordEnd = position + 1
        while isWordByte(byte(at: wordEnd)) { wordEnd += 1 }
        let word = text(position + 1, wordEnd).lowercased()
        if word == "nan" || word == "infinity" {
            position = wordEnd
            emit(.float, value: text(start, position), from: start)
            return
        }
        _ = lexSymbol()
    }

    private mutating func lexWordLike() {
        let start = position
        var wordEnd = position
        while isWordByte(byte(at: wordEnd)) { wordEnd += 1 }
        if let length = uuidLength(at: position), start + length > wordEnd || byte(at: wordEnd) == 0x2D {
            position += length
            emit(.uuid, value: text(start, position), from: start)
            return
        }
        if let end = isoDurationEnd(from: position), end >= wordEnd {
            position = end
            emit(.duration, value: text(start, position), from: start)
            return
        }
        position = wordEnd
        let lowered = text(start, wordEnd).lowercased()
        switch lowered {
        case "true", "false": emit(.boolean, value: lowered, from: start)
        case "nan", "infinity": emit(.float, value: text(start, wordEnd), from: start)
        default: emit(.word, value: lowered, from: start)
        }
    }

    private mutating func lexSymbol() -> Bool {
        let start = position
        let first = bytes[position]
        let second = byte(at: position + 1)
        let symbol: Symbol
        var length = 1
        switch first {
        case 0x3B: symbol = .semicolon
        case 0x28: symbol = .leftParen
        case 0x29: symbol = .rightParen
        case 0x2C: symbol = .comma
        case 0x2E:
            if second == 0x2E { symbol = .range; length = 2 } else { symbol = .dot }
        case 0x3A: symbol = .colon
        case 0x5B: symbol = .leftBracket
        case 0x5D: symbol = .rightBracket
        case 0x7B: symbol = .leftBrace
        case 0x7D: symbol = .rightBrace
        case 0x3D: symbol = .equal
        case 0x3C:
            if second == 0x3D { symbol = .lessOrEqual; length = 2 } else { symbol = .less }
        case 0x3E:
            if second == 0x3D { symbol = .greaterOrEqual; length = 2 } else { symbol = .greater }
        case 0x21:
            guard second == 0x3D else { return false }
            symbol = .notEqual
            length = 2
        case 0x2B:
            if second == 0x3D { symbol = .plusEqual; length = 2 } else { symbol = .plus }
        case 0x2D:
            if second == 0x3D { symbol = .minusEqual; length = 2 } else { symbol = .minus }
        case 0x2A: symbol = .star
        case 0x2F: symbol = .slash
        case 0x25: symbol = .percent
        case 0x3F: symbol = .question
        default: return false
        }
        position += length
        emit(.symbol(symbol), value: symbol.rawValue, from: start)
        return true
    }

    // MARK: error display

    private func scalarLength(at offset: Int) -> Int {
        let lead = bytes[offset]
        let length: Int
        switch lead {
        case 0xF0...0xF7: length = 4
        case 0xE0...0xEF: length = 3
        case 0xC0...0xDF: length = 2
        default: length = 1
        }
        return min(length, bytes.count - offset)
    }

    private func displayCharacter(at offset: Int) -> String {
        let character = text(offset, offset + scalarLength(at: offset))
        switch character {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        default: return character
        }
    }
}
