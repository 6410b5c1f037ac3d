import ArgumentParser

/// What the load generator does with its sockets.
enum LoadMode: String, CaseIterable, Codable, Sendable, ExpressibleByArgument {
    /// Open and join sockets, then hold them (heartbeating) for the duration.
    case idle
    /// Connect both users of every conversation and chat in pairs at a fixed total rate.
    case pairs
    /// Like `pairs`, in stages of rising rate, until a stage fails its bounds.
    case ramp
    /// One socket writes `--messages` sends to one conversation back to back, without waiting for replies
    /// (pipelining); reports acknowledgements per second and whether the replies came back in order.
    case pipeline
}
