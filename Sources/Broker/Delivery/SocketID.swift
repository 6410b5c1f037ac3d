import Synchronization

/// Identifies one live socket on this node, so a sender's own socket can be left out of its fan-out.
package struct SocketID: Hashable, Sendable, CustomStringConvertible {
    /// A process-unique number.
    package let rawValue: UInt64

    private static let counter = Atomic<UInt64>(0)

    /// A new, never-used id.
    package static func next() -> SocketID {
        SocketID(rawValue: counter.wrappingAdd(1, ordering: .relaxed).newValue)
    }

    package var description: String { String(rawValue) }
}
