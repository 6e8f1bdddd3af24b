import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import WorkerServer

@Suite("Hostile bodies")
struct HostileBodyTests {
    /// A small deterministic generator so a failing case can be replayed from its seed.
    struct SeededBytes {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var mixed = state
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            return mixed ^ (mixed >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(1, bound))) }
    }

    static let valid = Array(#"{"schedule":"*/5 * * * *","timezone":"Europe/Berlin","payload":{"a":[1,2,{"b":null}]},"max_duration_seconds":60,"kind":"echo","max_attempts":2,"idempotency_key":"k","run":false}"#.utf8)
    static let interesting: [UInt8] = Array(#"{}[]",:0-9e.\ "#.utf8) + [0x00, 0x7F, 0xC3, 0xFF, 0xE2, 0x80]

    @Test("Mutated job bodies are answered with 2xx or 4xx JSON, never a 5xx", arguments: [UInt64(1), 2, 3, 4])
    func mutatedBodies(seed: UInt64) async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            var random = SeededBytes(state: seed)
            for round in 0..<40 {
                var body = Self.valid
                for _ in 0...random.below(4) {
                    let position = random.below(body.count)
                    switch random.below(4) {
                    case 0: body[position] = Self.interesting[random.below(Self.interesting.count)]
                    case 1: body.remove(at: position)
                    case 2: body.insert(Self.interesting[random.below(Self.interesting.count)], at: position)
                    default: body = Array(body.prefix(position))
                    }
                    if body.isEmpty { break }
                }
                let response = try await client.execute(uri: "/jobs", method: .post, body: ByteBuffer(bytes: body))
                let text = String(decoding: body, as: UTF8.self)
                #expect((200..<500).contains(response.status.code), "seed \(seed) round \(round): \(response.status.code) for \(text)")
                #expect(response.json["error"] != nil || response.json["job_id"] != nil,
                        "seed \(seed) round \(round): not a JSON answer for \(text): \(response.text)")
            }
        }
    }
}
