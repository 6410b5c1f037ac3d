import Broker
import ServiceLifecycle
import Testing

/// Ordered shutdown of the static ``Supervisor``: `stop()`, timeouts, graceful shutdown and nesting.
@Suite(.timeLimit(.minutes(1)))
struct SupervisorShutdownTests {
    @Test func stopStopsChildrenOneAtATimeInReverseStartOrder() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = Supervisor(
            children: ["A", "B", "C"].map { children.spec($0) },
            logger: RecordingLogHandler.silent,
            onEvent: recorder.onEvent
        )

        try await supervisor.running {
            try await children.waitUntilRunning("A", "B", "C")
        }

        // Each child is asked to stop only after the one started after it has ended.
        #expect(
            children.journal == [
                .started("A", 1), .started("B", 1), .started("C", 1),
                .stopRequested("C", 1), .ended("C", 1, .stopped),
                .stopRequested("B", 1), .ended("B", 1, .stopped),
                .stopRequested("A", 1), .ended("A", 1, .stopped),
            ]
        )
        let log = await recorder.finish()
        #expect(log.suffix(3) == [.exited("C", 1, .shutdown), .exited("B", 1, .shutdown), .exited("A", 1, .shutdown)])
    }

    @Test func childThatIgnoresStopIsCancelledAfterItsTimeout() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let timeout = ShutdownPolicy.graceful(timeout: .milliseconds(200))
        let supervisor = Supervisor(
            children: [
                children.spec("polite", shutdown: timeout, onStop: .exit),
                children.spec("stubborn", shutdown: timeout, onStop: .ignore),
            ],
            logger: RecordingLogHandler.silent,
            onEvent: recorder.onEvent
        )

        try await supervisor.running {
            try await children.waitUntilRunning("polite", "stubborn")
        }

        #expect(
            children.journal == [
                .started("polite", 1), .started("stubborn", 1),
                .stopRequested("stubborn", 1), .ended("stubborn", 1, .cancelled),
                .stopRequested("polite", 1), .ended("polite", 1, .stopped),
            ]
        )
        let log = await recorder.finish()
        #expect(log.suffix(2) == [.exited("stubborn", 1, .shutdown), .exited("polite", 1, .shutdown)])
    }

    @Test func cancelImmediatelyCancelsAChildWithoutAskingItToStop() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = Supervisor(
            children: [children.spec("A", shutdown: .cancelImmediately)],
            logger: RecordingLogHandler.silent,
            onEvent: recorder.onEvent
        )

        try await supervisor.running {
            try await children.waitUntilRunning("A")
        }

        #expect(children.journal == [.started("A", 1), .ended("A", 1, .cancelled)])
        let log = await recorder.finish()
        #expect(log.last == .exited("A", 1, .shutdown))
    }

    @Test func gracefulShutdownOfAServiceGroupStopsChildrenInReverseStartOrder() async throws {
        let children = TestChildren()
        let recorder = EventRecorder()
        let supervisor = Supervisor(
            children: ["A", "B", "C"].map { children.spec($0) },
            logger: RecordingLogHandler.silent,
            onEvent: recorder.onEvent
        )
        let serviceGroup = ServiceGroup(services: [supervisor], logger: RecordingLogHandler.silent)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await serviceGroup.run()
            }
            try await children.waitUntilRunning("A", "B", "C")
            await serviceGroup.triggerGracefulShutdown()
            try await group.waitForAll()
        }

        #expect(
            children.journal == [
                .started("A", 1), .started("B", 1), .started("C", 1),
                .stopRequested("C", 1), .ended("C", 1, .stopped),
                .stopRequested("B", 1), .ended("B", 1, .stopped),
                .stopRequested("A", 1), .ended("A", 1, .stopped),
            ]
        )
    }

    @Test func nestedSupervisorLeavesGracefulShutdownToItsParent() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let silent = RecordingLogHandler.silent
        let inner = ChildSpec<String>(id: "inner", restart: .permanent, shutdown: .graceful(timeout: .seconds(30))) {
            Supervisor(children: [children.spec("X"), children.spec("Y")], logger: silent)
        }
        // "B" ignores stop(), so the parent waits out its timeout before it reaches the inner
        // supervisor. An inner supervisor that heard graceful shutdown itself would stop X and Y
        // during that wait, before B ends.
        let supervisor = Supervisor(
            children: [
                children.spec("A"),
                inner,
                children.spec("B", shutdown: .graceful(timeout: .milliseconds(300)), onStop: .ignore),
            ],
            logger: silent,
            onEvent: recorder.onEvent
        )
        let serviceGroup = ServiceGroup(services: [supervisor], logger: silent)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await serviceGroup.run()
            }
            try await children.waitUntilRunning("A", "X", "Y", "B")
            await serviceGroup.triggerGracefulShutdown()
            try await group.waitForAll()
        }

        let stops = children.journal.filter { entry in
            if case .started = entry {
                return false
            }
            return true
        }
        #expect(
            stops == [
                .stopRequested("B", 1), .ended("B", 1, .cancelled),
                .stopRequested("Y", 1), .ended("Y", 1, .stopped),
                .stopRequested("X", 1), .ended("X", 1, .stopped),
                .stopRequested("A", 1), .ended("A", 1, .stopped),
            ]
        )
        let log = await recorder.finish()
        #expect(
            log.suffix(3) == [.exited("B", 1, .shutdown), .exited("inner", 1, .shutdown), .exited("A", 1, .shutdown)]
        )
    }

    @Test func crashOfANestedSupervisorPastItsIntensityIsACrashForItsParent() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        var innerRecorder = EventRecorder()
        let innerOnEvent = innerRecorder.onEvent
        let silent = RecordingLogHandler.silent
        let inner = ChildSpec<String>(id: "inner", restart: .permanent, shutdown: .graceful(timeout: .seconds(30))) {
            Supervisor(maxRestarts: 0, children: [children.spec("X")], logger: silent, onEvent: innerOnEvent)
        }
        let supervisor = Supervisor(
            maxRestarts: 3,
            period: .seconds(60),
            children: [inner],
            logger: silent,
            onEvent: recorder.onEvent
        )

        try await supervisor.running {
            try await children.waitUntilRunning("X")
            children.crash("X")
            try await innerRecorder.require(.escalated("X"))
            try await children.waitUntilRunning("X", incarnation: 2)
        }

        let log = await recorder.finish()
        #expect(
            log == [
                .started("inner", 1), .exited("inner", 1, .abnormal), .restarting("inner", count: 1),
                .started("inner", 2), .exited("inner", 2, .shutdown),
            ]
        )
        #expect(
            children.journal(of: "X").map(\.description) == [
                "started(X#1)", "ended(X#1, crashed)", "started(X#2)", "stopRequested(X#2)", "ended(X#2, stopped)",
            ]
        )
    }
}
