import Synchronization

/// A bounded first-in first-out queue between a producer thread (a pipe reader) and one consumer task, which
/// polls it. Full, it refuses new items; closed, it hands out what it holds and then `nil`.
final class Mailbox<Item: Sendable>: Sendable {
    /// Items waiting, and whether the producer has finished.
    private let state = Mutex<(items: [Item], head: Int, closed: Bool)>(([], 0, false))
    /// Most items held at once.
    let capacity: Int
    /// How long the consumer sleeps between looks, nanoseconds.
    private static var pollInterval: UInt64 { 5_000_000 }

    /// An empty mailbox holding at most `capacity` items.
    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Adds `item`; `false` when the mailbox is full or closed.
    @discardableResult
    func put(_ item: Item) -> Bool {
        state.withLock { state in
            guard !state.closed, state.items.count - state.head < capacity else { return false }
            state.items.append(item)
            return true
        }
    }

    /// No more items will come.
    func close() {
        state.withLock { $0.closed = true }
    }

    /// Whether `put` would accept an item now.
    var hasRoom: Bool {
        state.withLock { $0.items.count - $0.head < capacity }
    }

    /// The next item; `nil` once closed and empty, or when `deadline` (monotonic nanoseconds) passes first.
    func next(until deadline: UInt64) async -> Item? {
        while true {
            let (item, closed): (Item?, Bool) = state.withLock { state in
                guard state.head < state.items.count else { return (nil, state.closed) }
                let item = state.items[state.head]
                state.head += 1
                if state.head == state.items.count {
                    state.items.removeAll(keepingCapacity: true)
                    state.head = 0
                }
                return (item, false)
            }
            if let item { return item }
            if closed || MonotonicClock.now() >= deadline || Task.isCancelled { return nil }
            try? await Task.sleep(nanoseconds: Self.pollInterval)
        }
    }
}
