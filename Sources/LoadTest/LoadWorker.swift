/// What the coordinator drives: the engine in this process (``LocalWorker``) or a worker process
/// (``ChildWorker``). Calls come one at a time, in order: ``connect()``, any number of ``runStage(_:)``,
/// ``finish()``.
protocol LoadWorker: Sendable {
    /// Opens and joins the worker's sockets.
    func connect() async throws -> ConnectReport
    /// Runs one sending stage.
    func runStage(_ plan: StagePlan) async throws -> StageReport
    /// The latest counters, for the live display.
    func progress() -> ProgressSnapshot
    /// Closes the sockets and ends the worker.
    func finish() async throws -> FinishReport
}
