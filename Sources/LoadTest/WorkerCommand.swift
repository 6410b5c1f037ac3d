/// A line the coordinator writes to a worker's standard input.
struct WorkerCommand: Codable, Sendable {
    /// What to do.
    enum Kind: String, Codable, Sendable {
        /// Open and join the sockets.
        case connect
        /// Run ``WorkerCommand/stage``.
        case stage
        /// Close the sockets, report and exit.
        case finish
    }

    /// What to do.
    var kind: Kind
    /// The stage, for ``Kind/stage``.
    var stage: StagePlan?
}
