import Hummingbird

/// One endpoint of the worker's API: method and path template (`/jobs/{id}`), as the OpenAPI
/// document spells them. The router, the 405 answers and the document's test all read this table.
public struct APIRoute: Hashable, Sendable, CustomStringConvertible {
    /// The HTTP method.
    public let method: HTTPRequest.Method
    /// The path template; `{name}` is a path parameter.
    public let path: String
    /// Whether the endpoint answers without the API token (probes and scrapes).
    public let isPublic: Bool

    /// An endpoint.
    public init(_ method: HTTPRequest.Method, _ path: String, isPublic: Bool = false) {
        self.method = method
        self.path = path
        self.isPublic = isPublic
    }

    /// `GET /jobs/{id}`.
    public var description: String { "\(method.rawValue) \(path)" }

    /// The template with Hummingbird's parameter syntax (`/jobs/:id`).
    var routerPath: RouterPath {
        RouterPath(Self.segments(of: path).map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : segment
        }.joined(separator: "/"))
    }

    /// Whether a request path has this template's shape.
    func matches(path requestPath: String) -> Bool {
        let template = Self.segments(of: path)
        let actual = Self.segments(of: requestPath)
        guard template.count == actual.count else { return false }
        return zip(template, actual).allSatisfy { pattern, segment in
            (pattern.hasPrefix("{") && pattern.hasSuffix("}")) || pattern == segment
        }
    }

    private static func segments(of path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }
}

extension APIRoute {
    /// Every endpoint the worker serves.
    public static let all: [APIRoute] = [
        APIRoute(.post, "/jobs"),
        APIRoute(.get, "/jobs"),
        APIRoute(.get, "/jobs/{id}"),
        APIRoute(.delete, "/jobs/{id}"),
        APIRoute(.post, "/jobs/{id}/run"),
        APIRoute(.get, "/jobs/{id}/history"),
        APIRoute(.get, "/metrics", isPublic: true),
        APIRoute(.get, "/healthz", isPublic: true),
        APIRoute(.get, "/readyz"),
        APIRoute(.get, "/openapi.yaml"),
    ]

    /// The methods served on a request path (empty when no template matches).
    static func allowedMethods(for requestPath: String) -> [HTTPRequest.Method] {
        all.filter { $0.matches(path: requestPath) }.map(\.method)
    }

    /// Whether a request path is served without the API token.
    static func isPublic(path requestPath: String) -> Bool {
        all.contains { $0.isPublic && $0.matches(path: requestPath) }
    }
}
