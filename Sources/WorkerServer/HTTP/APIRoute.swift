public import Hummingbird

/// One endpoint of the worker's API: method and path template (`/jobs/{id}`), as the OpenAPI
/// document spells them. The router, the 405 answers and the document's test all read this table.
public struct APIRoute: Hashable, Sendable, CustomStringConvertible {
    /// The HTTP method.
    public let method: HTTPRequest.Method
    /// The path template; `{name}` is a path parameter.
    public let path: String
    /// Whether the endpoint answers without the API token (probes and scrapes).
    public let isPublic: Bool
    /// Whether repeating a request whose answer was lost (a database fault) can never apply it
    /// twice: reads, and changes whose replay is answered as such (a cancelled job, 409 `queued`).
    /// `POST /jobs` is safe only with an idempotency key, which its handler knows.
    public let isRetrySafe: Bool

    /// An endpoint.
    public init(_ method: HTTPRequest.Method, _ path: String, isPublic: Bool = false, isRetrySafe: Bool = true) {
        self.method = method
        self.path = path
        self.isPublic = isPublic
        self.isRetrySafe = isRetrySafe
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
        APIRoute(.post, "/jobs", isRetrySafe: false),
        APIRoute(.get, "/jobs"),
        APIRoute(.get, "/jobs/{id}"),
        APIRoute(.delete, "/jobs/{id}"),
        APIRoute(.patch, "/jobs/{id}"),
        APIRoute(.post, "/jobs/{id}/pause"),
        APIRoute(.post, "/jobs/{id}/resume"),
        APIRoute(.post, "/jobs/{id}/run"),
        APIRoute(.get, "/jobs/{id}/history"),
        APIRoute(.get, "/cluster"),
        APIRoute(.get, "/metrics", isPublic: true),
        APIRoute(.get, "/healthz", isPublic: true),
        APIRoute(.get, "/readyz"),
        APIRoute(.get, "/openapi.yaml"),
    ]

    /// The methods served on a request path (empty when no template matches).
    static func allowedMethods(for requestPath: String) -> [HTTPRequest.Method] {
        all.filter { $0.matches(path: requestPath) }.map(\.method)
    }

    /// Whether repeating a request to this method and path after a database fault is safe
    /// (false for an unknown endpoint, which never reaches the database anyway).
    static func isRetrySafe(method: HTTPRequest.Method, path requestPath: String) -> Bool {
        all.first { $0.method == method && $0.matches(path: requestPath) }?.isRetrySafe ?? false
    }

    /// Whether a request path is served without the API token.
    static func isPublic(path requestPath: String) -> Bool {
        all.contains { $0.isPublic && $0.matches(path: requestPath) }
    }
}
