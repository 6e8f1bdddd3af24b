@testable import CQLNode
import CQLWire
import Foundation
import Testing
import TestSupport

/// Connections whose I/O runs on a ``CQLIOExecutor``, with tasks preferring it (and tasks that do not).
@Suite("CQLIOExecutor: tasks on the connection's I/O thread")
struct IOExecutorTests {
    static func connect(_ server: TestServer, _ executor: CQLIOExecutor) async throws -> CQLConnection {
        try await CQLConnection.connect(host: "127.0.0.1", port: server.port, configuration: .init(ioExecutor: executor))
    }

    /// What one request task saw: whether its answer was its own, and where it ran after the answer.
    struct Outcome: Sendable {
        var matched: Bool
        var onExecutor: Bool
        var preferred: Bool
    }

    @Test("tasks preferring the executor run on its thread and each gets its own answer")
    func tasksRunOnTheIOThread() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        let executor = CQLIOExecutor(name: "test-io")
        defer { executor.shutdown() }
        let connection = try await Self.connect(server, executor)
        defer { connection.close() }
        #expect(connection.ioExecutor === executor)
        #expect(!executor.isCurrentThread)
        let outcomes = try await withTaskExecutorPreference(executor) {
            try await withThrowingTaskGroup(of: Outcome.self) { group in
                for index in 0..<500 {
                    group.addTask {
                        let text = "SELECT \(index)"
                        let answer = try echoed(try await connection.send(echoQuery(text)))
                        return Outcome(matched: answer == text, onExecutor: executor.isCurrentThread, preferred: true)
                    }
                }
                var outcomes: [Outcome] = []
                for try await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
        }
        #expect(outcomes.count == 500)
        #expect(outcomes.filter { !$0.matched }.count == 0)
        #expect(outcomes.filter { !$0.onExecutor }.count == 0)
        let single = Task(executorPreference: executor) {
            let answer = try echoed(try await connection.send(echoQuery("SELECT one")))
            return (answer, executor.isCurrentThread)
        }
        let (answer, onExecutor) = try await single.value
        #expect(answer == "SELECT one")
        #expect(onExecutor)
        #expect(connection.inFlightCount == 0)
    }

