/// The worker's API as an OpenAPI 3 document, served at `GET /openapi.yaml`. A test keeps it in
/// step with ``APIRoute/all`` both ways and checks that it parses.
public enum OpenAPIDocument {
    /// The YAML text.
    public static let yaml = #"""
openapi: 3.0.3
info:
  title: Cassandra job scheduler worker
  version: "1.0"
  description: >
    Create, activate, list, change, pause, resume, cancel, purge and inspect jobs that workers
    run from a Cassandra-backed queue. Errors are JSON objects with an `error` message and, where one request part is at
    fault, the `field` naming it. When the worker runs with an API token, every endpoint but
    /healthz and /metrics requires `Authorization: Bearer <token>`.

    Database faults (replica timeouts, too few replicas alive, an overloaded node, a lost
    connection, an operation whose outcome is unknown) answer 503 with a `Retry-After` header
    and a body saying whether repeating the request is safe (`retry_safe`). Reads, cancel,
    run, update, pause, resume and purge are always safe to repeat (a repeated run answers 409
    `queued` when the first one took effect, a repeated pause or resume answers 200 with the job,
    a repeated purge 404). A `POST /jobs` is safe to repeat only with an `idempotency_key`: clients should
    always send one, since without it a retry after a 503 may create the job twice.
security:
  - bearer: []
paths:
  /jobs:
    post:
      operationId: createJob
      summary: 'Store a job (status created), or activate it in the same call with "run": true.'
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: '#/components/schemas/JobRequest'
      responses:
        "201":
          description: The job was created.
          headers:
            Location:
              schema:
                type: string
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/JobCreated'
          links:
            GetJob:
              operationId: getJob
              parameters:
                id: '$response.body#/job_id'
            RunJob:
              operationId: runJob
              parameters:
                id: '$response.body#/job_id'
            CancelJob:
              operationId: cancelJob
              parameters:
                id: '$response.body#/job_id'
            GetJobHistory:
              operationId: getJobHistory
              parameters:
                id: '$response.body#/job_id'
            UpdateJob:
              operationId: updateJob
              parameters:
                id: '$response.body#/job_id'
            PauseJob:
              operationId: pauseJob
              parameters:
                id: '$response.body#/job_id'
            ResumeJob:
              operationId: resumeJob
              parameters:
                id: '$response.body#/job_id'
            PurgeJob:
              operationId: cancelJob
              parameters:
                id: '$response.body#/job_id'
                query.purge: true
        "200":
          description: A replay of an earlier request with the same idempotency_key; the earlier job's id.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/JobCreated'
        "400":
          $ref: '#/components/responses/BadRequest'
        "401":
          $ref: '#/components/responses/Unauthorized'
        "409":
          description: The idempotency_key was already used for a different request.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Error'
        "413":
          $ref: '#/components/responses/TooLarge'
        "503":
          $ref: '#/components/responses/Unavailable'
    get:
      operationId: listJobs
      summary: >
        List jobs, optionally of one status and kind, a page at a time; with idempotency_key, the
        job created with that key (a list of one, or empty).
      parameters:
        - name: status
          in: query
          schema:
            $ref: '#/components/schemas/JobStatus'
        - name: kind
          in: query
          description: Only jobs of this kind (a page may then hold fewer than `limit` jobs and still have a next one).
          schema:
            type: string
        - name: idempotency_key
          in: query
          description: The job created with this idempotency key; not combined with `page`.
          schema:
            type: string
        - $ref: '#/components/parameters/Limit'
        - $ref: '#/components/parameters/Page'
      responses:
        "200":
          description: One page of jobs.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/JobList'
        "400":
          $ref: '#/components/responses/BadRequest'
        "401":
          $ref: '#/components/responses/Unauthorized'
        "503":
          $ref: '#/components/responses/Unavailable'
  /jobs/{id}:
    parameters:
      - $ref: '#/components/parameters/JobID'
    get:
      operationId: getJob
      summary: Fetch a job.
      responses:
        "200":
          description: The job.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Job'
        "400":
          $ref: '#/components/responses/BadRequest'
        "401":
          $ref: '#/components/responses/Unauthorized'
        "404":
          $ref: '#/components/responses/NotFound'
        "503":
          $ref: '#/components/responses/Unavailable'
    patch:
      operationId: updateJob
      summary: >
        Change a job's schedule, timezone, payload, limits or backoff, checked as at creation. A run
        already started keeps its definition; the change applies from the next run. A queued run is
        replaced: same due time, or the new schedule's next fire when the schedule changed.
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: '#/components/schemas/JobPatch'
      responses:
        "200":
          description: The changed job.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Job'
          links:
            GetJob:
              operationId: getJob
              parameters:
                id: '$response.body#/job_id'
        "400":
          $ref: '#/components/responses/BadRequest'
        "401":
          $ref: '#/components/responses/Unauthorized'
        "404":
          $ref: '#/components/responses/NotFound'
        "409":
          $ref: '#/components/responses/Conflict'
        "413":
          $ref: '#/components/responses/TooLarge'
        "503":
          $ref: '#/components/responses/Unavailable'
    delete:
      operationId: cancelJob
      summary: >
        Cancel a job; it does not run again. A running run is cancelled and fenced out. With
        purge=true, delete a finished job (succeeded, failed, timed_out or cancelled) with its
        history and idempotency key instead; the job then answers 404.
      parameters:
        - name: purge
          in: query
          schema:
            type: boolean
            default: false
      responses:
        "200":
          description: The cancelled job, or with purge=true the purged job's id.
          content:
            application/json:
              schema:
                anyOf:
                  - $ref: '#/components/schemas/Job'
                  - $ref: '#/components/schemas/JobPurged'
        "400":
          $ref: '#/components/responses/BadRequest'
        "401":
          $ref: '#/components/responses/Unauthorized'
        "404":
          $ref: '#/components/responses/NotFound'
        "409":
          $ref: '#/components/responses/Conflict'
        "503":
          $ref: '#/components/responses/Unavailable'
  /jobs/{id}/run:
    parameters:
      - $ref: '#/components/parameters/JobID'
    post:
      operationId: runJob
      summary: >
        Activate a job: enqueue its next due run (now, its time, or its next fire). A finished
        one-shot job runs again now.
      responses:
        "200":
          description: The job, queued.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Job'
        "400":
          $ref: '#/components/responses/BadRequest'
        "401":
          $ref: '#/components/responses/Unauthorized'
        "404":
          $ref: '#/components/responses/NotFound'
        "409":
          $ref: '#/components/responses/Conflict'
        "503":
          $ref: '#/components/responses/Unavailable'
  /jobs/{id}/pause:
    parameters:
      - $ref: '#/components/parameters/JobID'
    post:
      operationId: pauseJob
      summary: >
        Pause a queued or running job: a queued run leaves the queue (status paused); a running run
        finishes, then the job is paused instead of queueing its next fire or retry (until then it
        shows status running with paused true). Pausing a paused job answers 200.
      responses:
        "200":
          description: The job, paused (or running with paused true).
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Job'
          links:
            ResumeJob:
              operationId: resumeJob
              parameters:
                id: '$response.body#/job_id'
        "400":
          $ref: '#/components/responses/BadRequest'
        "401":
          $ref: '#/components/responses/Unauthorized'
        "404":
          $ref: '#/components/responses/NotFound'
        "409":
          $ref: '#/components/responses/Conflict'
        "503":
          $ref: '#/components/responses/Unavailable'
  /jobs/{id}/resume:
    parameters:
      - $ref: '#/components/parameters/JobID'
    post:
      operationId: resumeJob
      summary: >
        Resume a paused job: a recurring one is queued at its next fire, a one-shot one at the due
        time it had when paused, or now when that has passed. Resuming a queued job, or a running
        one without a pause, answers 200 (the resume already applied).
      responses:
        "200":
          description: The job, queued (or running).
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Job'
          links:
            GetJob:
              operationId: getJob
              parameters:
                id: '$response.body#/job_id'
        "400":
          $ref: '#/components/responses/BadRequest'
        "401":
          $ref: '#/components/responses/Unauthorized'
        "404":
          $ref: '#/components/responses/NotFound'
        "409":
          $ref: '#/components/responses/Conflict'
        "503":
          $ref: '#/components/responses/Unavailable'
  /jobs/{id}/history:
    parameters:
      - $ref: '#/components/parameters/JobID'
    get:
      operationId: getJobHistory
      summary: The job's recorded runs, newest first, a page at a time.
      parameters:
        - $ref: '#/components/parameters/Limit'
        - $ref: '#/components/parameters/Page'
      responses:
        "200":
          description: The runs.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/JobHistory'
        "400":
          $ref: '#/components/responses/BadRequest'
        "401":
          $ref: '#/components/responses/Unauthorized'
        "404":
          $ref: '#/components/responses/NotFound'
        "503":
          $ref: '#/components/responses/Unavailable'
  /cluster:
    get:
      operationId: getCluster
      summary: The pool of workers now - live workers and their shards, every shard's lease (holder, fencing token, expiry) and queue (depth, lag), runs in flight, and the Cassandra nodes the session sees.
      responses:
        "200":
          description: The cluster as read from the workers, locks and status-index tables.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Cluster'
        "401":
          $ref: '#/components/responses/Unauthorized'
        "503":
          $ref: '#/components/responses/Unavailable'
  /metrics:
    get:
      operationId: metrics
      summary: Prometheus text exposition (scheduler, CQL client and HTTP metrics).
      security: []
      responses:
        "200":
          description: Metrics.
          content:
            text/plain:
              schema:
                type: string
  /healthz:
    get:
      operationId: health
      summary: Liveness; answers while the process serves HTTP.
      security: []
      responses:
        "200":
          description: Alive.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Health'
  /readyz:
    get:
      operationId: ready
      summary: >
        Readiness, answered at once from a background probe (every 2 s, 1 s deadline): the
        configured consistency and serial consistency can be met with the Cassandra nodes the
        worker is connected to, and the schema is present. Owning no shard is fine.
      responses:
        "200":
          description: Ready.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Health'
        "401":
          $ref: '#/components/responses/Unauthorized'
        "503":
          description: Not ready, with one short reason (a probe past its deadline, too few replicas up, the schema missing).
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Error'
  /openapi.yaml:
    get:
      operationId: openAPI
      summary: This document.
      responses:
        "200":
          description: The OpenAPI document.
          content:
            application/yaml:
              schema:
                type: string
        "401":
          $ref: '#/components/responses/Unauthorized'
components:
  securitySchemes:
    bearer:
      type: http
      scheme: bearer
  parameters:
    JobID:
      name: id
      in: path
      required: true
      schema:
        type: string
        format: uuid
    Limit:
      name: limit
      in: query
      description: At most this many items in the answer.
      schema:
        type: integer
        minimum: 1
        maximum: 1000
        default: 100
    Page:
      name: page
      in: query
      description: The next_page value of the previous answer.
      schema:
        type: string
        minLength: 1
  responses:
    BadRequest:
      description: Malformed or invalid input; `field` names the part at fault.
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/Error'
    Unauthorized:
      description: Missing or wrong bearer token.
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/Error'
    NotFound:
      description: No job with this id.
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/Error'
    Conflict:
      description: The job's status does not allow this; `status` is its current status and `reason` says why.
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/Error'
    TooLarge:
      description: The request body is over the size limit.
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/Error'
    Unavailable:
      description: >
        A database fault (or the schema missing); try again after `Retry-After` seconds if
        `retry_safe` is true. When it is false (a POST /jobs without an idempotency_key), the job
        may or may not have been created.
      headers:
        Retry-After:
          description: Seconds to wait before trying again.
          schema:
            type: integer
            minimum: 1
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/DatabaseFault'
  schemas:
    JobStatus:
      type: string
      enum: [created, queued, running, succeeded, failed, timed_out, cancelled, paused]
    Backoff:
      type: object
      additionalProperties: false
      required: [initial_seconds, max_seconds, multiplier]
      description: >
        The delay before retry n is initial_seconds * multiplier^(n-1), at most max_seconds, plus up
        to 20 % jitter. Default 1, 300, 2 (1 s, 2 s, 4 s, ...).
      properties:
        initial_seconds:
          type: number
          minimum: 0.001
          maximum: 86400
        max_seconds:
          type: number
          minimum: 0.001
          maximum: 86400
          description: At least initial_seconds.
        multiplier:
          type: number
          minimum: 1
          maximum: 10
    JobRequest:
      type: object
      additionalProperties: false
      required: [schedule, max_duration_seconds]
      description: >
        The payload a kind reads is checked at creation (and at update); oneOf picks the kind's
        schema by `kind` (noop when absent).
      oneOf:
        - $ref: '#/components/schemas/NoopJob'
        - $ref: '#/components/schemas/EchoJob'
        - $ref: '#/components/schemas/SleepJob'
        - $ref: '#/components/schemas/HTTPJob'
        - $ref: '#/components/schemas/ShellJob'

