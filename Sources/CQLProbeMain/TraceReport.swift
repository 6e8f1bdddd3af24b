import CQLWire
import Foundation

/// A request's trace as cqlsh prints it after a traced statement: read from
/// `system_traces.sessions` and `system_traces.events` (Cassandra writes them asynchronously, so
/// the session is polled until its `duration` is set, for about two seconds, as the DataStax
/// Python driver's `TraceSession.populate` does).
struct TraceReport {
    /// The column names cqlsh prints.
    static let columns = ["activity", "timestamp", "source", "source_elapsed", "client"]

    /// The rows: the request, each event (`activity [thread]`), and `Request complete` once finished.
    var rows: [[String]]

    /// Reads the trace `id`, waiting for it to complete, with the waits of `sleep` (real time outside tests).
    static func load(_ session: CQLSession, id: UUID,
                     sleep: (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) async throws -> TraceReport? {
        var sessionRow: RowView?
        var delay = Duration.milliseconds(3)
        var waited = Duration.zero
        while true {
            sessionRow = try await query(session, "SELECT * FROM system_traces.sessions WHERE session_id = ?", id).first
            if let row = sessionRow, ((try? row.decode(Int32?.self, named: "duration")) ?? nil) != nil { break }
            guard waited < .seconds(2) else { break }
            try await sleep(delay)
            waited += delay
            delay *= 2
        }
        guard let sessionRow else { return nil }
        let events = try await query(session, "SELECT * FROM system_traces.events WHERE session_id = ?", id)
        return TraceReport(session: sessionRow, events: events)
    }

    private static func query(_ session: CQLSession, _ cql: String, _ id: UUID) async throws -> [RowView] {
        var statement = try CQLStatement(cql, [id])
        statement.consistency = .one
        var rows: [RowView] = []
        for try await row in session.rows(statement) { rows.append(row) }
        return rows
    }

    init(session: RowView, events: [RowView]) {
        func text(_ row: RowView, _ name: String) -> String {
            guard row.index(of: name) != nil, let value = try? row.value(named: name), !value.isNull else { return "" }
            switch value {
            case let .text(text), let .ascii(text): return text
            case let .inet(address): return address.description
            default: return value.cqlLiteral
            }
        }
        let client = text(session, "client")
        let coordinator = text(session, "coordinator")
        let startedAt = ((try? session.decode(Date?.self, named: "started_at")) ?? nil)
        var rows = [[text(session, "request"), startedAt.map(Self.format) ?? "", coordinator, "0", client]]
        for event in events {
            let time = ((try? event.decode(UUID?.self, named: "event_id")) ?? nil).flatMap(Self.date(ofTimeUUID:))
            let elapsed = ((try? event.decode(Int32?.self, named: "source_elapsed")) ?? nil).map(String.init) ?? ""
            rows.append(["\(text(event, "activity")) [\(text(event, "thread"))]", time.map(Self.format) ?? "",
                         text(event, "source"), elapsed, client])
        }
        if let duration = (try? session.decode(Int32?.self, named: "duration")) ?? nil, let startedAt {
            let finished = startedAt.addingTimeInterval(Double(duration) / 1_000_000)
            rows.append(["Request complete", Self.format(finished), coordinator, String(duration), client])
        }
        self.rows = rows
    }

    /// The time of a version-1 (time-based) UUID; nil for other versions.
    static func date(ofTimeUUID uuid: UUID) -> Date? {
        let bytes = uuid.uuid
        guard bytes.6 >> 4 == 1 else { return nil }
        let low = UInt64(bytes.0) << 24 | UInt64(bytes.1) << 16 | UInt64(bytes.2) << 8 | UInt64(bytes.3)
        let mid = UInt64(bytes.4) << 8 | UInt64(bytes.5)
        let high = UInt64(bytes.6 & 0x0F) << 8 | UInt64(bytes.7)
        let ticks = high << 48 | mid << 32 | low
        // 100 ns ticks since 1582-10-15, the Gregorian epoch of UUIDs.
        let unixTicks = Int64(bitPattern: ticks) - 0x01B2_1DD2_1381_4000
        return Date(timeIntervalSince1970: Double(unixTicks) / 10_000_000)
    }

    /// `2024-05-01 10:00:00.123456`, as cqlsh prints trace times (UTC here).
    static func format(_ date: Date) -> String {
        let microseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        let seconds = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let fraction = microseconds - seconds * 1_000_000
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second],
                                            from: Date(timeIntervalSince1970: Double(seconds)))
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        return String(format: "%04d", parts.year ?? 0) + "-\(two(parts.month))-\(two(parts.day)) "
            + "\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second))." + String(format: "%06lld", fraction)
    }
}
