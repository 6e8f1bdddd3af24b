import Foundation

/// The payload each built-in kind reads, checked when a job is created or changed, so a payload its
/// handler would refuse is a 400 naming the field (`payload.command: is required`) instead of a run
/// that fails every attempt. Kinds not listed here (and `noop`, `echo`) take any JSON value.
/// Members a kind does not read are allowed: `http` posts the whole payload when it has no `body`.
public enum PayloadSchema {
    /// One payload member: its name, whether it is required, and what it must be.
    public struct Field: Sendable, Hashable {
        /// The member's name.
        public let name: String
        /// Whether a payload must carry it.
        public let required: Bool
        /// What it must be, as the README and error messages say it.
        public let summary: String
        let check: Check
    }

    enum Check: Sendable, Hashable {
        case number(ClosedRange<Double>, openLow: Bool)
        case nonEmptyString
        case httpURL
        case stringArray
        case boolean
        case anyValue
    }

    /// The fields of each kind that has a schema.
    public static let fields: [String: [Field]] = [
        "sleep": [
            Field(name: "seconds", required: true, summary: "number of seconds, 0 to 604800", check: .number(0...604_800, openLow: false)),
        ],
        "http": [
            Field(name: "url", required: true, summary: "http or https URL the run POSTs to", check: .httpURL),
            Field(name: "timeout_seconds", required: false, summary: "number above 0, at most 604800; the run's deadline when absent",
                  check: .number(0...604_800, openLow: true)),
            Field(name: "body", required: false, summary: "any JSON value (a string is sent as is); the whole payload when absent",
                  check: .anyValue),
        ],
        "shell": [
            Field(name: "command", required: true, summary: "non-empty string: a program (path or name in PATH), or a shell line with shell", check: .nonEmptyString),
            Field(name: "args", required: false, summary: "array of strings passed as arguments", check: .stringArray),
            Field(name: "shell", required: false, summary: "boolean; true runs command with /bin/sh -c", check: .boolean),
        ],
    ]

    /// Checks the payload text of a job of `kind`.
    public static func check(kind: String, payload: String) throws(JobValidationError) {
        guard let fields = fields[kind] else { return }
        let value: JSONValue
        do {
            value = try JSONValue.parse(payload)
        } catch {
            throw JobValidationError(field: "payload", problem: "is not valid JSON: \(error)")
        }
        guard case .object(let members) = value else {
            throw JobValidationError(field: "payload", problem: "must be a JSON object for kind \(kind), got \(value.typeName)")
        }
        for field in fields {
            let name = "payload.\(field.name)"
            guard let member = members[field.name] else {
                if field.required { throw JobValidationError(field: name, problem: "is required for kind \(kind): \(field.summary)") }
                continue
            }
            guard field.check.accepts(member) else {
                throw JobValidationError(field: name, problem: "must be: \(field.summary); got \(member.shortDescription)")
            }
        }
    }
}

extension PayloadSchema.Check {
    func accepts(_ value: JSONValue) -> Bool {
        switch self {
        case let .number(range, openLow):
            guard let number = value.doubleValue, number.isFinite, range.contains(number) else { return false }
            return !openLow || number > range.lowerBound
        case .nonEmptyString:
            guard let text = value.stringValue else { return false }
            return !text.isEmpty && !text.unicodeScalars.contains("\u{0}")
        case .httpURL:
            guard let text = value.stringValue, let url = URL(string: text), let scheme = url.scheme?.lowercased() else { return false }
            return (scheme == "http" || scheme == "https") && url.host.map { !$0.isEmpty } == true
        case .stringArray:
            guard case .array(let elements) = value else { return false }
            return elements.allSatisfy { $0.stringValue.map { !$0.unicodeScalars.contains("\u{0}") } ?? false }
        case .boolean:
            return value.boolValue != nil
        case .anyValue:
            return true
        }
    }
}

extension JSONValue {
    /// The value for an error message: its type, and the value itself when short.
    var shortDescription: String {
        switch self {
        case .null:
            return "null"
        case .string, .number, .bool:
            let text = jsonText
            return text.count <= 40 ? "\(typeName) \(text)" : typeName
        case .array, .object:
            return typeName
        }
    }
}
