// codecbench: decodes a RESULT frame of job rows through CQLWire's row view and through
// `Decodable`, and prints rows/s, CPU per row and heap allocations per row as JSON lines.
//
// usage: codecbench PAGE_FILE [SECONDS]
// Run under LD_PRELOAD=libMallocInterposerSwift.so (scripts/bench_codec.sh does) so the
// allocation counts are real; without it they read 0.
import CQLWire
import Foundation
import MallocInterposerSwift

struct JobRow: Decodable {
    var id: UUID
    var name: String
    var due_at: Date
    var attempt: Int32
    var payload: Data
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// Decodes the frame and returns its rows.
func rows(of frame: [UInt8]) throws -> Rows {
    var decoder = FrameDecoder()
    decoder.append(frame)
    guard let received = try decoder.nextFrame(),
          case let .result(.rows(rows)) = try received.decodeResponse(compression: nil).message
    else { throw WireError.invalidValue(what: "benchmark page", detail: "not a rows result") }
    return rows
}

/// The fast path: every column of every row read in place; text becomes a String, the blob stays a range.
@inline(never)
func decodeWithRowView(_ frame: [UInt8]) throws -> Int {
    let page = try rows(of: frame)
    var checksum = 0
    for row in page {
        var cells = row.cells.makeIterator()
        guard let id = cells.next(), let name = cells.next(), let dueCell = cells.next(),
              let attempt = cells.next(), let payload = cells.next(), let idRange = id.range,
              let nameRange = name.range, let dueRange = dueCell.range, let attemptRange = attempt.range
        else { throw WireError.invalidValue(what: "row", detail: "missing cell") }
        let uuid = try UUID(cqlBytes: row.buffer, range: idRange, type: .uuid)
        let text = try String(cqlBytes: row.buffer, range: nameRange, type: .varchar)
        let due = try Date(cqlBytes: row.buffer, range: dueRange, type: .timestamp)
        let count = try Int32(cqlBytes: row.buffer, range: attemptRange, type: .int)
        checksum &+= Int(uuid.uuid.0) &+ text.utf8.count &+ Int(due.timeIntervalSince1970) &+ Int(count) &+ (payload.range?.count ?? 0)
    }
    return checksum
}

@inline(never)
func decodeWithDecodable(_ frame: [UInt8]) throws -> Int {
    let decoded = try rows(of: frame).decode(JobRow.self)
    return decoded.reduce(0) { $0 &+ $1.name.utf8.count &+ Int($1.attempt) &+ $1.payload.count }
}

func measure(_ name: String, frame: [UInt8], rowsPerPage: Int, seconds: Double,
             _ body: ([UInt8]) throws -> Int) throws {
    _ = try body(frame)  // warm up
    MallocInterposerSwift.initialize()
    MallocInterposerSwift.reset()
    MallocInterposerSwift.hook()
    _ = try body(frame)
    MallocInterposerSwift.unhook()
    let allocations = MallocInterposerSwift.getStatistics().mallocCount

    var iterations = 0
    var checksum = 0
    let wallStart = Date()
    let cpuStart = cpuSeconds()
    while Date().timeIntervalSince(wallStart) < seconds {
        checksum &+= try body(frame)
        iterations += 1
    }
    let wall = Date().timeIntervalSince(wallStart)
    let cpu = cpuSeconds() - cpuStart
    let rows = Double(iterations * rowsPerPage)
    let line: [String: Any] = [
        "decoder": name,
        "rows_per_second": rows / wall,
        "cpu_us_per_row": cpu / rows * 1e6,
        "allocations_per_row": Double(allocations) / Double(rowsPerPage),
        "iterations": iterations,
        "checksum": checksum & 0xFFFF,
    ]
    let json = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
}

let arguments = CommandLine.arguments
guard arguments.count >= 2, let data = FileManager.default.contents(atPath: arguments[1]) else {
    FileHandle.standardError.write(Data("usage: codecbench PAGE_FILE [SECONDS]\n".utf8))
    exit(2)
}
let seconds = arguments.count > 2 ? Double(arguments[2]) ?? 5 : 5
let frame = [UInt8](data)
let rowsPerPage = try rows(of: frame).rowCount
try measure("CQLWire row view", frame: frame, rowsPerPage: rowsPerPage, seconds: seconds, decodeWithRowView)
try measure("CQLWire Decodable", frame: frame, rowsPerPage: rowsPerPage, seconds: seconds, decodeWithDecodable)
