/// The coordinator's own engine, when the run has a single worker.
struct LocalWorker: LoadWorker {
    /// The engine.
    let engine: LoadEngine

    /// Opens the engine's sockets.
    func connect() async throws -> ConnectReport { await engine.connect() }
    /// Runs a stage on the engine.
    func runStage(_ plan: StagePlan) async throws -> StageReport { await engine.runStage(plan) }
    /// The engine's counters.
    func progress() -> ProgressSnapshot { engine.progress() }
    /// Closes the engine's sockets.
    func finish() async throws -> FinishReport { await engine.finish() }
}
