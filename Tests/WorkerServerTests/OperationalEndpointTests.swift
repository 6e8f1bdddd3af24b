import Foundation
import Hummingbird
import HummingbirdTesting
import Scheduler
import Testing
import Yams
@testable import WorkerServer

@Suite("Operational endpoints")
struct OperationalEndpointTests {
    @Test("GET /healthz and GET /readyz answer 200 on a reachable node with the schema")
    func probes() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let health = try await client.send(.get, "/healthz")
            #expect(health.status == .ok)
            #expect(health.json["status"]?.stringValue == "ok")
            let ready = try await client.send(.get, "/readyz")
            #expect(ready.status == .ok, "\(ready.text)")
        }
    }

    @Test("GET /readyz answers 503 when the schema is missing")
    func notReady() async throws {
        let fixture = try await APIFixture(readinessKeyspace: "no_such_keyspace")
        try await fixture.test { client in
            let ready = try await client.send(.get, "/readyz")
            #expect(ready.status == .serviceUnavailable, "\(ready.text)")
            #expect(ready.json["error"]?.stringValue?.isEmpty == false)
        }
    }

    @Test("GET /metrics serves the Prometheus text format with scheduler and HTTP metrics")
    func metrics() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            _ = try await client.createJob()
            let response = try await client.send(.get, "/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = response.text
            #expect(text.contains("# TYPE scheduler_jobs_created_total counter"), "\(text)")
            #expect(text.contains("scheduler_jobs_created_total 1"), "\(text)")
            #expect(text.contains(#"scheduler_runs_total{kind="noop",outcome="succeeded"} 0"#), "\(text)")
            #expect(text.contains(#"worker_http_requests_total{method="POST",route="/jobs",status="201"} 1"#), "\(text)")
        }
    }

    @Test("With an API token every endpoint but /healthz and /metrics needs the bearer token")
    func bearerToken() async throws {
        let fixture = try await APIFixture(apiToken: "s3cret")
        try await fixture.test { client in
            expectError(try await client.send(.get, "/jobs"), .unauthorized, field: "authorization")
            expectError(try await client.send(.post, "/jobs", body: "{}"), .unauthorized, field: "authorization")
            expectError(try await client.send(.get, "/readyz"), .unauthorized, field: "authorization")
            expectError(try await client.send(.get, "/jobs", headers: [.authorization: "Bearer wrong"]), .unauthorized, field: "authorization")
            expectError(try await client.send(.get, "/jobs", headers: [.authorization: "Basic czNjcmV0"]), .unauthorized, field: "authorization")
            expectError(try await client.send(.get, "/jobs", headers: [.authorization: "Bearer s3cret2"]), .unauthorized, field: "authorization")
            let allowed = try await client.send(.get, "/jobs?limit=1", headers: [.authorization: "Bearer s3cret"])
            #expect(allowed.status == .ok, "\(allowed.text)")
            #expect(try await client.send(.get, "/healthz").status == .ok)
            #expect(try await client.send(.get, "/metrics").status == .ok)
        }
    }

    @Test("GET /openapi.yaml serves the document")
    func openAPIServed() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let response = try await client.send(.get, "/openapi.yaml")
            #expect(response.status == .ok)
            #expect(response.text == OpenAPIDocument.yaml)
        }
    }
}

