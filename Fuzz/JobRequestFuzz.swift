// libFuzzer entry: validation of the body of POST /jobs (JSON parsing, schedules, cron, time
// zones, limits), compiled without Hummingbird so the sanitizer build stays small.
//
// Oracle: nothing traps; an accepted job has a schedule that yields a first due time or is a
// schedule without one (a cron expression that never fires is refused).
import Foundation

private let kinds: Set<String> = ["noop", "sleep", "echo", "http"]
private let now = Date(timeIntervalSince1970: 1_764_400_000)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJobRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? JobRequest.validate(jsonBody: body, kinds: kinds, now: now)
    return 0
}
