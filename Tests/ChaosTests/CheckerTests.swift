import ChaosKit
import Testing

/// Audit entries of the `locks` table, as LockClient writes them.
private enum Lock {
    static func create(_ seq: Int64, at ms: Int64, _ name: String = "shard-0", owner: String, generation: Int64 = 1,
                       expiry: Int64) -> LWTAuditEntry {
        LWTAuditEntry(sequence: seq, timestamp: ms * 1000, table: "locks", key: ["name": .text(name)],
                      rows: [AuditRow(columns: ["holder": .text(owner), "generation": .int(generation), "epoch": .int(1),
                                                "fencing_token": .int(generation << 32 | 1), "expire_at": .int(expiry)])])
    }

    static func takeover(_ seq: Int64, at ms: Int64, _ name: String = "shard-0", owner: String, token: Int64,
                         expiry: Int64) -> LWTAuditEntry {
        LWTAuditEntry(sequence: seq, timestamp: ms * 1000, table: "locks", key: ["name": .text(name)],
                      rows: [AuditRow(columns: ["holder": .text(owner), "epoch": .int(token & 0xFFFF_FFFF),
                                                "fencing_token": .int(token), "expire_at": .int(expiry)])])
    }

    static func renew(_ seq: Int64, at ms: Int64, _ name: String = "shard-0", expiry: Int64) -> LWTAuditEntry {
        LWTAuditEntry(sequence: seq, timestamp: ms * 1000, table: "locks", key: ["name": .text(name)],
                      rows: [AuditRow(columns: ["expire_at": .int(expiry), "renewed_at": .int(ms)])])
    }

    static func release(_ seq: Int64, at ms: Int64, _ name: String = "shard-0") -> LWTAuditEntry {
        LWTAuditEntry(sequence: seq, timestamp: ms * 1000, table: "locks", key: ["name": .text(name)],
                      rows: [AuditRow(columns: ["holder": .null, "expire_at": .int(ms)])])
    }

    static func delete(_ seq: Int64, at ms: Int64, _ name: String = "shard-0") -> LWTAuditEntry {
        LWTAuditEntry(sequence: seq, timestamp: ms * 1000, table: "locks", key: ["name": .text(name)], rows: [AuditRow(delete: "row")])
    }

    static func claim(_ seq: Int64, job: String, attempt: Int64) -> LWTAuditEntry {
        LWTAuditEntry(sequence: seq, timestamp: seq * 1000, table: "jobs", key: ["job_id": .text(job)],
                      rows: [AuditRow(columns: ["attempt": .int(attempt), "status": .text("running")])])
    }
}

