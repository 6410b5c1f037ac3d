import Store
import Synchronization

/// One incarnation of a running child: runs it, stops it and kills it, so that a supervisor can
/// stop children one by one although a task group can only cancel all its tasks.
///
/// ``run()`` races the child's `run()` against a per-child kill signal in a small two-task
/// group; whichever ends first cancels the other. That is how a single child is cancelled after
/// its shutdown timeout (OTP's `exit(Child, kill)`). The supervisor's task group owns the task
/// that calls ``run()``; ``terminate()`` is called by whoever stops the child.
final class ChildHandle: Sendable {
    private enum Phase {
        case idle
        case running
        case finished
    }

    private struct State {
        var phase = Phase.idle
        var isStopRequested = false
    }

    private enum Outcome: Sendable {
        case returned
        case threw(any Error)
    }

    private enum StopRace: Sendable {
        case stopReturned
        case exited
        case timedOut
    }

    private enum TerminateAction {
        case finishUnstarted
        case stop
        case wait
    }

    /// Which start of its child this is, from 1.
    let incarnation: Int
    /// The child instance.
    let child: any SupervisedChild
    /// How the child is stopped.
    let shutdown: ShutdownPolicy

    private let state = Locked(State())
    private let killSignal = Latch<Void>()
    private let exit = Latch<ExitReason>()
    private let onExit: @Sendable (ChildHandle, ExitReason) -> Void

    /// Creates a handle for a child that has been made but not yet run.
    ///
    /// - Parameters:
    ///   - incarnation: Which start of its child this is, from 1.
    ///   - child: The child instance.
    ///   - shutdown: How the child is stopped.
    ///   - onExit: Called exactly once with this handle when the child has ended, before
    ///     ``terminate()`` returns.
    init(
        incarnation: Int,
        child: any SupervisedChild,
        shutdown: ShutdownPolicy,
        onExit: @escaping @Sendable (ChildHandle, ExitReason) -> Void
    ) {
        self.incarnation = incarnation
        self.child = child
        self.shutdown = shutdown
        self.onExit = onExit
    }

    /// Runs the child until it returns, throws or is killed, then reports its exit reason.
    ///
    /// Does nothing if the child was terminated before it ran.
    func run() async {
        let shouldRun = self.state.withLock { state -> Bool in
            guard case .idle = state.phase else {
                return false
            }
            state.phase = .running
            return true
        }
        guard shouldRun else {
            return
        }

        let child = self.child
        let killSignal = self.killSignal
        let outcome = await withTaskGroup(of: Outcome?.self) { group -> Outcome in
            group.addTask {
                do {
                    try await SupervisionContext.$isSupervised.withValue(true) {
                        try await child.run()
                    }
                    return .returned
                } catch {
                    return .threw(error)
                }
            }
            group.addTask {
                // Ends when killed, or when the child ended first and this task was cancelled.
                _ = await killSignal.wait()
                return nil
            }
            var outcome: Outcome?
            while let next = await group.next() {
                group.cancelAll()
                if let next {
                    outcome = next
                }
            }
            return outcome ?? .returned
        }

        let isStopRequested = self.state.withLock { $0.isStopRequested }
        let isShutdown = isStopRequested || Task.isCancelled
        let reason: ExitReason
        switch outcome {
        case .returned:
            reason = isShutdown ? .shutdown : .normal
        case .threw(let error):
            reason = (error is CancellationError && isShutdown) ? .shutdown : .abnormal(error)
        }
        self.finish(reason)
    }

    /// Stops the child under its ``ShutdownPolicy`` and waits until it has ended.
    ///
    /// Calls `stop()`, waits up to the timeout, then cancels the child; with
    /// ``ShutdownPolicy/cancelImmediately`` it cancels at once. If the waiting task is itself
    /// cancelled, the child is cancelled and this returns without waiting for it; the owning task
    /// group still waits for it.
    func terminate() async {
        let action = self.state.withLock { state -> TerminateAction in
            switch state.phase {
            case .idle:
                state.phase = .finished
                state.isStopRequested = true
                return .finishUnstarted
            case .running where !state.isStopRequested:
                state.isStopRequested = true
                return .stop
            case .running, .finished:
                return .wait
            }
        }
        switch action {
        case .finishUnstarted:
            self.finish(.shutdown)
        case .stop:
            await self.stopThenKill()
        case .wait:
            break
        }
        _ = await self.exit.wait()
    }

    private func stopThenKill() async {
        switch self.shutdown {
        case .cancelImmediately:
            self.killSignal.fulfill(())
        case .graceful(let timeout):
            let child = self.child
            let exit = self.exit
            let result = await withTaskGroup(of: StopRace.self) { group -> StopRace in
                group.addTask {
                    await child.stop()
                    return .stopReturned
                }
                group.addTask {
                    _ = await exit.wait()
                    return .exited
                }
                group.addTask {
                    // A cancelled sleep means the supervisor itself is being cancelled: kill.
                    try? await Task.sleep(for: timeout)
                    return .timedOut
                }
                var result = StopRace.timedOut
                while let next = await group.next() {
                    if case .stopReturned = next {
                        continue
                    }
                    result = next
                    break
                }
                group.cancelAll()
                return result
            }
            if case .timedOut = result {
                self.killSignal.fulfill(())
            }
        }
    }

    private func finish(_ reason: ExitReason) {
        self.state.withLock { $0.phase = .finished }
        self.onExit(self, reason)
        self.exit.fulfill(reason)
    }
}
