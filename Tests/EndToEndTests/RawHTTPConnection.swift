import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One TCP connection speaking HTTP/1.1 by hand: requests one after another on the same connection (as a
/// proxy reusing a backend connection does), then, after a `101`, WebSocket frames.
final class RawHTTPConnection: @unchecked Sendable {  // used by one task at a time
    struct Response {
        let status: Int
        /// Header names lowercased.
        let headers: [String: String]
        let body: String
    }

    private let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int) throws {
        fd = try connectLoopback(port: port)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Sends a request head (no body) with the given extra header lines.
    func sendRequest(_ method: String, _ target: String, headers: [String] = []) throws {
        let text = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n"
        try write(Array(text.utf8))
    }

    /// Sends raw bytes; false when the server closed the connection before taking them all.
    @discardableResult
    func sendRaw(_ text: String) -> Bool {
        (try? write(Array(text.utf8))) != nil
    }

    /// Sends a WebSocket upgrade request for `target`.
    func sendUpgrade(_ target: String, headers: [String] = []) throws {
        try sendRequest(
            "GET",
            target,
            headers: [
                "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Version: 13",
            ] + headers
        )
    }

    /// ``readResponse()`` on a thread of its own: a blocking read must not hold one of the few threads of the
    /// concurrency pool, which the test's other tasks (and other suites) need meanwhile.
    func response() async throws -> Response {
        try await offThePool { try self.readResponse() }
    }

    /// ``readFrame()`` on a thread of its own.
    func frame() async throws -> (opcode: UInt8, payload: String) {
        try await offThePool { try self.readFrame() }
    }

    /// ``isClosedByServer()`` on a thread of its own.
    func closedByServer() async -> Bool {
        (try? await offThePool { self.isClosedByServer() }) ?? false
    }

    /// Reads one response: its head, then a `content-length` body (none for a `101`).
    func readResponse() throws -> Response {
        let separator = Array("\r\n\r\n".utf8)
        var end: Int?
        while end == nil {
            end = buffer.firstRange(of: separator)?.upperBound
            if end == nil { try fill() }
        }
        let head = String(decoding: buffer[..<end!], as: UTF8.self)
        buffer.removeFirst(end!)
        let lines = head.components(separatedBy: "\r\n")
        guard let status = Int(lines[0].split(separator: " ").dropFirst().first ?? "") else { throw POSIXError(.EPROTO) }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = status == 101 ? 0 : Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < length { try fill() }
        let body = String(decoding: buffer[..<length], as: UTF8.self)
        buffer.removeFirst(length)
        return Response(status: status, headers: headers, body: body)
    }

    /// Sends one masked text frame.
    func sendText(_ text: String) throws {
        let payload = Array(text.utf8)
        precondition(payload.count < 126)
        let mask: [UInt8] = [9, 8, 7, 6]
        try write([0x81, 0x80 | UInt8(payload.count)] + mask + payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
    }

    /// Sends a masked close frame with `code`.
    func sendClose(code: UInt16 = 1000) throws {
        let mask: [UInt8] = [1, 2, 3, 4]
        let payload = [UInt8(code >> 8), UInt8(code & 0xFF)]
        try write([0x88, 0x82] + mask + payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
    }

    /// Reads one unmasked server frame shorter than 64 KiB: its opcode and payload.
    func readFrame() throws -> (opcode: UInt8, payload: String) {
        while buffer.count < 2 { try fill() }
        var length = Int(buffer[1] & 0x7F)
        var header = 2
        if length == 126 {
            while buffer.count < 4 { try fill() }
            length = Int(buffer[2]) << 8 | Int(buffer[3])
            header = 4
        }
        while buffer.count < header + length { try fill() }
        let frame = (buffer[0] & 0x0F, String(decoding: buffer[header..<(header + length)], as: UTF8.self))
        buffer.removeFirst(header + length)
        return frame
    }

    /// Whether the server closed the connection (reads until end of stream or the 10 s receive timeout).
    func isClosedByServer() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 4_096)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw POSIXError(count == 0 || errno == ECONNRESET ? .ECONNRESET : .ETIMEDOUT) }
        buffer += chunk[0..<count]
    }

    private func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw POSIXError(.EPIPE) }
            sent += count
        }
    }
}

/// Runs blocking work on a dispatch thread and awaits its result.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}