      properties:
        schedule:
          type: string
          description: now, an RFC 3339 time, "@every <duration>", or a 5-field cron expression.
          example: now
        timezone:
          type: string
          minLength: 1
          description: IANA time zone of a cron schedule; UTC when absent.
        payload:
          description: JSON text in a string (e.g. "{}"), or any JSON value; at most 65536 bytes.
        max_duration_seconds:
          type: integer
          minimum: 1
          maximum: 604800
        kind:
          type: string
          enum: [noop, sleep, echo, http, shell]
          description: The handler; shell only when the worker enables shell jobs. Default noop.
        max_attempts:
          type: integer
          minimum: 1
          maximum: 100
          default: 3
        idempotency_key:
          type: string
          maxLength: 256
          description: >
            Send one with every creation: a repeat with the same key and request answers 200 with
            the first job instead of creating another, which makes retries after a 503 or a lost
            answer safe.
        run:
          type: boolean
          default: false
          description: Activate the job in the same call.
        backoff:
          $ref: '#/components/schemas/Backoff'
    NoopJob:
      type: object
      description: Kind noop (also when kind is absent) does nothing; any payload.
      properties:
        kind:
          type: string
          enum: [noop]
    EchoJob:
      type: object
      description: Kind echo returns the payload as the run's output; any payload.
      required: [kind]
      properties:
        kind:
          type: string
          enum: [echo]
    SleepJob:
      type: object
      required: [kind, payload]
      properties:
        kind:
          type: string
          enum: [sleep]
        payload:
          oneOf:
            - $ref: '#/components/schemas/SleepPayload'
            - type: string
              description: The same object as JSON text.
    SleepPayload:
      type: object
      description: Sleeps, then succeeds.
      required: [seconds]
      properties:
        seconds:
          type: number
          minimum: 0
          maximum: 604800
    HTTPJob:
      type: object
      required: [kind, payload]
      properties:
        kind:
          type: string
          enum: [http]
        payload:
          oneOf:
            - $ref: '#/components/schemas/HTTPPayload'
            - type: string
              description: The same object as JSON text.
    HTTPPayload:
      type: object
      description: >
        POSTs `body` (the whole payload when absent) to `url` with headers X-Job-Id, X-Job-Attempt
        and X-Fencing-Token; a 2xx answer succeeds.
      required: [url]
      properties:
        url:
          type: string
          description: An http or https URL.
        timeout_seconds:
          type: number
          exclusiveMinimum: true
          minimum: 0
          maximum: 604800
        body:
          description: Any JSON value; a string is sent as is.
    ShellJob:
      type: object
      required: [kind, payload]
      properties:
        kind:
          type: string
          enum: [shell]
        payload:
          oneOf:
            - $ref: '#/components/schemas/ShellPayload'
            - type: string
              description: The same object as JSON text.
    ShellPayload:
      type: object
      description: Runs a program (only where the worker enables shell jobs).
      required: [command]
      properties:
        command:
          type: string
          minLength: 1
        args:
          type: array
          items:
            type: string
        shell:
          type: boolean
          description: Run command with /bin/sh -c.
    JobPatch:
      type: object
      additionalProperties: false
      minProperties: 1
      description: Any of the fields below; each has its POST /jobs meaning and checks.
      properties:
        schedule:
          type: string
        timezone:
          type: string
          minLength: 1
        payload:
          description: JSON text in a string, or any JSON value; checked against the job's kind.
        max_duration_seconds:
          type: integer
          minimum: 1
          maximum: 604800
        max_attempts:
          type: integer
          minimum: 1
          maximum: 100
        backoff:
          $ref: '#/components/schemas/Backoff'
    JobPurged:
      type: object
      required: [job_id, purged]
      properties:
        job_id:
          type: string
          format: uuid
        purged:
          type: boolean
    JobCreated:
      type: object
      required: [job_id]
      properties:
        job_id:
          type: string
          format: uuid
        status:
          $ref: '#/components/schemas/JobStatus'
    Job:
      type: object
      required: [job_id, status, kind, schedule, timezone, payload, max_duration_seconds, max_attempts, attempt, tries]
      properties:
        job_id:
          type: string
          format: uuid
        status:
          $ref: '#/components/schemas/JobStatus'
        kind:
          type: string
        schedule:
          type: string
        timezone:
          type: string
        payload:
          type: string
          description: JSON text.
        max_duration_seconds:
          type: integer
        max_attempts:
          type: integer
        attempt:
          type: integer
          description: The fencing token of the latest run (0 before the first run).
        tries:
          type: integer
          description: Runs of the current activation.
        next_due_at:
          type: string
          format: date-time
        last_fire_at:
          type: string
          format: date-time
        last_outcome:
          type: string
          enum: [succeeded, failed, timed_out, cancelled]
        last_error:
          type: string
        lease_owner:
          type: string
        lease_expires_at:
          type: string
          format: date-time
        started_at:
          type: string
          format: date-time
        finished_at:
          type: string
          format: date-time
        idempotency_key:
          type: string
        created_at:
          type: string
          format: date-time
        updated_at:
          type: string
          format: date-time
        backoff:
          $ref: '#/components/schemas/Backoff'
        paused:
          type: boolean
          description: A pause was asked for while a run is in flight; the job is paused once it ends.
    JobList:
      type: object
      required: [jobs]
      properties:
        jobs:
          type: array
          items:
            $ref: '#/components/schemas/Job'
        next_page:
          type: string
          nullable: true
          description: Pass as `page` for the next page; null on the last page.
    Run:
      type: object
      required: [attempt, status]
      properties:
        attempt:
          type: integer
          description: The run's fencing token.
        status:
          $ref: '#/components/schemas/JobStatus'
        worker_id:
          type: string
        scheduled_at:
          type: string
          format: date-time
        started_at:
          type: string
          format: date-time
        finished_at:
          type: string
          format: date-time
        error:
          type: string
          description: Why the run failed, timed out or was cancelled.
        output:
          type: string
          description: The last 4 KiB of the run's output (shell stdout and stderr interleaved, http response body).
        exit_code:
          type: integer
          description: Exit status of a shell run's process, when it exited.
        http_status:
          type: integer
          description: Response status of an http run, when a response came.
    JobHistory:
      type: object
      required: [job_id, runs]
      properties:
        job_id:
          type: string
          format: uuid
        runs:
          type: array
          items:
            $ref: '#/components/schemas/Run'
        next_page:
          type: string
          nullable: true
          description: Pass as `page` for the next page; null on the last page.
    Cluster:
      type: object
      required: [read_at, pool, workers, shards, queue_complete, runs_in_flight, runs, nodes]
      properties:
        read_at:
          type: string
          format: date-time
        pool:
          type: string
        workers:
          type: array
          items:
            $ref: '#/components/schemas/ClusterWorker'
        shards:
          type: array
          items:
            $ref: '#/components/schemas/ClusterShard'
        queue_complete:
          type: boolean
          description: False when the queue holds more than 20,000 jobs and only that many were counted (depths and lags are then lower bounds).
        runs_in_flight:
          type: integer
        runs:
          type: array
          description: Runs being executed, oldest first (at most 100).
          items:
            $ref: '#/components/schemas/ClusterRun'
        nodes:
          type: array
          description: The Cassandra nodes the worker's session knows.
          items:
            $ref: '#/components/schemas/ClusterNode'
    ClusterWorker:
      type: object
      required: [worker_id, shards, runs]
      properties:
        worker_id:
          type: string
        shards:
          type: array
          items:
            type: integer
          description: The shards whose unexpired lease this worker holds.
        runs:
          type: integer
          description: Runs in flight on this worker (among those listed in runs).
    ClusterShard:
      type: object
      required: [shard, lock, owner, fencing_token, lease_expires_at, queue_depth, lag_seconds]
      properties:
        shard:
          type: integer
        lock:
          type: string
          description: The lock name of the shard's lease (shard-<n>).
        owner:
          type: string
          nullable: true
          description: The worker holding an unexpired lease; null when released, expired or never taken.
        fencing_token:
          type: integer
          format: int64
        lease_expires_at:
          type: string
          nullable: true
          format: date-time
        queue_depth:
          type: integer
          description: Queued jobs of the shard.
        lag_seconds:
          type: number
          description: How long the shard's oldest queued run is overdue (0 when none is due).
    ClusterRun:
      type: object
      required: [job_id, kind, attempt, worker_id, started_at, lease_expires_at]
      properties:
        job_id:
          type: string
          format: uuid
        kind:
          type: string
        attempt:
          type: integer
          format: int64
        worker_id:
          type: string
          nullable: true
        started_at:
          type: string
          nullable: true
          format: date-time
        lease_expires_at:
          type: string
          nullable: true
          format: date-time
    ClusterNode:
      type: object
      required: [address, datacenter, up]
      properties:
        address:
          type: string
        datacenter:
          type: string
          nullable: true
        up:
          type: boolean
    Health:
      type: object
      required: [status]
      properties:
        status:
          type: string
    DatabaseFault:
      type: object
      required: [error, retry_safe, cause, retry_after_seconds]
      properties:
        error:
          type: string
        retry_safe:
          type: boolean
          description: Whether repeating the request cannot apply it twice.
        cause:
          type: string
          description: >
            unavailable, write_timeout, read_timeout, write_failure, read_failure, overloaded,
            bootstrapping, server_error, unprepared, client_timeout, outcome_unknown, connection,
            not_authorized, tls, shutting_down or schema_missing.
        retry_after_seconds:
          type: integer
          description: The Retry-After header's value.
    Error:
      type: object
      required: [error]
      properties:
        error:
          type: string
        field:
          type: string
        status:
          $ref: '#/components/schemas/JobStatus'
        reason:
          type: string
          description: Why a 409 refused the request.
"""#
}
