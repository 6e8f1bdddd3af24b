import Testing
@testable import CQLCodec
@testable import CQLWire

@Suite("Session helpers: token ownership, backoff, client timestamps")
struct SessionRoutingTests {
    @Test("the owner of a token is the first ring token at or above it, wrapping around", arguments: [
        (Int64.min, 0), (-100, 0), (-99, 1), (0, 1), (1, 2), (500, 2), (501, 0), (Int64.max, 0),
    ])
    func owner(token: Int64, node: Int) {
        let ring: [(token: Int64, node: Int)] = [(-100, 0), (0, 1), (500, 2)]
        #expect(CQLSession.owner(of: token, in: ring) == node)
    }

    @Test("backoff grows exponentially with jitter and stays under the maximum")
    func backoff() {
        let policy = ReconnectionPolicy(baseDelay: .milliseconds(100), maxDelay: .seconds(2))
        for failures in 1...40 {
            let delay = policy.delay(afterFailures: failures)
            let ceiling = min(Duration.seconds(2), .milliseconds(100) * (1 << min(failures - 1, 30)))
            #expect(delay <= ceiling)
            #expect(delay >= ceiling / 2)
        }
    }

    @Test("client timestamps strictly increase")
    func timestamps() {
        let generator = ClientTimestampGenerator()
        var last = Int64.min
        for _ in 0..<10_000 {
            let next = generator.next()
            #expect(next > last)
            last = next
        }
    }
}
