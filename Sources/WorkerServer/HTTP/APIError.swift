public import Hummingbird
public import Scheduler

/// An HTTP error answered as `{"error": "...", "field": "..."}` plus any extra members
/// (e.g. `status` on a 409), so clients can tell what was wrong without parsing prose.
public struct APIError: Error, HTTPResponseError, Sendable, CustomStringConvertible {
    /// The HTTP status.
    public let status: HTTPResponse.Status
    /// What is wrong, readable in a log line.
    public let message: String
    /// The request part at fault: a JSON field, a query parameter, `id`, `body`, `path`, `method`, `authorization`.
    public let field: String?
    /// Further members of the body.
    public let extra: [String: JSONValue]
    /// Extra response headers (`Allow` on 405, `WWW-Authenticate` on 401).
    public let headers: HTTPFields

    /// Creates an error.
    public init(_ status: HTTPResponse.Status, _ message: String, field: String? = nil,
                extra: [String: JSONValue] = [:], headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.field = field
        self.extra = extra
        self.headers = headers
    }

    /// A 400 for a validation failure of a request field.
    public init(_ validation: JobValidationError) {
        self.init(.badRequest, validation.description, field: validation.field)
    }

    /// `status: message`.
    public var description: String { "\(status.code) \(message)" }

    /// The JSON body.
    public var body: JSONValue {
        var members = extra
        members["error"] = .string(message)
        if let field { members["field"] = .string(field) }
        return .object(members)
    }

    /// The response: the JSON body with its content type and the extra headers.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONResponse.make(status: status, body: body)
        for field in headers { response.headers.append(field) }
        return response
    }
}

/// JSON answers, written by ``APIEncoding``.
enum JSONResponse {
    /// A response carrying `body` as `application/json` (one line).
    static func make(status: HTTPResponse.Status, body: some Encodable, headers: HTTPFields = [:]) -> Response {
        var status = status
        var buffer = ByteBuffer()
        do {
            buffer.writeBytes(try APIEncoding.data(body))
        } catch {
            // Only a non-finite Double fails to encode and no answer holds one; a 500 rather than a trap.
            status = .internalServerError
            buffer.writeString(#"{"error":"the answer could not be encoded"}"#)
        }
        buffer.writeString("\n")
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: buffer))
    }
}
