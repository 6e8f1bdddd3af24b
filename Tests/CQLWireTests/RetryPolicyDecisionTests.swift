import Testing
@testable import CQLCodec
@testable import CQLWire

@Suite("DefaultRetryPolicy: the DataStax drivers' documented default, decision by decision")
struct RetryPolicyDecisionTests {
    static let policy = DefaultRetryPolicy()

    static func request(idempotent: Bool = false, retries: Int = 0) -> RetryRequest {
        RetryRequest(cql: "INSERT", isIdempotent: idempotent, retryCount: retries)
    }

    @Test("ReadTimeout: retried once on the same node only when enough replicas answered without the data", arguments: [
        (2, 2, false, 0, RetryDecision.retrySameHost), (3, 2, false, 0, .retrySameHost),
        (2, 2, true, 0, .rethrow), (1, 2, false, 0, .rethrow), (2, 2, false, 1, .rethrow),
    ])
    func readTimeout(received: Int32, blockFor: Int32, dataPresent: Bool, retries: Int, expected: RetryDecision) {
        for idempotent in [false, true] {
            #expect(Self.policy.onReadTimeout(Self.request(idempotent: idempotent, retries: retries), consistency: .localQuorum,
                                              received: received, blockFor: blockFor, dataPresent: dataPresent) == expected)
        }
    }

    @Test("WriteTimeout: only BATCH_LOG, once, on the same node, whatever the idempotence", arguments: [
        ("BATCH_LOG", 0, RetryDecision.retrySameHost), ("BATCH_LOG", 1, .rethrow), ("SIMPLE", 0, .rethrow),
        ("BATCH", 0, .rethrow), ("UNLOGGED_BATCH", 0, .rethrow), ("COUNTER", 0, .rethrow), ("CAS", 0, .rethrow),
    ])
    func writeTimeout(writeType: String, retries: Int, expected: RetryDecision) {
        for idempotent in [false, true] {
            #expect(Self.policy.onWriteTimeout(Self.request(idempotent: idempotent, retries: retries), consistency: .localQuorum,
                                               writeType: writeType, received: 1, blockFor: 2) == expected)
        }
    }

    @Test("Unavailable: once on the next node")
    func unavailable() {
        #expect(Self.policy.onUnavailable(Self.request(), consistency: .quorum, required: 2, alive: 1) == .retryNextHost)
        #expect(Self.policy.onUnavailable(Self.request(retries: 1), consistency: .quorum, required: 2, alive: 1) == .rethrow)
    }

    @Test("request errors: the next node for an idempotent statement, up to maxRetries; never for another")
    func requestError() {
        let error = CQLError.requestTimedOut(endpoint: "n1", timeout: .seconds(1))
        #expect(Self.policy.onRequestError(Self.request(idempotent: true), error: error) == .retryNextHost)
        #expect(Self.policy.onRequestError(Self.request(idempotent: true, retries: 1), error: error) == .retryNextHost)
        #expect(Self.policy.onRequestError(Self.request(idempotent: true, retries: 2), error: error) == .rethrow)
        #expect(Self.policy.onRequestError(Self.request(idempotent: false), error: error) == .rethrow)
        #expect(DefaultRetryPolicy(maxRetries: 0).onRequestError(Self.request(idempotent: true), error: error) == .rethrow)
    }

    @Test("the session settles unknown LWT outcomes itself, and asks the policy only about retryable server errors")
    func sessionRouting() {
        #expect(FailedAttempt.leavesLWTOutcomeUnknown(ServerError(.writeTimeout(consistency: .serial, received: 0, blockFor: 1,
                                                                              writeType: "CAS"), message: "")))
        #expect(FailedAttempt.leavesLWTOutcomeUnknown(ServerError(.writeTimeout(consistency: .quorum, received: 0, blockFor: 1,
                                                                              writeType: "SIMPLE"), message: "")))
        #expect(!FailedAttempt.leavesLWTOutcomeUnknown(ServerError(.writeTimeout(consistency: .one, received: 0, blockFor: 1,
                                                                               writeType: "BATCH_LOG"), message: "")))
        let request = Self.request()
        #expect(Self.policy.decision(on: ServerError(.invalid, message: "unconfigured table t"),
                                    request: request) == nil)
        #expect(Self.policy.decision(on: ServerError(.syntaxError, message: ""), request: request) == nil)
        let overloaded = Self.policy.decision(on: ServerError(.overloaded, message: ""),
                                             request: Self.request(idempotent: true))
        #expect(overloaded?.0 == .requestError)
        #expect(overloaded?.1 == .retryNextHost)
    }
}
