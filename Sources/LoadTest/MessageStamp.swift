/// What a load message's text carries so its receiver can measure and check it without any shared table:
/// `lt:<worker>:<sequence>:<scheduled nanos>:<recipient>`.
struct MessageStamp: Sendable, Equatable {
    /// The worker process that sent it (0 without workers).
    let worker: Int
    /// Unique per worker, dense from 0: indexes the worker's acked and received bit sets.
    let sequence: UInt64
    /// The monotonic instant the open-loop schedule meant it to be sent (latency is measured from here, so a
    /// sender that falls behind shows up as latency instead of hiding it).
    let scheduled: UInt64
    /// The user it was sent to.
    let recipient: Int64

    /// The message text.
    var content: String { "lt:\(worker):\(sequence):\(scheduled):\(recipient)" }

    /// Reads a stamp back from a message text; `nil` for any other text.
    init?(content: String) {
        let fields = content.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard fields.count == 5, fields[0] == "lt",
            let worker = Int(fields[1], radix: 10),
            let sequence = UInt64(fields[2], radix: 10),
            let scheduled = UInt64(fields[3], radix: 10),
            let recipient = Int64(fields[4], radix: 10)
        else { return nil }
        self.init(worker: worker, sequence: sequence, scheduled: scheduled, recipient: recipient)
    }

    /// A stamp from its parts.
    init(worker: Int, sequence: UInt64, scheduled: UInt64, recipient: Int64) {
        self.worker = worker
        self.sequence = sequence
        self.scheduled = scheduled
        self.recipient = recipient
    }
}
