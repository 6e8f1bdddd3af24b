import Foundation

/// A fragment of HTML. Written as a string literal with interpolations, every interpolated `String`
/// is escaped and only other ``HTML`` values are inserted as they are, so a value from a job (an id,
/// a payload, an output) can never become markup: there is no interpolation that takes text raw.
struct HTML: Sendable, Hashable, ExpressibleByStringInterpolation {
    /// The markup.
    private(set) var rendered: String

    /// Markup written in the source.
    init(stringLiteral value: String) {
        rendered = value
    }

    /// Literal markup with escaped interpolations.
    init(stringInterpolation: Interpolation) {
        rendered = stringInterpolation.rendered
    }

    /// Text shown as text.
    init(text: String) {
        rendered = Self.escape(text)
    }

    /// The empty fragment.
    static let empty: HTML = ""

    /// The fragments one after the other.
    static func joined(_ parts: some Sequence<HTML>) -> HTML {
        var html = HTML.empty
        for part in parts { html.rendered += part.rendered }
        return html
    }

    /// Escapes the five characters that are markup in text and in quoted attribute values.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// The interpolations an ``HTML`` literal accepts.
    struct Interpolation: StringInterpolationProtocol {
        var rendered = ""

        init(literalCapacity: Int, interpolationCount: Int) {
            rendered.reserveCapacity(literalCapacity + interpolationCount * 16)
        }

        mutating func appendLiteral(_ literal: String) { rendered += literal }
        mutating func appendInterpolation(_ text: String) { rendered += HTML.escape(text) }
        mutating func appendInterpolation(_ text: String?) { rendered += HTML.escape(text ?? "") }
        mutating func appendInterpolation(_ html: HTML) { rendered += html.rendered }
        mutating func appendInterpolation(_ parts: [HTML]) { for part in parts { rendered += part.rendered } }
        mutating func appendInterpolation(_ number: Int) { rendered += String(number) }
        mutating func appendInterpolation(_ number: Int64) { rendered += String(number) }
    }
}

/// Building blocks of URLs in pages: query values percent-encoded (the `HTML` literal then escapes the `&`).
enum ConsoleURL {
    private static let queryValueAllowed: CharacterSet = {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+?#/")
        return allowed
    }()

    /// `path?name=value&...` with empty values left out.
    static func make(_ path: String, _ query: [(String, String?)]) -> String {
        let parts = query.compactMap { name, value -> String? in
            guard let value, !value.isEmpty else { return nil }
            return name + "=" + (value.addingPercentEncoding(withAllowedCharacters: queryValueAllowed) ?? "")
        }
        return parts.isEmpty ? path : path + "?" + parts.joined(separator: "&")
    }

    /// The page of job `id`.
    static func job(_ id: UUID) -> String { "/ui/jobs/" + id.uuidString.lowercased() }
}