@Suite("Lock audit verdict")
struct LockAuditVerdictTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var entries: [LWTAuditEntry]
        var overlaps: Int
        var decreases: Int
        var takeoversAfterExpiry = 0
        var withdrawn = 0
        var claimDecreases = 0
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "takeover after expiry is accepted",
             entries: [Lock.create(1, at: 1000, owner: "a", expiry: 11_000),
                       Lock.takeover(2, at: 11_000, owner: "b", token: 1 << 32 | 2, expiry: 21_000)],
             overlaps: 0, decreases: 0, takeoversAfterExpiry: 1),
        Case(name: "takeover one millisecond before expiry overlaps",
             entries: [Lock.create(1, at: 1000, owner: "a", expiry: 11_000),
                       Lock.takeover(2, at: 10_999, owner: "b", token: 1 << 32 | 2, expiry: 21_000)],
             overlaps: 1, decreases: 0),
        Case(name: "renewal extends the lease, so a takeover at the first expiry overlaps",
             entries: [Lock.create(1, at: 1000, owner: "a", expiry: 11_000), Lock.renew(2, at: 5000, expiry: 15_000),
                       Lock.takeover(3, at: 12_000, owner: "b", token: 1 << 32 | 2, expiry: 22_000)],
             overlaps: 1, decreases: 0),
        Case(name: "takeover after release is accepted even before the old expiry",
             entries: [Lock.create(1, at: 1000, owner: "a", expiry: 11_000), Lock.release(2, at: 2000),
                       Lock.takeover(3, at: 2001, owner: "b", token: 1 << 32 | 2, expiry: 12_000)],
             overlaps: 0, decreases: 0),
        Case(name: "same owner re-acquiring is no overlap",
             entries: [Lock.create(1, at: 1000, owner: "a", expiry: 11_000),
                       Lock.takeover(2, at: 5000, owner: "a", token: 1 << 32 | 2, expiry: 15_000)],
             overlaps: 0, decreases: 0),
        Case(name: "token decrease is detected",
             entries: [Lock.create(1, at: 1000, owner: "a", expiry: 2000),
                       Lock.takeover(2, at: 3000, owner: "b", token: 1 << 32 | 3, expiry: 4000),
                       Lock.takeover(3, at: 5000, owner: "a", token: 1 << 32 | 2, expiry: 6000)],
             overlaps: 0, decreases: 1, takeoversAfterExpiry: 2),
        Case(name: "equal token twice is a decrease",
             entries: [Lock.create(1, at: 1000, owner: "a", expiry: 2000),
                       Lock.takeover(2, at: 3000, owner: "b", token: 1 << 32 | 1, expiry: 4000)],
             overlaps: 0, decreases: 1, takeoversAfterExpiry: 1),
        Case(name: "a new generation after a deleted row is accepted",
             entries: [Lock.create(1, at: 1000, owner: "a", expiry: 2000), Lock.renew(2, at: 1500, expiry: 2500),
                       Lock.delete(3, at: 1600), Lock.create(4, at: 1700, owner: "b", generation: 2, expiry: 2700)],
             overlaps: 0, decreases: 0),
        Case(name: "a superseded creation withdrawn by its creator is not a decrease",
             entries: [Lock.create(1, at: 1000, owner: "a", generation: 3, expiry: 2000), Lock.release(2, at: 1100),
                       Lock.delete(3, at: 1200),
                       Lock.create(4, at: 1300, owner: "b", generation: 2, expiry: 2300), Lock.delete(5, at: 1301),
                       Lock.create(6, at: 1400, owner: "c", generation: 4, expiry: 2400)],
             overlaps: 0, decreases: 0, withdrawn: 1),
        Case(name: "locks are judged independently",
             entries: [Lock.create(1, at: 1000, "shard-0", owner: "a", expiry: 11_000),
                       Lock.create(2, at: 1001, "shard-1", owner: "b", expiry: 11_000)],
             overlaps: 0, decreases: 0),
        Case(name: "run claims must raise the attempt",
             entries: [Lock.claim(1, job: "j", attempt: 1), Lock.claim(2, job: "j", attempt: 2), Lock.claim(3, job: "j", attempt: 2)],
             overlaps: 0, decreases: 0, claimDecreases: 1),
    ]

    @Test("judges hand-overs in commit order", arguments: cases)
    func judge(_ example: Case) {
        let verdict = LockAuditVerdict.judge(example.entries)
        #expect(verdict.overlaps.count == example.overlaps)
        #expect(verdict.tokenDecreases.count == example.decreases)
        #expect(verdict.takeoversAfterExpiry == example.takeoversAfterExpiry)
        #expect(verdict.withdrawn == example.withdrawn)
        #expect(verdict.claimDecreases.count == example.claimDecreases)
    }

    @Test("commit order is by node process, then sequence")
    func commitOrder() {
        let late = LWTAuditEntry(boot: 2, sequence: 1, timestamp: 0, table: "locks", key: [:], rows: [])
        let early = LWTAuditEntry(boot: 1, sequence: 7, timestamp: 0, table: "locks", key: [:], rows: [])
        let earlier = LWTAuditEntry(boot: 1, sequence: 3, timestamp: 0, table: "locks", key: [:], rows: [])
        #expect(LWTAuditEntry.inCommitOrder([late, early, earlier]) == [earlier, early, late])
    }

    @Test("parses a node audit line")
    func parse() throws {
        let line = #"{"boot":5,"keyspace":"scheduler","key":{"name":"shard-3"},"rows":[{"columns":{"expire_at":1700000000123,"fencing_token":4294967298,"holder":"w1-1"},"insert":true}],"seq":9,"table":"locks","ts":1700000000000001}"#
        let entry = try #require(LWTAuditEntry(line: Substring(line)))
        #expect(entry.boot == 5 && entry.sequence == 9 && entry.timestamp == 1_700_000_000_000_001)
        #expect(entry.key["name"] == .text("shard-3"))
        #expect(entry.rows.first?.columns["fencing_token"] == .int(4_294_967_298))
        #expect(entry.rows.first?.columns["holder"] == .text("w1-1"))
        #expect(LWTAuditEntry(line: "not json") == nil)
    }
}

