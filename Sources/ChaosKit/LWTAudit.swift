import Foundation

/// A value in a line of the node's LWT audit log (`cqlnode --lwt-audit-log`).
public enum AuditValue: Sendable, Hashable {
    /// A deleted cell (or JSON null).
    case null
    /// An integer (bigint, int, timestamp in milliseconds, ...).
    case int(Int64)
    /// Text or a UUID.
    case text(String)
    /// Anything else, as JSON text.
    case other(String)

    /// The integer, if it is one.
    public var int: Int64? {
        if case let .int(value) = self { return value }
        return nil
    }

    /// The text, if it is text.
    public var text: String? {
        if case let .text(value) = self { return value }
        return nil
    }

    init(json: Any) {
        switch json {
        case is NSNull: self = .null
        case let text as String: self = .text(text)
        case let number as NSNumber:
            // Booleans arrive as NSNumber too (0 or 1); the checker reads none, so they stay integers.
            let integer = number.int64Value
            self = Double(integer) == number.doubleValue ? .int(integer) : .other("\(number.doubleValue)")
        default:
            let data = try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .fragmentsAllowed])
            self = .other(data.map { String(decoding: $0, as: UTF8.self) } ?? "\(json)")
        }
    }
}

/// One row an audited LWT wrote.
public struct AuditRow: Sendable, Hashable {
    /// The columns written (``AuditValue/null`` for a deleted cell).
    public var columns: [String: AuditValue]
    /// `row`, `range` or `partition` when the LWT deleted that.
    public var delete: String?

    /// A row.
    public init(columns: [String: AuditValue] = [:], delete: String? = nil) {
        self.columns = columns
        self.delete = delete
    }
}

/// One applied LWT, as the node logged it.
public struct LWTAuditEntry: Sendable, Hashable {
    /// The node process that committed it (lines of a later process sort after).
    public var boot: Int64
    /// Its commit order within that process.
    public var sequence: Int64
    /// Its write timestamp: the node's clock at commit, in microseconds since the epoch.
    public var timestamp: Int64
    /// The keyspace.
    public var keyspace: String
    /// The table.
    public var table: String
    /// The partition key columns.
    public var key: [String: AuditValue]
    /// What it wrote.
    public var rows: [AuditRow]

    /// An entry.
    public init(boot: Int64 = 0, sequence: Int64, timestamp: Int64, keyspace: String = "scheduler", table: String,
                key: [String: AuditValue], rows: [AuditRow]) {
        self.boot = boot
        self.sequence = sequence
        self.timestamp = timestamp
        self.keyspace = keyspace
        self.table = table
        self.key = key
        self.rows = rows
    }

    /// Parses one line; nil when it is not an audit entry.
    public init?(line: Substring) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let boot = (object["boot"] as? NSNumber)?.int64Value, let sequence = (object["seq"] as? NSNumber)?.int64Value,
              let timestamp = (object["ts"] as? NSNumber)?.int64Value, let keyspace = object["keyspace"] as? String,
              let table = object["table"] as? String else { return nil }
        self.boot = boot
        self.sequence = sequence
        self.timestamp = timestamp
        self.keyspace = keyspace
        self.table = table
        self.key = (object["key"] as? [String: Any] ?? [:]).mapValues(AuditValue.init(json:))
        self.rows = (object["rows"] as? [[String: Any]] ?? []).map { row in
            AuditRow(columns: (row["columns"] as? [String: Any] ?? [:]).mapValues(AuditValue.init(json:)),
                     delete: row["delete"] as? String)
        }
    }

    /// Every entry of the log at `path` in commit order, and how many lines were not entries.
    public static func read(path: String) throws -> (entries: [LWTAuditEntry], malformed: Int) {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var entries: [LWTAuditEntry] = []
        var malformed = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if let entry = LWTAuditEntry(line: line) { entries.append(entry) } else { malformed += 1 }
        }
        return (inCommitOrder(entries), malformed)
    }

    /// Entries sorted by node process, then commit sequence.
    public static func inCommitOrder(_ entries: [LWTAuditEntry]) -> [LWTAuditEntry] {
        entries.sorted { ($0.boot, $0.sequence) < ($1.boot, $1.sequence) }
    }
}

/// A new holder granted a lock while another holder's lease had not ended.
public struct LockOverlap: Sendable, Hashable, CustomStringConvertible {
    /// The lock.
    public var name: String
    /// The holder whose lease was still live, and its token.
    public var previousOwner: String
    /// Its fencing token.
    public var previousToken: Int64
    /// Its lease end (milliseconds since the epoch).
    public var previousExpiry: Int64
    /// The new holder.
    public var owner: String
    /// Its fencing token.
    public var token: Int64
    /// When the node committed the new grant (microseconds since the epoch).
    public var grantedAt: Int64

    /// A readable account.
    public var description: String {
        "\(name): \(owner) got token \(token) at \(grantedAt / 1000) ms while \(previousOwner)'s token \(previousToken) "
            + "was leased until \(previousExpiry) ms (\(previousExpiry - grantedAt / 1000) ms early)"
    }
}

