import NIOCore

/// The event loops the broker's actors run on, picked by hashing an id, so that an actor always lands on the
/// same loop and a call between two actors (or from a socket) on one loop is no thread switch.
package struct LoopRing: Sendable {
    private let loops: [any EventLoop]

    /// Every loop of `group` (the group the server's sockets use, so actors share their loops).
    package init(_ group: any EventLoopGroup) {
        var loops: [any EventLoop] = []
        for loop in group.makeIterator() { loops.append(loop) }
        self.loops = loops.isEmpty ? [group.next()] : loops
    }

    /// The loop of the actor with this id.
    package func loop(for id: Int64) -> any EventLoop {
        loops[Int(UInt64(bitPattern: id) % UInt64(loops.count))]
    }
}

/// Pushes gathered for many sockets, handed to each socket's event loop in one task per loop (not one per
/// socket or per message); the sockets of the current loop get theirs at once.
struct Fanout {
    private var byLoop: [(loop: any EventLoop, items: [(sink: any SocketSink, push: EncodedPush)])] = []

    /// Hands each item, in order, to every socket except the one it came from (its `except`).
    static func send(_ items: [(push: EncodedPush, except: SocketID?)], to sinks: [any SocketSink]) {
        var fanout = Fanout()
        for sink in sinks {
            for (push, except) in items where except != sink.socketID { fanout.add(push, to: sink) }
        }
        fanout.send()
    }

    /// Adds a push for a socket.
    mutating func add(_ push: EncodedPush, to sink: any SocketSink) {
        let loop = sink.eventLoop
        if let index = byLoop.firstIndex(where: { $0.loop === loop }) {
            byLoop[index].items.append((sink, push))
        } else {
            byLoop.append((loop, [(sink, push)]))
        }
    }

    /// Hands every push to its socket: inline for sockets on the current loop, one `execute` per other loop.
    func send() {
        for (loop, items) in byLoop {
            if loop.inEventLoop {
                Self.enqueue(items)
            } else {
                loop.execute { Self.enqueue(items) }
            }
        }
    }

    /// Queues each push on its socket, in order; a socket that refuses (full queue: it closes itself with
    /// 1013) gets nothing more from this batch.
    private static func enqueue(_ items: [(sink: any SocketSink, push: EncodedPush)]) {
        var refused: [SocketID] = []
        var delivered = 0
        for (sink, push) in items {
            if !refused.isEmpty, refused.contains(sink.socketID) { continue }
            if sink.enqueue(push) {
                if push.messageID != nil { delivered += 1 }
            } else {
                refused.append(sink.socketID)
            }
        }
        if delivered > 0 { BrokerMetrics.messagesDelivered.increment(by: delivered) }
        if !refused.isEmpty { BrokerMetrics.slowConsumers.increment(by: refused.count) }
    }
}
