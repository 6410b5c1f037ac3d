import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file descriptor (a pipe) on a thread of its own, line by line, handing each line to a callback.
enum LineReader {
    /// The longest line accepted; a longer one ends the reading (the peer is broken).
    static let maxLineBytes = 64 * 1_048_576

    /// Starts reading `fileDescriptor` until end of file or error: `onLine` gets every line (without its
    /// newline) and may block to apply back-pressure; `onEnd` is called once at the end.
    static func start(
        fileDescriptor: Int32,
        name: String,
        onLine: @escaping @Sendable (String) -> Void,
        onEnd: @escaping @Sendable () -> Void
    ) {
        let thread = Thread {
            var pending: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65_536)
            reading: while true {
                let count = chunk.withUnsafeMutableBytes { raw in read(fileDescriptor, raw.baseAddress, raw.count) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                var start = 0
                for index in 0..<count where chunk[index] == UInt8(ascii: "\n") {
                    pending.append(contentsOf: chunk[start..<index])
                    onLine(String(decoding: pending, as: UTF8.self))
                    pending.removeAll(keepingCapacity: pending.count < 1_048_576)
                    start = index + 1
                }
                pending.append(contentsOf: chunk[start..<count])
                if pending.count > maxLineBytes { break reading }
            }
            onEnd()
        }
        thread.name = name
        thread.start()
    }
}
