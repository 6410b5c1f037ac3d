/// The part of the seed one process drives: the sockets it opens and, in `pairs` and `ramp`, the directed pairs
/// that send.
///
/// Idle mode slices sockets; the chatting modes slice whole conversations so both participants of a conversation
/// are in the same process, which is what lets the receiver match a push to the send it belongs to.
struct WorkloadSlice: Sendable {
    /// One entry per socket to open, in order.
    let sockets: [SeedUser]
    /// Every sending direction (two per conversation).
    let pairs: [DirectedPair]
    /// This slice's first socket in the whole run, so source addresses are spread evenly across processes.
    let globalSocketOffset: Int

    /// The slice of worker `index` out of `workers`.
    ///
    /// - Parameter socketCount: idle mode's `--sockets` (default: one per user); sockets beyond the number of
    ///   users reuse users round-robin.
    static func make(seed: SeedFile, mode: LoadMode, socketCount: Int?, workers: Int, index: Int) -> WorkloadSlice {
        switch mode {
        case .idle:
            let total = socketCount ?? seed.users.count
            let range = share(of: total, workers: workers, index: index)
            let sockets = range.map { seed.users[$0 % seed.users.count] }
            return WorkloadSlice(sockets: sockets, pairs: [], globalSocketOffset: range.lowerBound)
        case .pairs, .ramp, .pipeline:
            // Pipeline: the first conversation only, in the first process.
            let range =
                mode == .pipeline
                ? (index == 0 ? 0..<min(1, seed.conversations.count) : 0..<0)
                : share(of: seed.conversations.count, workers: workers, index: index)
            var tokens: [Int64: String] = [:]
            tokens.reserveCapacity(seed.users.count)
            for user in seed.users { tokens[user.id] = user.token }
            var socketOf: [Int64: Int] = [:]
            var sockets: [SeedUser] = []
            var pairs: [DirectedPair] = []
            pairs.reserveCapacity(range.count * 2)
            func socket(for user: Int64) -> Int {
                if let existing = socketOf[user] { return existing }
                sockets.append(SeedUser(id: user, token: tokens[user] ?? ""))
                socketOf[user] = sockets.count - 1
                return sockets.count - 1
            }
            for conversation in seed.conversations[range] {
                let a = socket(for: conversation.a)
                let b = socket(for: conversation.b)
                pairs.append(DirectedPair(senderSocket: a, recipient: conversation.b, conversation: conversation.id))
                pairs.append(DirectedPair(senderSocket: b, recipient: conversation.a, conversation: conversation.id))
            }
            // Conversations are sliced, so the offset of the first socket is estimated from the share of users.
            let offset = seed.conversations.isEmpty ? 0 : range.lowerBound * 2
            return WorkloadSlice(sockets: sockets, pairs: pairs, globalSocketOffset: offset)
        }
    }

    /// Worker `index`'s contiguous share of `0..<total`, sizes differing by at most one.
    static func share(of total: Int, workers: Int, index: Int) -> Range<Int> {
        let lower = total * index / workers
        let upper = total * (index + 1) / workers
        return lower..<upper
    }
}
