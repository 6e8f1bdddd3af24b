public import CQLCodec
public import Foundation
import NIOConcurrencyHelpers

/// Faults a test makes the node inject into chosen requests, so that clients' unknown-outcome
/// and retry paths can be exercised against a real server. Off unless a test installs rules.
///
/// Rules can be added and removed while the server runs, from any thread; the first rule
/// that matches a request (in insertion order) and passes its count and probability fires.
public final class FaultInjection: Sendable {
    /// Which requests a rule applies to.
    public enum Match: Sendable, Equatable {
        /// Every QUERY, PREPARE, EXECUTE and BATCH.
        case any
        /// Requests with this opcode.
        case opcode(Opcode)
        /// Requests whose CQL text contains this substring (QUERY, PREPARE, a batch's simple statements).
        case cqlContains(String)
        /// EXECUTEs of this prepared id, or batches containing it.
        case preparedID([UInt8])
    }

    /// What happens to a matching request.
    public enum Action: Sendable, Equatable {
        /// Never answer: the client's own timeout fires.
        case timeout
        /// Answer normally, but only after this long.
        case delay(Duration)
        /// ERROR 0x1000 Unavailable at the request's consistency (required 1, alive 0).
        case unavailable
        /// ERROR 0x1100 WriteTimeout with write type CAS: an LWT whose outcome is unknown.
        case writeTimeoutCAS
        /// ERROR 0x1100 WriteTimeout of `writeType` (`received` of `blockFor` replicas acknowledged),
        /// as a coordinator answers when replicas do not acknowledge a write in time.
        case writeTimeout(WriteType, received: Int32, blockFor: Int32)
        /// ERROR 0x1200 ReadTimeout (`received` of `blockFor` replicas answered; `dataPresent`
        /// whether the replica asked for the data did), at the request's consistency.
        case readTimeout(received: Int32, blockFor: Int32, dataPresent: Bool)
        /// Close the connection without answering.
        case dropConnection
        /// Answer with this ERROR, whatever the request (a write timeout of a chosen write type, a
        /// read timeout with or without data, Overloaded, ...).
        case answer(ServerError)
    }

    /// The kind of write a WriteTimeout reports (Cassandra's `WriteType`).
    public enum WriteType: String, Sendable, CaseIterable {
        /// A single-partition write.
        case simple = "SIMPLE"
        /// A logged batch after its batch log was written: it will be replayed.
        case batch = "BATCH"
        /// Writing the batch log itself (at ONE): the batch may not have been written at all.
        case batchLog = "BATCH_LOG"
        /// An unlogged batch.
        case unloggedBatch = "UNLOGGED_BATCH"
        /// A counter update (never safe to retry).
        case counter = "COUNTER"
        /// The Paxos propose phase of an LWT.
        case cas = "CAS"
    }

    /// When the fault strikes relative to running the statement.
    public enum Timing: Sendable, Equatable {
        /// Instead of running the statement: nothing was applied.
        case beforeExecution
        /// After the statement ran (its writes are applied), replacing or withholding its answer.
        case afterExecution
    }

    /// One fault rule.
    public struct Rule: Sendable, Equatable {
        /// Which requests it applies to.
        public var match: Match
        /// What it does.
        public var action: Action
        /// Before or after the statement runs.
        public var timing: Timing
        /// How many more times it may fire; nil for no limit.
        public var remaining: Int?
        /// The chance (0...1) that a matching request is hit.
        public var probability: Double

        /// A rule; by default it fires on every match, before execution.
        public init(match: Match, action: Action, timing: Timing = .beforeExecution, count: Int? = nil,
                    probability: Double = 1) {
            self.match = match
            self.action = action
            self.timing = timing
            self.remaining = count
            self.probability = probability
        }

        func matches(_ request: QueryRequest) -> Bool {
            switch match {
            case .any:
                return true
            case let .opcode(opcode):
                return request.opcode == opcode
            case let .cqlContains(text):
                return request.cqlTexts.contains { $0.contains(text) }
            case let .preparedID(id):
                switch request {
                case let .execute(execute): return execute.id == id
                case let .batch(batch):
                    return batch.statements.contains { statement in
                        if case let .prepared(statementID, _) = statement { statementID == id } else { false }
                    }
                case .query, .prepare: return false
                }
            }
        }
    }