@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    static let methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    @Test("The document parses as OpenAPI 3 YAML and documents exactly the served routes")
    func matchesRoutes() throws {
        let parsed = try #require(try Yams.load(yaml: OpenAPIDocument.yaml) as? [String: Any])
        #expect((parsed["openapi"] as? String)?.hasPrefix("3.") == true)
        let paths = try #require(parsed["paths"] as? [String: Any])
        var documented: Set<String> = []
        for (path, item) in paths {
            let operations = try #require(item as? [String: Any], "path \(path) is not a mapping")
            for method in operations.keys where Self.methods.contains(method) {
                documented.insert("\(method.uppercased()) \(path)")
            }
        }
        let served = Set(APIRoute.all.map(\.description))
        #expect(served.subtracting(documented).isEmpty, "served but not documented: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "documented but not served: \(documented.subtracting(served).sorted())")
    }

    @Test("Every $ref in the document resolves")
    func referencesResolve() throws {
        let parsed = try #require(try Yams.load(yaml: OpenAPIDocument.yaml) as? [String: Any])
        var references: [String] = []
        func collect(_ node: Any) {
            if let mapping = node as? [String: Any] {
                for (key, value) in mapping {
                    if key == "$ref", let reference = value as? String { references.append(reference) } else { collect(value) }
                }
            } else if let sequence = node as? [Any] {
                sequence.forEach(collect)
            }
        }
        collect(parsed)
        #expect(!references.isEmpty)
        for reference in references {
            var node: Any? = parsed
            for component in reference.dropFirst(2).split(separator: "/") {
                node = (node as? [String: Any])?[String(component)]
            }
            #expect(node != nil, "unresolved reference \(reference)")
        }
    }

    @Test("Every response link names an operation of the document and one of its parameters")
    func linksResolve() throws {
        let parsed = try #require(try Yams.load(yaml: OpenAPIDocument.yaml) as? [String: Any])
        let paths = try #require(parsed["paths"] as? [String: Any])
        var parameters: [String: Set<String>] = [:]
        var links: [[String: Any]] = []
        for case let (_, item as [String: Any]) in paths {
            let shared = (item["parameters"] as? [Any]) ?? []
            for case let (_, operation as [String: Any]) in item {
                guard let id = operation["operationId"] as? String else { continue }
                let own = (operation["parameters"] as? [Any]) ?? []
                parameters[id] = Set((shared + own).compactMap { parameterName($0, parsed) })
                for case let (_, response as [String: Any]) in (operation["responses"] as? [String: Any]) ?? [:] {
                    for case let (_, link as [String: Any]) in (response["links"] as? [String: Any]) ?? [:] { links.append(link) }
                }
            }
        }
        #expect(links.count >= 4, "POST /jobs links its job_id to get, run, cancel and history")
        for link in links {
            let target = try #require(link["operationId"] as? String)
            let names = try #require(parameters[target], "link to unknown operation \(target)")
            for key in ((link["parameters"] as? [String: Any]) ?? [:]).keys {
                // A name may carry its location (`query.purge`), as OpenAPI allows where names repeat.
                let name = ["path.", "query.", "header."].first(where: key.hasPrefix).map { String(key.dropFirst($0.count)) } ?? key
                #expect(names.contains(name), "link to \(target) sets unknown parameter \(key)")
            }
        }
    }

    private func parameterName(_ node: Any, _ document: [String: Any]) -> String? {
        guard let mapping = node as? [String: Any] else { return nil }
        if let name = mapping["name"] as? String { return name }
        guard let reference = mapping["$ref"] as? String else { return nil }
        var resolved: Any? = document
        for component in reference.dropFirst(2).split(separator: "/") { resolved = (resolved as? [String: Any])?[String(component)] }
        return (resolved as? [String: Any])?["name"] as? String
    }

    @Test("Every job operation documents its 503 database fault with Retry-After and retry_safe")
    func databaseFaults() throws {
        let parsed = try #require(try Yams.load(yaml: OpenAPIDocument.yaml) as? [String: Any])
        let paths = try #require(parsed["paths"] as? [String: Any])
        for route in APIRoute.all where route.path.hasPrefix("/jobs") {
            let operation = (paths[route.path] as? [String: Any])?[route.method.rawValue.lowercased()] as? [String: Any]
            let unavailable = (operation?["responses"] as? [String: Any])?["503"] as? [String: Any]
            #expect(unavailable?["$ref"] as? String == "#/components/responses/Unavailable", "\(route) lacks the 503 answer")
        }
        let components = try #require(parsed["components"] as? [String: Any])
        let response = try #require((components["responses"] as? [String: Any])?["Unavailable"] as? [String: Any])
        #expect((response["headers"] as? [String: Any])?["Retry-After"] != nil)
        let fault = try #require((components["schemas"] as? [String: Any])?["DatabaseFault"] as? [String: Any])
        #expect((fault["required"] as? [String])?.contains("retry_safe") == true)
    }

    @Test("No mapping of the document repeats a key (YAML parsers keep only one of them)")
    func noDuplicateKeys() {
        // Keys seen per open mapping, by indentation; a list item ("- ") opens a new mapping.
        var open: [(indent: Int, keys: Set<String>)] = []
        for (number, line) in OpenAPIDocument.yaml.split(separator: "\n").enumerated() {
            var text = Substring(line)
            var indent = text.prefix { $0 == " " }.count
            text = text.dropFirst(indent)
            guard !text.isEmpty, !text.hasPrefix("#") else { continue }
            var listItem = false
            if text.hasPrefix("- ") {
                listItem = true
                text = text.dropFirst(2)
                indent += 2
            }
            while let last = open.last, last.indent > indent || (listItem && last.indent == indent) { open.removeLast() }
            guard let colon = text.firstIndex(of: ":"), !text.hasPrefix("'"), !text.hasPrefix("\"") || text[..<colon].hasSuffix("\""),
                  text[..<colon].allSatisfy({ !$0.isWhitespace }) else { continue }
            let key = String(text[..<colon])
            if open.last?.indent != indent { open.append((indent, [])) }
            let inserted = open[open.count - 1].keys.insert(key).inserted
            #expect(inserted, "line \(number + 1): key \(key) repeated in its mapping")
        }
    }

    @Test("Public routes are the ones the document exempts from the bearer token")
    func publicRoutes() throws {
        let parsed = try #require(try Yams.load(yaml: OpenAPIDocument.yaml) as? [String: Any])
        let paths = try #require(parsed["paths"] as? [String: Any])
        for route in APIRoute.all {
            let operation = (paths[route.path] as? [String: Any])?[route.method.rawValue.lowercased()] as? [String: Any]
            let exempt = (operation?["security"] as? [Any])?.isEmpty == true
            #expect(exempt == route.isPublic, "\(route): document exempt=\(exempt), served public=\(route.isPublic)")
        }
    }
}