/// The lock and run-claim figures of an audit log, judged in commit order.
public struct LockAuditVerdict: Sendable, Hashable {
    /// Locks seen.
    public var locks = 0
    /// Applied acquisitions (row created or taken over).
    public var acquires = 0
    /// Applied renewals.
    public var renewals = 0
    /// Applied releases.
    public var releases = 0
    /// Acquisitions from another owner after the previous lease expired.
    public var takeoversAfterExpiry = 0
    /// Acquisitions after the previous holder released (or its row was deleted).
    public var acquiresAfterRelease = 0
    /// Acquisitions withdrawn by their own holder (a row created with a superseded generation, deleted before use).
    public var withdrawn = 0
    /// Renewals that found no lease to extend (the audit disagrees with the CAS conditions).
    public var orphanRenewals = 0
    /// Grants while another holder's lease was live.
    public var overlaps: [LockOverlap] = []
    /// Acquisitions whose token was not above the previous one on the lock: (lock, previous, new).
    public var tokenDecreases: [String] = []
    /// Run claims (an LWT on `jobs` that set `attempt`).
    public var claims = 0
    /// Jobs with a claim.
    public var claimedJobs = 0
    /// Claims whose attempt was not above the job's previous claim: (job, previous, new).
    public var claimDecreases: [String] = []

    /// Judges `entries` (in commit order) of the `keyspace`'s `locks` and `jobs` tables.
    ///
    /// A grant is an applied acquisition or renewal of a lock; a holder's lease ends at its expiry
    /// (`expire_at`) or at its applied release (or row deletion), whichever comes first. A grant to
    /// another owner committed before the previous lease's own expiry, and not after its release, is an
    /// overlap. Acquisition tokens must strictly increase per lock and claimed attempts per job.
    public static func judge(_ entries: [LWTAuditEntry], keyspace: String = "scheduler") -> LockAuditVerdict {
        struct Lease {
            var owner: String
            var token: Int64
            var expiry: Int64
            var created: Bool
            var renewed: Bool
            var tokenBefore: Int64?
            /// A token decrease counted once the grant is known not to be withdrawn.
            var decrease: String?
        }
        func settle(_ lease: Lease?, into verdict: inout LockAuditVerdict) {
            if let decrease = lease?.decrease { verdict.tokenDecreases.append(decrease) }
        }
        var verdict = LockAuditVerdict()
        var leases: [String: Lease] = [:]
        var lastToken: [String: Int64] = [:]
        var names: Set<String> = []
        var lastAttempt: [String: Int64] = [:]
        for entry in entries where entry.keyspace == keyspace {
            if entry.table == "jobs" {
                guard let job = entry.key["job_id"]?.text else { continue }
                for row in entry.rows {
                    guard let attempt = row.columns["attempt"]?.int else { continue }
                    if let previous = lastAttempt[job], attempt <= previous {
                        verdict.claimDecreases.append("\(job): \(previous) then \(attempt)")
                    }
                    // Job creation writes attempt 0; only a raise is a claim.
                    if attempt > 0 { verdict.claims += 1 }
                    lastAttempt[job] = max(lastAttempt[job] ?? attempt, attempt)
                }
                continue
            }
            guard entry.table == "locks", let name = entry.key["name"]?.text else { continue }
            names.insert(name)
            for row in entry.rows {
                if row.delete != nil {
                    if let lease = leases[name], lease.created, !lease.renewed {
                        // LockClient deletes a row it created with a superseded generation before using it.
                        verdict.withdrawn += 1
                        lastToken[name] = lease.tokenBefore
                    } else {
                        settle(leases[name], into: &verdict)
                    }
                    leases[name] = nil
                    continue
                }
                switch row.columns["holder"] {
                case let .text(owner)?:
                    let token = row.columns["fencing_token"]?.int ?? Int64.min
                    let expiry = row.columns["expire_at"]?.int ?? Int64.max
                    verdict.acquires += 1
                    settle(leases[name], into: &verdict)
                    if let previous = leases[name], previous.owner != owner {
                        if previous.expiry * 1000 > entry.timestamp {
                            verdict.overlaps.append(LockOverlap(name: name, previousOwner: previous.owner, previousToken: previous.token,
                                                                previousExpiry: previous.expiry, owner: owner, token: token,
                                                                grantedAt: entry.timestamp))
                        } else {
                            verdict.takeoversAfterExpiry += 1
                        }
                    } else if leases[name] == nil, lastToken[name] != nil {
                        verdict.acquiresAfterRelease += 1
                    }
                    let before = lastToken[name]
                    lastToken[name] = max(before ?? token, token)
                    leases[name] = Lease(owner: owner, token: token, expiry: expiry, created: row.columns["generation"] != nil,
                                         renewed: false, tokenBefore: before,
                                         decrease: before.flatMap { token <= $0 ? "\(name): \(owner) got \(token) after \($0)" : nil })
                case .null?:
                    verdict.releases += 1
                    settle(leases[name], into: &verdict)
                    leases[name] = nil
                default:
                    guard let expiry = row.columns["expire_at"]?.int else { continue }
                    if var lease = leases[name] {
                        verdict.renewals += 1
                        lease.expiry = expiry
                        lease.renewed = true
                        settle(lease, into: &verdict)
                        lease.decrease = nil
                        leases[name] = lease
                    } else {
                        verdict.orphanRenewals += 1
                    }
                }
            }
        }
        for lease in leases.values { settle(lease, into: &verdict) }
        verdict.locks = names.count
        verdict.claimedJobs = lastAttempt.values.filter { $0 > 0 }.count
        return verdict
    }
}
