import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes whole lines to a file descriptor (a pipe between coordinator and worker), one writer at a time so
/// lines from different tasks never interleave.
final class LineWriter: Sendable {
    /// The descriptor written to.
    private let fileDescriptor: Int32
    /// Serializes writers; `false` once a write failed (the reader went away).
    private let healthy = Mutex(true)

    /// A writer to `fileDescriptor`, which it does not own.
    init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    /// Writes `line` and a newline; `false` when the descriptor is broken (no further writes are tried).
    @discardableResult
    func write(_ line: String) -> Bool {
        healthy.withLock { healthy in
            guard healthy else { return false }
            var bytes = Array(line.utf8)
            bytes.append(UInt8(ascii: "\n"))
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { raw -> Int in
                    guard let base = raw.baseAddress else { return 0 }
                    #if canImport(Glibc)
                    return Glibc.write(fileDescriptor, base, raw.count)
                    #else
                    return Darwin.write(fileDescriptor, base, raw.count)
                    #endif
                }
                if written <= 0 {
                    if written < 0, errno == EINTR { continue }
                    healthy = false
                    return false
                }
                offset += written
            }
            return true
        }
    }
}
