import Foundation
import Scheduler

/// A submitted `application/x-www-form-urlencoded` body: names to values (the last of a repeated name wins).
struct ConsoleForm: Sendable {
    /// Why a form body is unreadable.
    struct Malformed: Error {}

    private(set) var values: [String: String] = [:]

    init(_ values: [String: String] = [:]) {
        self.values = values
    }

    /// Parses the body; throws ``Malformed`` on a broken percent-escape or a body that is not UTF-8.
    init(body: [UInt8]) throws {
        guard let text = String(validating: body, as: UTF8.self) else { throw Malformed() }
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]) else { throw Malformed() }
            guard let value = parts.count > 1 ? Self.decode(parts[1]) : "" else { throw Malformed() }
            values[name] = value
        }
    }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    subscript(name: String) -> String? {
        get { values[name] }
        set { values[name] = newValue }
    }

    /// The value, or nil when absent or only blanks.
    func nonBlank(_ name: String) -> String? {
        guard let value = values[name], !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        return value
    }
}

/// The job form's fields as the API's JSON request, so the API's own validation checks them and
/// names the field at fault. Blank fields are left out (the API's defaults apply or it says the
/// field is required); number fields are passed as numbers so the API's range and type messages apply.
enum JobFormJSON {
    /// The fields of the create form, in the order they are shown.
    static let createFields = ["kind", "schedule", "timezone", "payload", "max_duration_seconds", "max_attempts",
                               "backoff.initial_seconds", "backoff.max_seconds", "backoff.multiplier", "idempotency_key", "run"]

    /// The JSON object of a create or edit form's fields among `fields`.
    static func object(_ form: ConsoleForm, fields: [String]) throws(JobValidationError) -> JSONValue {
        var members: [String: JSONValue] = [:]
        var backoff: [String: JSONValue] = [:]
        for field in fields {
            switch field {
            case _ where field.hasPrefix("backoff."):
                // The three fields make one `backoff` object; left blank, the API's default applies.
                guard let text = form.nonBlank(field) else { continue }
                backoff[String(field.dropFirst("backoff.".count))] = .number(text.trimmingCharacters(in: .whitespaces))
            case "run":
                if form["run"] != nil { members["run"] = .bool(true) }
            case "payload":
                guard let text = form.nonBlank("payload") else { continue }
                do {
                    members["payload"] = try JSONValue.parse(text)
                } catch {
                    throw JobValidationError(field: "payload", problem: "must be JSON (an object such as {\"seconds\": 1}): \(error)")
                }
            case "max_duration_seconds", "max_attempts":
                guard let text = form.nonBlank(field) else { continue }
                members[field] = .number(text.trimmingCharacters(in: .whitespaces))
            default:
                guard let text = form.nonBlank(field) else { continue }
                members[field] = .string(field == "idempotency_key" ? text : text.trimmingCharacters(in: .whitespaces))
            }
        }
        if !backoff.isEmpty { members["backoff"] = .object(backoff) }
        return .object(members)
    }
}
