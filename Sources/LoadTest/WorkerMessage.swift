/// A line a worker writes to its standard output: one JSON object per line, nothing else goes there.
struct WorkerMessage: Codable, Sendable {
    /// What the line reports.
    enum Kind: String, Codable, Sendable {
        /// Started and read the seed; waits for ``WorkerCommand/Kind/connect``.
        case ready
        /// Once a second: the counters.
        case progress
        /// The sockets are open: ``WorkerMessage/connect``.
        case connected
        /// A stage is done: ``WorkerMessage/stage``.
        case stage
        /// A reporting interval of the stage under way ended: ``WorkerMessage/interval``.
        case interval
        /// The sockets are closed: ``WorkerMessage/finish``; the worker exits next.
        case finished
        /// The worker failed: ``WorkerMessage/error``; it exits next.
        case failed
    }

    /// What the line reports.
    var kind: Kind
    /// For ``Kind/progress``.
    var progress: ProgressSnapshot?
    /// For ``Kind/connected``.
    var connect: ConnectReport?
    /// For ``Kind/stage``.
    var stage: StageReport?
    /// For ``Kind/interval``.
    var interval: IntervalReport?
    /// For ``Kind/finished``.
    var finish: FinishReport?
    /// For ``Kind/failed``.
    var error: String?

    /// A message of `kind` with no payload.
    init(_ kind: Kind) {
        self.kind = kind
    }
}