    /// Identifies an installed rule.
    public struct RuleID: Hashable, Sendable {
        let value: Int
    }

    private struct Installed {
        var id: RuleID
        var rule: Rule
        var fired: Int
    }

    /// A node that has not yet learnt the latest schema changes, as a cluster node does until
    /// gossip reaches it: it reports an older `schema_version` in `system.local` and answers
    /// `unconfigured table X` for the tables it does not know yet.
    public struct SchemaLag: Sendable {
        /// The `schema_version` the node reports meanwhile.
        public var schemaVersion: UUID
        /// The tables (unqualified names) it does not know yet.
        public var unknownTables: Set<String>

        /// A lag.
        public init(schemaVersion: UUID, unknownTables: Set<String>) {
            self.schemaVersion = schemaVersion
            self.unknownTables = Set(unknownTables.map { $0.lowercased() })
        }

        /// The first unknown table `request` names (after FROM, INTO, UPDATE or TABLE), or nil; a
        /// CREATE is left alone (the node would create the table it lacks).
        func unknownTable(in request: QueryRequest) -> String? {
            for text in request.cqlTexts where !text.drop(while: \.isWhitespace).uppercased().hasPrefix("CREATE") {
                let words = text.split { $0.isWhitespace || $0 == "(" || $0 == ";" }
                for (offset, word) in words.enumerated() where offset + 1 < words.count {
                    guard ["FROM", "INTO", "UPDATE", "TABLE"].contains(word.uppercased()) else { continue }
                    let name = words[offset + 1].split(separator: ".").last.map(String.init) ?? ""
                    let table = name.replacingOccurrences(of: "\"", with: "").lowercased()
                    if unknownTables.contains(table) { return table }
                }
            }
            return nil
        }

        /// `response` with the lagging `schema_version` in place of the node's, when it answers a
        /// read of `system.local` that returned that column; otherwise unchanged.
        func rewriting(_ response: QueryResponse, of request: QueryRequest) -> QueryResponse {
            guard case let .query(query) = request, query.query.contains("system.local"),
                  case let .result(.rows(rows)) = response.message,
                  let column = rows.metadata.columns.firstIndex(where: { $0.name == "schema_version" }),
                  let views = try? rows.rowViews() else { return response }
            var writer = ByteWriter()
            do {
                for row in views {
                    var values = try row.values()
                    guard column < values.count else { return response }
                    values[column] = .uuid(schemaVersion)
                    for (value, spec) in zip(values, rows.metadata.columns) { writer.writeBytes(try value.encode(as: spec.type)) }
                }
            } catch {
                return response
            }
            var rewritten = response
            rewritten.message = .result(.rows(Rows(metadata: rows.metadata, rowCount: views.count, buffer: writer.bytes,
                                                   contentRange: 0..<writer.bytes.count)))
            return rewritten
        }
    }

    private struct State {
        var rules: [Installed] = []
        var nextID = 0
        var lag: (lag: SchemaLag, isOver: @Sendable () -> Bool)?
    }

    private let state = NIOLockedValueBox(State())

    /// An injector with these rules installed.
    public init(rules: [Rule] = []) {
        for rule in rules { add(rule) }
    }

    /// Installs a rule after the existing ones.
    @discardableResult
    public func add(_ rule: Rule) -> RuleID {
        state.withLockedValue { state in
            let id = RuleID(value: state.nextID)
            state.nextID += 1
            state.rules.append(Installed(id: id, rule: rule, fired: 0))
            return id
        }
    }

    /// Removes a rule; requests already hit keep their fault.
    public func remove(_ id: RuleID) {
        state.withLockedValue { $0.rules.removeAll { $0.id == id } }
    }

    /// Removes every rule.
    public func removeAll() {
        state.withLockedValue { $0.rules.removeAll() }
    }

