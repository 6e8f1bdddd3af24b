import Foundation
import TestSupport
import Testing
@testable import WorkerServer

/// The served OpenAPI document checked by tools nobody here wrote: ruamel.yaml in strict mode (which
/// refuses repeated keys, as js-yaml and Go's yaml.v3 do) and openapi-spec-validator, both from PyPI
/// (scripts/test.sh installs them).
@Suite("OpenAPI document, external validators")
struct OpenAPIValidatorTests {
    static let script = """
        import sys
        from ruamel.yaml import YAML
        from openapi_spec_validator import validate
        yaml = YAML(typ="safe", pure=True)
        yaml.allow_duplicate_keys = False
        with open(sys.argv[1]) as handle:
            document = yaml.load(handle)
        validate(document)
        print("valid", len(document["paths"]))
        """

    /// Runs the validators on `yaml`: their exit status and output.
    static func validate(_ yaml: String) async throws -> (status: Int32, output: String) {
        let directory = try ScratchDirectory(prefix: "openapi")
        let document = directory.path("openapi.yaml")
        try yaml.write(toFile: document, atomically: true, encoding: .utf8)
        let outcome = try await Command.run("python3", ["-c", script, document], combineOutput: true)
        return (outcome.status, outcome.output)
    }

    @Test("ruamel.yaml (strict) loads it and openapi-spec-validator accepts it")
    func validates() async throws {
        let result = try await Self.validate(OpenAPIDocument.yaml)
        #expect(result.status == 0,
                "the validators refused the document (pip install ruamel.yaml openapi-spec-validator if a module is missing):\n\(result.output)")
        #expect(result.output.hasPrefix("valid"), "\(result.output)")
    }

    @Test("a repeated key is refused by the strict parser, so the check above can fail")
    func strictParserRefusesDuplicates() async throws {
        let duplicated = OpenAPIDocument.yaml.replacingOccurrences(of: "          nullable: true\n", with: "          nullable: true\n          nullable: true\n")
        #expect(duplicated != OpenAPIDocument.yaml)
        let result = try await Self.validate(duplicated)
        #expect(result.status != 0)
        #expect(result.output.contains("DuplicateKey") || result.output.contains("duplicate"), "\(result.output)")
    }
}