    @Test("requests from the executor and from the pool share one connection")
    func mixedWithPoolTasks() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        let executor = CQLIOExecutor()
        defer { executor.shutdown() }
        let connection = try await Self.connect(server, executor)
        defer { connection.close() }
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for index in 0..<600 {
                let preferred = index % 2 == 0
                let work: @Sendable () async throws -> Outcome = {
                    let text = "SELECT \(index)"
                    let answer = try echoed(try await connection.send(echoQuery(text)))
                    return Outcome(matched: answer == text, onExecutor: executor.isCurrentThread, preferred: preferred)
                }
                if preferred {
                    group.addTask(executorPreference: executor, operation: work)
                } else {
                    group.addTask(operation: work)
                }
            }
            var outcomes: [Outcome] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        #expect(outcomes.count == 600)
        #expect(outcomes.filter { !$0.matched }.count == 0)
        #expect(outcomes.filter { $0.preferred && !$0.onExecutor }.count == 0)
        #expect(outcomes.filter { !$0.preferred && $0.onExecutor }.count == 0)
        #expect(connection.inFlightCount == 0)
    }

    @Test("on the executor a request still times out, is cancelled, and leaves the connection usable")
    func timeoutAndCancellation() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        server.faults.add(.init(match: .cqlContains("SILENT"), action: .timeout))
        let executor = CQLIOExecutor()
        defer { executor.shutdown() }
        let connection = try await Self.connect(server, executor)
        defer { connection.close() }
        let timedOut = Task(executorPreference: executor) { () -> (Bool, Bool) in
            do {
                _ = try await connection.send(echoQuery("SILENT 1"), timeout: .milliseconds(20))
                return (false, executor.isCurrentThread)
            } catch CQLError.requestTimedOut {
                return (true, executor.isCurrentThread)
            }
        }
        let (didTimeOut, resumedOnExecutor) = try await timedOut.value
        #expect(didTimeOut)
        #expect(resumedOnExecutor)

        let silent = Task(executorPreference: executor) { try await connection.send(echoQuery("SILENT 2")) }
        #expect(await eventually { connection.inFlightCount == 2 })
        silent.cancel()
        await #expect(throws: CancellationError.self) { _ = try await silent.value }
        // Both ids stay reserved for answers that never come; the others still work from the executor.
        #expect(connection.inFlightCount == 2)
        let after = Task(executorPreference: executor) { try echoed(try await connection.send(echoQuery("SELECT after"))) }
        #expect(try await after.value == "SELECT after")
    }

    @Test("frames larger than the socket buffers, sent from the executor, go through whole (partial writes)")
    func largeFramesFromTheExecutor() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        let executor = CQLIOExecutor()
        defer { executor.shutdown() }
        let connection = try await CQLConnection.connect(host: "127.0.0.1", port: server.port,
                                                         configuration: .init(compression: [], ioExecutor: executor))
        defer { connection.close() }
        let matched = try await withTaskExecutorPreference(executor) { try await echoLargeQueries(connection, count: 16) }
        #expect(matched == 16)
    }

    @Test("a connection dropped under executor tasks fails them with connectionClosed, and the session reconnects")
    func droppedConnectionReconnects() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        let slowRule = server.faults.add(.init(match: .cqlContains("SLOW"), action: .delay(.seconds(5))))
        var configuration = SessionTests.configuration([server.endpoint])
        configuration.connectionsPerNode = 1
        configuration.usesIOExecutor = true
        let session = try await CQLSession.connect(configuration)
        defer { session.close() }
        let executor = try #require(session.ioExecutor)
        let slow = (0..<8).map { index in
            Task(executorPreference: executor) { () -> (Bool, Bool) in
                do {
                    _ = try await session.execute("UPDATE SLOW \(index)")
                    return (false, executor.isCurrentThread)
                } catch CQLError.connectionClosed {
                    return (true, executor.isCurrentThread)
                }
            }
        }
        // The node holds all eight before answering: they are in flight when the connection drops.
        #expect(await eventually { server.faults.firedCount(slowRule) == 8 })
        server.faults.add(.init(match: .cqlContains("DROP"), action: .dropConnection))
        await #expect {
            try await session.withIOExecutor { _ = try await session.execute("UPDATE DROP") }
        } throws: { error in
            if case .connectionClosed = error as? CQLError { return true }
            return false
        }
        for task in slow {
            let (closed, onExecutor) = try await task.value
            #expect(closed)
            #expect(onExecutor)
        }
        let back = try await session.withIOExecutor { () async throws -> (String?, Bool) in
            #expect(await eventually { (try? await session.execute("SELECT back")) != nil })
            return (try echoed(try await session.execute("SELECT back")), executor.isCurrentThread)
        }
        #expect(back.0 == "SELECT back")
        #expect(back.1)
    }

    @Test("after shutdown the connection is closed and tasks preferring the executor still run")
    func shutdown() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        server.faults.add(.init(match: .cqlContains("SLOW"), action: .delay(.seconds(5))))
        let executor = CQLIOExecutor()
        let connection = try await Self.connect(server, executor)
        defer { connection.close() }
        let slow = Task(executorPreference: executor) { try await connection.send(echoQuery("SLOW")) }
        #expect(await eventually { connection.inFlightCount == 1 })
        executor.shutdown()
        await #expect {
            _ = try await slow.value
        } throws: { error in
            if case .connectionClosed = error as? CQLError { return true }
            return false
        }
        #expect(connection.isClosed)
        let later = Task(executorPreference: executor) { executor.isCurrentThread }
        #expect(await later.value == false)
    }

    @Test("a connection opened on a shut-down executor reads on a thread of its own and works")
    func connectAfterShutdown() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        let executor = CQLIOExecutor()
        executor.shutdown()
        let connection = try await Self.connect(server, executor)
        defer { connection.close() }
        #expect(connection.ioExecutor == nil)
        let answers = try await withTaskExecutorPreference(executor) {
            try await withThrowingTaskGroup(of: String?.self) { group in
                for index in 0..<50 {
                    group.addTask { try echoed(try await connection.send(echoQuery("SELECT \(index)"))) }
                }
                var answers: Set<String> = []
                for try await answer in group { if let answer { answers.insert(answer) } }
                return answers
            }
        }
        #expect(answers.count == 50)
    }

    @Test("a session without the executor has none, and withIOExecutor runs its body as it is")
    func disabledByDefault() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        let session = try await CQLSession.connect(SessionTests.configuration([server.endpoint]))
        defer { session.close() }
        #expect(session.ioExecutor == nil)
        let answer = try await session.withIOExecutor { try echoed(try await session.execute("SELECT plain")) }
        #expect(answer == "SELECT plain")
    }
}

