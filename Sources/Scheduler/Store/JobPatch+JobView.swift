public import Foundation

// Beside the job model (Store/), not in Jobs/: the Jobs folder needs nothing from the store, so
// scripts/fuzz.sh compiles it alone for the `jobrequest` target.
extension JobPatch {
    /// The job's definition with this patch applied, validated as `POST /jobs` validates; `kinds` are the
    /// registered kinds (the job's own kind is accepted even where this worker does not run it).
    public func applied(to job: JobView, kinds: Set<String>, now: Date) throws(JobValidationError) -> ValidatedJob {
        let merged = JobRequest(
            schedule: schedule ?? job.schedule, timezone: timezone ?? job.timezone, payload: payload ?? .string(job.payload),
            maxDurationSeconds: maxDurationSeconds ?? Int64(job.maxDurationSeconds), kind: job.kind,
            maxAttempts: maxAttempts ?? Int64(job.maxAttempts), idempotencyKey: nil, run: nil, backoff: backoff)
        var validated = try merged.validated(kinds: kinds.union([job.kind]), now: now)
        if backoff == nil { validated.backoff = job.backoff }
        validated.idempotencyKey = job.idempotencyKey
        return validated
    }
}