    /// Makes the node lag behind the schema for `duration` on `clock` (see ``SchemaLag``); replaces any earlier lag.
    public func lagSchema<C: Clock>(_ lag: SchemaLag, for duration: Duration, clock: C) where C.Duration == Duration {
        let deadline = clock.now.advanced(by: duration)
        state.withLockedValue { $0.lag = (lag, { clock.now >= deadline }) }
    }

    /// Makes the node lag behind the schema for `duration` of real time.
    public func lagSchema(_ lag: SchemaLag, for duration: Duration) {
        lagSchema(lag, for: duration, clock: ContinuousClock())
    }

    /// Ends a schema lag at once.
    public func endSchemaLag() {
        state.withLockedValue { $0.lag = nil }
    }

    /// The schema lag in force, nil when there is none or its time is over.
    public var schemaLag: SchemaLag? {
        guard let (lag, isOver) = state.withLockedValue({ $0.lag }) else { return nil }
        if isOver() {
            state.withLockedValue { $0.lag = nil }
            return nil
        }
        return lag
    }

    /// How many requests a rule has hit so far (0 once removed).
    public func firedCount(_ id: RuleID) -> Int {
        state.withLockedValue { state in state.rules.first { $0.id == id }?.fired ?? 0 }
    }

    /// The rule that fires for `request`, with its count taken, or nil.
    func fault(for request: QueryRequest) -> Rule? {
        state.withLockedValue { state in
            for index in state.rules.indices {
                let rule = state.rules[index].rule
                guard rule.matches(request), rule.remaining.map({ $0 > 0 }) ?? true else { continue }
                guard rule.probability >= 1 || Double.random(in: 0..<1) < rule.probability else { continue }
                if let remaining = rule.remaining { state.rules[index].rule.remaining = remaining - 1 }
                state.rules[index].fired += 1
                return rule
            }
            return nil
        }
    }

    /// The ERROR an error-answering action produces for `request`.
    static func error(for action: Action, request: QueryRequest) -> ServerError? {
        switch action {
        case .unavailable:
            let consistency = request.consistency
            return ServerError(.unavailable(consistency: consistency, required: 1, alive: 0),
                               message: "Cannot achieve consistency level \(consistency)")
        case .writeTimeoutCAS:
            let serial = request.serialConsistency
            return ServerError(.writeTimeout(consistency: serial, received: 0, blockFor: 1, writeType: "CAS"),
                               message: "CAS operation timed out: received 0 of 1 required responses after 0 contention retries")
        case let .writeTimeout(writeType, received, blockFor):
            // Cassandra writes the batch log at ONE and a CAS at the serial consistency.
            let consistency: Consistency = switch writeType {
            case .batchLog: .one
            case .cas: request.serialConsistency
            default: request.consistency
            }
            let message = writeType == .cas
                ? "CAS operation timed out: received \(received) of \(blockFor) required responses after 0 contention retries"
                : "Operation timed out - received only \(received) responses."
            return ServerError(.writeTimeout(consistency: consistency, received: received, blockFor: blockFor,
                                             writeType: writeType.rawValue), message: message)
        case let .readTimeout(received, blockFor, dataPresent):
            return ServerError(.readTimeout(consistency: request.consistency, received: received, blockFor: blockFor,
                                            dataPresent: dataPresent),
                               message: "Operation timed out - received only \(received) responses.")
        case let .answer(error):
            return error
        case .timeout, .delay, .dropConnection:
            return nil
        }
    }
}

extension QueryRequest {
    /// The request's consistency level (ONE for PREPARE, which has none).
    var consistency: Consistency {
        switch self {
        case let .query(query): query.parameters.consistency
        case let .execute(execute): execute.parameters.consistency
        case let .batch(batch): batch.consistency
        case .prepare: .one
        }
    }

    /// The request's serial consistency, SERIAL when unset (Cassandra's default).
    var serialConsistency: Consistency {
        switch self {
        case let .query(query): query.parameters.serialConsistency ?? .serial
        case let .execute(execute): execute.parameters.serialConsistency ?? .serial
        case let .batch(batch): batch.serialConsistency ?? .serial
        case .prepare: .serial
        }
    }
}
