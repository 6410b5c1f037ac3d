import Broker
import Logging
import Testing

/// Strategies, restart policies, intensity and reports of the static ``Supervisor``, with injected faults.
@Suite(.timeLimit(.minutes(1)))
struct SupervisorTests {
    private func makeSupervisor(
        _ strategy: RestartStrategy = .oneForOne,
        maxRestarts: Int = 3,
        children: [ChildSpec<String>],
        recorder: EventRecorder,
        logger: Logger = RecordingLogHandler.silent
    ) -> Supervisor<String> {
        Supervisor(
            strategy: strategy,
            maxRestarts: maxRestarts,
            period: .seconds(60),
            children: children,
            logger: logger,
            onEvent: recorder.onEvent
        )
    }

    // MARK: - Strategies

    @Test func oneForOneRestartsOnlyTheFailedChild() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = self.makeSupervisor(
            .oneForOne,
            children: ["A", "B", "C"].map { children.spec($0) },
            recorder: recorder
        )

        try await supervisor.running {
            try await children.waitUntilRunning("A", "B", "C")
            children.crash("B")
            try await recorder.require(.started("B", 2))
        }

        let log = await recorder.finish()
        #expect(
            log == [
                .started("A", 1), .started("B", 1), .started("C", 1),
                .exited("B", 1, .abnormal), .restarting("B", count: 1), .started("B", 2),
                .exited("C", 1, .shutdown), .exited("B", 2, .shutdown), .exited("A", 1, .shutdown),
            ]
        )
        #expect(children.journal(of: "A") == [.started("A", 1), .stopRequested("A", 1), .ended("A", 1, .stopped)])
    }

    @Test func oneForAllStopsTheOthersInReverseOrderAndStartsAllAgain() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = self.makeSupervisor(
            .oneForAll,
            children: ["A", "B", "C"].map { children.spec($0) },
            recorder: recorder
        )

        try await supervisor.running {
            try await children.waitUntilRunning("A", "B", "C")
            children.crash("B")
            try await children.waitUntilRunning("A", "B", "C", incarnation: 2)
        }

        let log = await recorder.finish()
        #expect(
            log == [
                .started("A", 1), .started("B", 1), .started("C", 1),
                .exited("B", 1, .abnormal), .restarting("B", count: 1),
                .exited("C", 1, .shutdown), .exited("A", 1, .shutdown),
                .started("A", 2), .started("B", 2), .started("C", 2),
                .exited("C", 2, .shutdown), .exited("B", 2, .shutdown), .exited("A", 2, .shutdown),
            ]
        )
        #expect(
            children.journal(of: "A") == [
                .started("A", 1), .stopRequested("A", 1), .ended("A", 1, .stopped),
                .started("A", 2), .stopRequested("A", 2), .ended("A", 2, .stopped),
            ]
        )
    }

    @Test func oneForAllDoesNotStartAgainATemporarySiblingItStopped() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = self.makeSupervisor(
            .oneForAll,
            children: [children.spec("A"), children.spec("T", restart: .temporary), children.spec("B")],
            recorder: recorder
        )

        try await supervisor.running {
            try await recorder.require(.started("B", 1))
            children.crash("B")
            try await recorder.require(.started("B", 2))
        }

        let log = await recorder.finish()
        #expect(
            log == [
                .started("A", 1), .started("T", 1), .started("B", 1),
                .exited("B", 1, .abnormal), .restarting("B", count: 1),
                .exited("T", 1, .shutdown), .exited("A", 1, .shutdown),
                .started("A", 2), .started("B", 2),
                .exited("B", 2, .shutdown), .exited("A", 2, .shutdown),
            ]
        )
    }

    @Test func restForOneRestartsTheFailedChildAndLaterSiblingsOnly() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = self.makeSupervisor(
            .restForOne,
            children: ["A", "B", "C", "D"].map { children.spec($0) },
            recorder: recorder
        )

        try await supervisor.running {
            try await recorder.require(.started("D", 1))
            children.crash("B")
            try await recorder.require(.started("D", 2))
        }

        let log = await recorder.finish()
        #expect(
            log == [
                .started("A", 1), .started("B", 1), .started("C", 1), .started("D", 1),
                .exited("B", 1, .abnormal), .restarting("B", count: 1),
                .exited("D", 1, .shutdown), .exited("C", 1, .shutdown),
                .started("B", 2), .started("C", 2), .started("D", 2),
                .exited("D", 2, .shutdown), .exited("C", 2, .shutdown), .exited("B", 2, .shutdown),
                .exited("A", 1, .shutdown),
            ]
        )
    }

    // MARK: - Restart policies

    @Test func permanentChildIsRestartedAfterANormalExit() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = self.makeSupervisor(children: [children.spec("P", restart: .permanent)], recorder: recorder)

        try await supervisor.running {
            try await recorder.require(.started("P", 1))
            children.exitNormally("P")
            try await recorder.require(.started("P", 2))
        }

        let log = await recorder.finish()
        #expect(
            log == [
                .started("P", 1), .exited("P", 1, .normal), .restarting("P", count: 1), .started("P", 2),
                .exited("P", 2, .shutdown),
            ]
        )
    }

    @Test func transientChildIsRestartedAfterACrashButNotAfterANormalExit() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = self.makeSupervisor(
            children: [children.spec("crashes", restart: .transient), children.spec("ends", restart: .transient)],
            recorder: recorder
        )

        try await supervisor.running {
            try await recorder.require(.started("ends", 1))
            children.exitNormally("ends")
            try await recorder.require(.exited("ends", 1, .normal))
            // The loop handles exits in order, so once this restart is seen, "ends" was decided.
            children.crash("crashes")
            try await recorder.require(.started("crashes", 2))
        }

        let log = await recorder.finish()
        #expect(
            log == [
                .started("crashes", 1), .started("ends", 1),
                .exited("ends", 1, .normal),
                .exited("crashes", 1, .abnormal), .restarting("crashes", count: 1), .started("crashes", 2),
                .exited("crashes", 2, .shutdown),
            ]
        )
    }

    @Test func temporaryChildIsNeverRestarted() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = self.makeSupervisor(
            children: [children.spec("T", restart: .temporary), children.spec("P")],
            recorder: recorder
        )

        try await supervisor.running {
            try await recorder.require(.started("P", 1))
            children.crash("T")
            try await recorder.require(.exited("T", 1, .abnormal))
            children.crash("P")
            try await recorder.require(.started("P", 2))
        }

        let log = await recorder.finish()
        #expect(
            log == [
                .started("T", 1), .started("P", 1),
                .exited("T", 1, .abnormal),
                .exited("P", 1, .abnormal), .restarting("P", count: 1), .started("P", 2),
                .exited("P", 2, .shutdown),
            ]
        )
        #expect(children.journal(of: "T") == [.started("T", 1), .ended("T", 1, .crashed)])
    }

    // MARK: - Intensity

    @Test func restartsUpToTheIntensityAndEscalatesOnTheNextOne() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = self.makeSupervisor(
            maxRestarts: 2,
            children: ["A", "B", "C"].map { children.spec($0) },
            recorder: recorder
        )

        let error = try await supervisor.failure {
            try await children.waitUntilRunning("A", "B", "C")
            children.crash("A")
            try await recorder.require(.started("A", 2))
            children.crash("A")
            try await recorder.require(.started("A", 3))
            children.crash("A")
        }

        let thrown = try #require(error as? SupervisorError<String>)
        guard case .intensityExceeded(let child) = thrown else {
            Issue.record("expected intensityExceeded, got \(thrown)")
            return
        }
        #expect(child == "A")
        let log = await recorder.finish()
        #expect(
            log == [
                .started("A", 1), .started("B", 1), .started("C", 1),
                .exited("A", 1, .abnormal), .restarting("A", count: 1), .started("A", 2),
                .exited("A", 2, .abnormal), .restarting("A", count: 2), .started("A", 3),
                .exited("A", 3, .abnormal), .escalated("A"),
                .exited("C", 1, .shutdown), .exited("B", 1, .shutdown),
            ]
        )
        #expect(children.journal(of: "B").last == .ended("B", 1, .stopped))
        #expect(children.journal(of: "C").last == .ended("C", 1, .stopped))
    }

    @Test func failedRestartIsRetriedAndCountsTowardTheIntensity() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = self.makeSupervisor(maxRestarts: 3, children: [children.spec("A")], recorder: recorder)

        try await supervisor.running {
            try await recorder.require(.started("A", 1))
            children.failStarts(of: "A", count: 1)
            children.crash("A")
            try await recorder.require(.started("A", 2))
        }

        let log = await recorder.finish()
        #expect(
            log == [
                .started("A", 1),
                .exited("A", 1, .abnormal), .restarting("A", count: 1), .startFailed("A"),
                .restarting("A", count: 2), .started("A", 2),
                .exited("A", 2, .shutdown),
            ]
        )
    }

    @Test func restartThatKeepsFailingToStartEscalates() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = self.makeSupervisor(
            maxRestarts: 2,
            children: [children.spec("A"), children.spec("B")],
            recorder: recorder
        )

        let error = try await supervisor.failure {
            try await recorder.require(.started("B", 1))
            children.failStarts(of: "A", count: 100)
            children.crash("A")
        }

        let thrown = try #require(error as? SupervisorError<String>)
        guard case .intensityExceeded(child: "A") = thrown else {
            Issue.record("expected intensityExceeded(A), got \(thrown)")
            return
        }
        let log = await recorder.finish()
        #expect(
            log == [
                .started("A", 1), .started("B", 1),
                .exited("A", 1, .abnormal), .restarting("A", count: 1), .startFailed("A"),
                .restarting("A", count: 2), .startFailed("A"),
                .escalated("A"), .exited("B", 1, .shutdown),
            ]
        )
    }

    // MARK: - Starting

    @Test func failedFirstStartStopsTheStartedChildrenAndThrows() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        children.failStarts(of: "B", count: 1)
        let supervisor = self.makeSupervisor(children: ["A", "B", "C"].map { children.spec($0) }, recorder: recorder)

        let error = try await supervisor.failure {}

        let thrown = try #require(error as? SupervisorError<String>)
        guard case .startFailed(child: "B", let underlying) = thrown else {
            Issue.record("expected startFailed(B), got \(thrown)")
            return
        }
        #expect(underlying as? InjectedFault == InjectedFault(childID: "B"))
        let log = await recorder.finish()
        #expect(log == [.started("A", 1), .startFailed("B"), .exited("A", 1, .shutdown)])
        #expect(children.journal(of: "C").isEmpty)
    }

    @Test func duplicateChildIDsAreRejected() async throws {
        let children = TestChildren()
        let supervisor = self.makeSupervisor(
            children: [children.spec("A"), children.spec("A")],
            recorder: EventRecorder()
        )

        let error = try await supervisor.failure {}

        let thrown = try #require(error as? SupervisorError<String>)
        guard case .duplicateChild(child: "A") = thrown else {
            Issue.record("expected duplicateChild(A), got \(thrown)")
            return
        }
        #expect(children.journal.isEmpty)
    }

    @Test func runningASupervisorTwiceIsRejected() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = self.makeSupervisor(children: [children.spec("A")], recorder: recorder)

        try await supervisor.running {
            try await recorder.require(.started("A", 1))
            await #expect(throws: SupervisorError<String>.self) {
                try await supervisor.run()
            }
        }
    }

    // MARK: - Reports

    @Test func everyRestartIsLoggedAtWarningWithChildReasonAndCount() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let logs = RecordingLogHandler.Store()
        let supervisor = self.makeSupervisor(
            children: [children.spec("A"), children.spec("B")],
            recorder: recorder,
            logger: RecordingLogHandler.logger(into: logs)
        )

        try await supervisor.running {
            try await recorder.require(.started("B", 1))
            children.crash("A")
            try await recorder.require(.started("A", 2))
            children.crash("A")
            try await recorder.require(.started("A", 3))
        }

        let warnings = logs.all.filter { $0.level == .warning }
        #expect(warnings.count == 2)
        #expect(warnings.map { $0.metadata["broker.child_id"] } == ["A", "A"])
        #expect(warnings.map { $0.metadata["broker.restart_count"] } == ["1", "2"])
        for warning in warnings {
            #expect(warning.metadata["broker.exit_reason"]?.description.hasPrefix("abnormal(") == true)
        }
    }
}
