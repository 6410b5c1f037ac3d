import Broker
import ServiceLifecycle
import Testing

/// Children started on demand under ``DynamicSupervisor``, with injected faults.
@Suite(.timeLimit(.minutes(1)))
struct DynamicSupervisorTests {
    private func makeSupervisor(
        maxRestartsPerChild: Int = 3,
        maxRestarts: Int = 10,
        childOverflow: DynamicSupervisor<String>.ChildOverflow = .escalate,
        recorder: EventRecorder
    ) -> DynamicSupervisor<String> {
        DynamicSupervisor(
            maxRestartsPerChild: maxRestartsPerChild,
            maxRestarts: maxRestarts,
            period: .seconds(60),
            childOverflow: childOverflow,
            logger: RecordingLogHandler.silent,
            onEvent: recorder.onEvent
        )
    }

    @Test func startsChildrenOnDemandAndRejectsARunningID() async throws {
        let children = TestChildren()
        let recorder = EventRecorder()
        let supervisor = self.makeSupervisor(recorder: recorder)

        try await supervisor.running {
            #expect(supervisor.childCount == 0)
            try await supervisor.startChild(children.spec("a"))
            try await supervisor.startChild(children.spec("b"))
            try await children.waitUntilRunning("a", "b")
            #expect(supervisor.childIDs == ["a", "b"])
            #expect(supervisor.childCount == 2)
            #expect(supervisor.hasChild("a"))

            let error = await #expect(throws: SupervisorError<String>.self) {
                try await supervisor.startChild(children.spec("a"))
            }
            guard case .duplicateChild(child: "a")? = error else {
                Issue.record("expected duplicateChild(a), got \(String(describing: error))")
                return
            }
            // The duplicate was refused before anything was made.
            #expect(children.journal(of: "a") == [.started("a", 1)])
        }
    }

    @Test func restartsACrashedChildWithoutTouchingTheOthers() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = self.makeSupervisor(recorder: recorder)

        try await supervisor.running {
            for id in ["a", "b", "c"] {
                try await supervisor.startChild(children.spec(id))
            }
            try await children.waitUntilRunning("a", "b", "c")
            children.crash("b")
            try await children.waitUntilRunning("b", incarnation: 2)
            #expect(supervisor.childIDs == ["a", "b", "c"])
        }

        let log = await recorder.finish()
        #expect(
            Array(log.prefix(6)) == [
                .started("a", 1), .started("b", 1), .started("c", 1),
                .exited("b", 1, .abnormal), .restarting("b", count: 1), .started("b", 2),
            ]
        )
        // Shutdown is concurrent, so only the set of final exits is fixed.
        #expect(
            Set(log.dropFirst(6)) == [
                .exited("a", 1, .shutdown), .exited("b", 2, .shutdown), .exited("c", 1, .shutdown),
            ]
        )
        #expect(log.count == 9)
        #expect(children.journal(of: "a") == [.started("a", 1), .stopRequested("a", 1), .ended("a", 1, .stopped)])
    }

    @Test func childThatEndsNormallyOrIsTemporaryLeavesWithoutRestart() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = self.makeSupervisor(recorder: recorder)

        try await supervisor.running {
            try await supervisor.startChild(children.spec("transient", restart: .transient))
            try await supervisor.startChild(children.spec("temporary", restart: .temporary))
            try await supervisor.startChild(children.spec("permanent"))
            children.exitNormally("transient")
            children.crash("temporary")
            try await recorder.require(.exited("transient", 1, .normal))
            try await recorder.require(.exited("temporary", 1, .abnormal))
            // Exits are handled in order, so once this restart is seen the others were decided.
            children.crash("permanent")
            try await recorder.require(.started("permanent", 2))
            #expect(supervisor.childIDs == ["permanent"])
        }

        let log = await recorder.finish()
        #expect(!log.contains(.started("transient", 2)))
        #expect(!log.contains(.started("temporary", 2)))
    }

    @Test func terminateChildStopsItWithoutRestartingIt() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = self.makeSupervisor(recorder: recorder)

        try await supervisor.running {
            try await supervisor.startChild(children.spec("a"))
            try await supervisor.startChild(children.spec("b"))
            try await children.waitUntilRunning("a", "b")

            try await supervisor.terminateChild(id: "a")
            #expect(children.journal(of: "a") == [.started("a", 1), .stopRequested("a", 1), .ended("a", 1, .stopped)])
            #expect(supervisor.childIDs == ["b"])

            let error = await #expect(throws: SupervisorError<String>.self) {
                try await supervisor.terminateChild(id: "a")
            }
            guard case .childNotFound(child: "a")? = error else {
                Issue.record("expected childNotFound(a), got \(String(describing: error))")
                return
            }
            // The id is free again.
            try await supervisor.startChild(children.spec("a"))
            try await children.waitUntilRunning("a", incarnation: 2)
        }

        let log = await recorder.finish()
        #expect(Array(log.prefix(3)) == [.started("a", 1), .started("b", 1), .exited("a", 1, .shutdown)])
        #expect(!log.contains { if case .restarting = $0 { true } else { false } })
    }

    @Test func failedStartIsThrownToTheCallerAndLeavesNoChild() async throws {
        let children = TestChildren()
        let recorder = EventRecorder()
        let supervisor = self.makeSupervisor(recorder: recorder)

        try await supervisor.running {
            children.failStarts(of: "a", count: 1)
            await #expect(throws: InjectedFault(childID: "a")) {
                try await supervisor.startChild(children.spec("a"))
            }
            #expect(!supervisor.hasChild("a"))
            try await supervisor.startChild(children.spec("a"))
            #expect(supervisor.hasChild("a"))
        }
    }

    @Test func childCrashingPastItsOwnIntensityEscalates() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = self.makeSupervisor(maxRestartsPerChild: 1, maxRestarts: 10, recorder: recorder)

        let error = try await supervisor.failure {
            try await supervisor.startChild(children.spec("a"))
            try await supervisor.startChild(children.spec("b"))
            try await children.waitUntilRunning("a", "b")
            children.crash("a")
            try await children.waitUntilRunning("a", incarnation: 2)
            children.crash("a")
        }

        let thrown = try #require(error as? SupervisorError<String>)
        guard case .intensityExceeded(child: "a") = thrown else {
            Issue.record("expected intensityExceeded(a), got \(thrown)")
            return
        }
        let log = await recorder.finish()
        #expect(
            log == [
                .started("a", 1), .started("b", 1),
                .exited("a", 1, .abnormal), .restarting("a", count: 1), .started("a", 2),
                .exited("a", 2, .abnormal), .escalated("a"),
                .exited("b", 1, .shutdown),
            ]
        )
        #expect(children.journal(of: "b").last == .ended("b", 1, .stopped))
        #expect(supervisor.childCount == 0)
    }

    @Test func aChildPastItsOwnIntensityIsGivenUpAloneWhenAskedAndCanBeStartedAgain() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = self.makeSupervisor(maxRestartsPerChild: 1, maxRestarts: 10, childOverflow: .removeChild, recorder: recorder)

        try await supervisor.running {
            try await supervisor.startChild(children.spec("a"))
            try await supervisor.startChild(children.spec("b"))
            try await children.waitUntilRunning("a", "b")
            children.crash("a")
            try await children.waitUntilRunning("a", incarnation: 2)
            children.crash("a")
            let deadline = ContinuousClock.now + .seconds(10)
            while supervisor.hasChild("a"), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))  // the supervisor's loop handles the exit
            }
            #expect(!supervisor.hasChild("a"))
            #expect(supervisor.hasChild("b"), "its sibling keeps running")
            try await supervisor.startChild(children.spec("a"))
            try await children.waitUntilRunning("a", incarnation: 3)
        }
        let log = await recorder.finish()
        #expect(
            Array(log.prefix(7)) == [
                .started("a", 1), .started("b", 1),
                .exited("a", 1, .abnormal), .restarting("a", count: 1), .started("a", 2),
                .exited("a", 2, .abnormal), .gaveUp("a"),
            ]
        )
        #expect(!log.contains(.escalated("a")))
    }

    @Test func restartsOfAllChildrenTogetherEscalatePastTheGlobalCeiling() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = self.makeSupervisor(maxRestartsPerChild: 5, maxRestarts: 2, recorder: recorder)

        let error = try await supervisor.failure {
            for id in ["a", "b", "c"] {
                try await supervisor.startChild(children.spec(id))
            }
            try await children.waitUntilRunning("a", "b", "c")
            children.crash("a")
            try await children.waitUntilRunning("a", incarnation: 2)
            children.crash("b")
            try await children.waitUntilRunning("b", incarnation: 2)
            children.crash("c")
        }

        let thrown = try #require(error as? SupervisorError<String>)
        guard case .intensityExceeded(child: "c") = thrown else {
            Issue.record("expected intensityExceeded(c), got \(thrown)")
            return
        }
        let log = await recorder.finish()
        #expect(log.contains(.escalated("c")))
        #expect(!log.contains(.started("c", 2)))
        #expect(children.journal(of: "a").last == .ended("a", 2, .stopped))
    }

    @Test func restartWhoseStartFailsIsRetried() async throws {
        let children = TestChildren()
        var recorder = EventRecorder()
        let supervisor = self.makeSupervisor(maxRestartsPerChild: 3, recorder: recorder)

        try await supervisor.running {
            try await supervisor.startChild(children.spec("a"))
            try await children.waitUntilRunning("a")
            children.failStarts(of: "a", count: 1)
            children.crash("a")
            try await children.waitUntilRunning("a", incarnation: 2)
        }

        let log = await recorder.finish()
        #expect(
            log == [
                .started("a", 1),
                .exited("a", 1, .abnormal), .restarting("a", count: 1), .startFailed("a"),
                .restarting("a", count: 2), .started("a", 2),
                .exited("a", 2, .shutdown),
            ]
        )
    }

    @Test func stopStopsAllChildrenConcurrently() async throws {
        let children = TestChildren()
        let recorder = EventRecorder()
        let supervisor = self.makeSupervisor(recorder: recorder)
        let barrier = Barrier(parties: 3)

        try await supervisor.running {
            for id in ["a", "b", "c"] {
                try await supervisor.startChild(
                    children.spec(id, shutdown: .graceful(timeout: .seconds(5)), onStop: .exitAfter(barrier))
                )
            }
            try await children.waitUntilRunning("a", "b", "c")
        }

        // Stopped one at a time, the first child would have waited for the others' stop requests
        // until its timeout cancelled it.
        for id in ["a", "b", "c"] {
            #expect(children.journal(of: id).last == .ended(id, 1, .stopped))
        }
    }

    @Test func gracefulShutdownOfAServiceGroupStopsAllChildren() async throws {
        let children = TestChildren()
        let recorder = EventRecorder()
        let supervisor = self.makeSupervisor(recorder: recorder)
        let serviceGroup = ServiceGroup(services: [supervisor], logger: RecordingLogHandler.silent)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await serviceGroup.run()
            }
            try await supervisor.startChild(children.spec("a"))
            try await supervisor.startChild(children.spec("b"))
            try await children.waitUntilRunning("a", "b")
            await serviceGroup.triggerGracefulShutdown()
            try await group.waitForAll()
        }

        #expect(children.journal(of: "a").last == .ended("a", 1, .stopped))
        #expect(children.journal(of: "b").last == .ended("b", 1, .stopped))
        await #expect(throws: SupervisorError<String>.self) {
            try await supervisor.startChild(children.spec("c"))
        }
    }
}