@Suite("Checker")
struct CheckerTests {
    static let grantedLock = [Lock.create(1, at: 1000, owner: "a", expiry: 2000)]

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var jobs: [SubmittedJob]
        var states: [String: JobState]
        var history: [String: [Int64]]
        var effects: [EffectRecord]
        var expectStale = false
        var runsAfterFaults: [String: Int]?
        var failing: Set<String>
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a clean run passes",
             jobs: [SubmittedJob(id: "j1", kind: "http", recurring: false, everySeconds: 5)],
             states: ["j1": JobState(status: "succeeded", attempt: 2)], history: ["j1": [1, 2]],
             effects: [EffectRecord(jobID: "j1", token: 2, applied: true, sequence: 0),
                       EffectRecord(jobID: "j1", token: 1, applied: false, sequence: 1, held: true)],
             expectStale: true, failing: []),
        Case(name: "a job left running is lost",
             jobs: [SubmittedJob(id: "j1", kind: "noop", recurring: false, everySeconds: 5),
                    SubmittedJob(id: "j2", kind: "noop", recurring: false, everySeconds: 5)],
             states: ["j1": JobState(status: "running", attempt: 1), "j2": JobState(status: "failed", attempt: 3)],
             history: ["j1": [1], "j2": [1, 2, 3]], effects: [], failing: ["terminal"]),
        Case(name: "a job the node never stored is lost",
             jobs: [SubmittedJob(id: "j1", kind: "noop", recurring: false, everySeconds: 5)],
             states: [:], history: [:], effects: [], failing: ["terminal"]),
        Case(name: "a stale effect applied is detected",
             jobs: [SubmittedJob(id: "j1", kind: "http", recurring: false, everySeconds: 5)],
             states: ["j1": JobState(status: "succeeded", attempt: 2)], history: ["j1": [1, 2]],
             effects: [EffectRecord(jobID: "j1", token: 2, applied: true, sequence: 0),
                       EffectRecord(jobID: "j1", token: 1, applied: true, sequence: 1)],
             failing: ["effects"]),
        Case(name: "an effect with a token the node never granted is detected",
             jobs: [SubmittedJob(id: "j1", kind: "http", recurring: false, everySeconds: 5)],
             states: ["j1": JobState(status: "succeeded", attempt: 1)], history: ["j1": [1]],
             effects: [EffectRecord(jobID: "j1", token: 7, applied: true, sequence: 0)],
             failing: ["effects"]),
        Case(name: "five late effects and none rejected fails",
             jobs: [SubmittedJob(id: "j1", kind: "http", recurring: false, everySeconds: 5)],
             states: ["j1": JobState(status: "succeeded", attempt: 5)], history: ["j1": [1, 2, 3, 4, 5]],
             effects: (1...5).map { EffectRecord(jobID: "j1", token: Int64($0), applied: true, sequence: $0, held: true) },
             expectStale: true, failing: ["effects"]),
        Case(name: "a few late effects and none rejected passes",
             jobs: [SubmittedJob(id: "j1", kind: "http", recurring: false, everySeconds: 5)],
             states: ["j1": JobState(status: "succeeded", attempt: 1)], history: ["j1": [1]],
             effects: [EffectRecord(jobID: "j1", token: 1, applied: true, sequence: 0, held: true)],
             expectStale: true, failing: []),
        Case(name: "a recurring job that stopped firing is starved",
             jobs: [SubmittedJob(id: "r1", kind: "noop", recurring: true, everySeconds: 5)],
             states: ["r1": JobState(status: "queued", attempt: 1)], history: ["r1": [1]], effects: [],
             failing: ["recurring"]),
        Case(name: "a recurring job slowed by the faults but firing after them passes",
             jobs: [SubmittedJob(id: "r1", kind: "noop", recurring: true, everySeconds: 5)],
             states: ["r1": JobState(status: "queued", attempt: 3)], history: ["r1": [1, 2, 3]], effects: [],
             runsAfterFaults: ["r1": 1], failing: []),
        Case(name: "a recurring job with enough runs that stopped after the faults is starved",
             jobs: [SubmittedJob(id: "r1", kind: "noop", recurring: true, everySeconds: 5)],
             states: ["r1": JobState(status: "queued", attempt: 9)], history: ["r1": Array(1...9)], effects: [],
             runsAfterFaults: ["r1": 0], failing: ["recurring"]),
        Case(name: "a run above the job's token is detected",
             jobs: [SubmittedJob(id: "j1", kind: "noop", recurring: false, everySeconds: 5)],
             states: ["j1": JobState(status: "succeeded", attempt: 1)], history: ["j1": [1, 2]], effects: [],
             failing: ["history"]),
    ]

    @Test("fails exactly the broken invariants", arguments: cases)
    func verdicts(_ example: Case) {
        var checker = Checker()
        checker.judge(CheckInput(jobs: example.jobs, states: example.states, history: example.history, effects: example.effects,
                                 audit: Self.grantedLock, expectStaleEffects: example.expectStale, runSeconds: 100,
                                 runsAfterFaults: example.runsAfterFaults))
        let failing = Set(checker.checks.filter { !$0.ok }.map(\.name))
        #expect(failing == example.failing, "\(checker.report)")
        #expect(checker.passed + checker.failed == 7)
    }

    @Test("an overlap in the audit fails the holder check")
    func overlapFails() {
        var checker = Checker()
        checker.judge(CheckInput(jobs: [], states: [:], history: [:], effects: [],
                                 audit: [Lock.create(1, at: 1000, owner: "a", expiry: 11_000),
                                         Lock.takeover(2, at: 5000, owner: "b", token: 1 << 32 | 2, expiry: 15_000)],
                                 runSeconds: 10))
        #expect(checker.check(named: "lock-holders")?.ok == false)
        #expect(checker.check(named: "lock-tokens")?.ok == true)
    }

    @Test("an empty or malformed audit log fails the lock checks")
    func missingAudit() {
        var checker = Checker()
        checker.judge(CheckInput(jobs: [], states: [:], history: [:], effects: [], audit: [], runSeconds: 10))
        #expect(checker.check(named: "lock-tokens")?.ok == false)
        #expect(checker.check(named: "lock-holders")?.ok == false)
        var malformed = Checker()
        malformed.judge(CheckInput(jobs: [], states: [:], history: [:], effects: [], audit: Self.grantedLock,
                                   malformedAuditLines: 1, runSeconds: 10))
        #expect(malformed.check(named: "lock-tokens")?.ok == false)
    }
}
