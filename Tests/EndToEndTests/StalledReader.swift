import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A WebSocket client on a raw TCP socket that upgrades, joins `room:chat`, and then stops reading, as a
/// stalled device does; later it can read everything the server managed to send.
final class StalledReader: @unchecked Sendable {  // used by one task at a time
    private let fd: Int32
    /// Received bytes not yet walked as frames.
    private var pending = [UInt8]()
    /// Whether the server ended the connection (end of stream or reset) during the last read.
    private(set) var endedByServer = false

    init(port: Int, token: String) throws {
        fd = try connectLoopback(port: port, receiveBuffer: 4_096)
        let request =
            "GET /socket/websocket?token=\(token)&vsn=2.0.0 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try write(Array(request.utf8))
        var head = [UInt8]()
        while !head.ends(with: Array("\r\n\r\n".utf8)) {
            var byte: UInt8 = 0
            guard recv(fd, &byte, 1, 0) == 1 else { throw POSIXError(.EIO) }
            head.append(byte)
        }
        guard String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 101") else { throw POSIXError(.EPROTO) }
        try sendText(#"["1","1","room:chat","phx_join",{}]"#)
    }

    deinit { close(fd) }

    private func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw POSIXError(.EPIPE) }
            sent += count
        }
    }

    /// Sends one masked text frame (clients must mask).
    func sendText(_ text: String) throws {
        try sendFrame(opcode: 0x1, Array(text.utf8))
    }

    /// Closes the sending side of the TCP connection (a FIN, no close frame), as a killed client's kernel does.
    func shutdownWriting() {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Sends one masked ping frame.
    func sendPing(_ data: [UInt8] = Array("p".utf8)) throws {
        try sendFrame(opcode: 0x9, data)
    }

    /// Sends one text message split into frames of the given parts (text, then continuations).
    func sendFragmented(_ parts: [String]) throws {
        for (index, part) in parts.enumerated() {
            try sendFrame(opcode: index == 0 ? 0x1 : 0x0, Array(part.utf8), fin: index == parts.count - 1)
        }
    }

    private func sendFrame(opcode: UInt8, _ payload: [UInt8], fin: Bool = true) throws {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else {
            frame.append(0x80 | 126)
            frame.append(UInt8(payload.count >> 8))
            frame.append(UInt8(payload.count & 0xFF))
        }
        let mask: [UInt8] = [1, 2, 3, 4]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try write(frame)
    }

    /// Reads until the server's close frame or `timeout`; returns the close code, if one came.
    func readUntilClose(timeout: Duration) -> Int? {
        readUntilClose(timeout: timeout, onFrame: { _ in })
    }

    /// Reads until the server's close frame or `timeout`, reporting every other frame's opcode; returns the
    /// close code, if one came.
    func readUntilClose(timeout: Duration, onFrame: (UInt8) -> Void) -> Int? {
        var code: Int?
        _ = readFrames(timeout: timeout) { opcode, payload in
            if opcode == 8 {
                let bytes = Array(payload)
                if bytes.count >= 2 { code = Int(bytes[0]) << 8 | Int(bytes[1]) }
                return true
            }
            onFrame(opcode)
            return false
        }
        return code
    }

    /// Reads frames until `count` text frames have come; false if the socket ended or `timeout` passed first.
    func readTextFrames(_ count: Int, timeout: Duration) -> Bool {
        var seen = 0
        return readFrames(timeout: timeout) { opcode, _ in
            if opcode == 0x1 { seen += 1 }
            return seen >= count || opcode == 8
        } && seen >= count
    }

    /// Walks whole frames as they arrive until `stop` says so (true), the socket ends or `timeout` (false).
    private func readFrames(timeout: Duration, stop: (UInt8, ArraySlice<UInt8>) -> Bool) -> Bool {
        var timeval = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeval, socklen_t(MemoryLayout<timeval>.size))
        let deadline = ContinuousClock.now + timeout
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            var index = 0
            defer { pending.removeFirst(index) }
            while index + 2 <= pending.count {
                let opcode = pending[index] & 0x0F
                var length = Int(pending[index + 1] & 0x7F)
                var header = 2
                if length == 126 {
                    guard index + 4 <= pending.count else { break }
                    length = Int(pending[index + 2]) << 8 | Int(pending[index + 3])
                    header = 4
                } else if length == 127 {
                    guard index + 10 <= pending.count else { break }
                    length = (0..<8).reduce(0) { $0 << 8 | Int(pending[index + 2 + $1]) }
                    header = 10
                }
                guard index + header + length <= pending.count else { break }
                let payload = pending[(index + header)..<(index + header + length)]
                index += header + length
                if stop(opcode, payload) { return true }
            }
            guard ContinuousClock.now < deadline else { return false }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 || (count < 0 && errno == ECONNRESET) {
                endedByServer = true
                return false
            }
            if count > 0 { pending += chunk[0..<count] }
        }
    }
}

/// A WebSocket upgrade request on a raw TCP socket, for what the server answers when it refuses one.
enum RawUpgrade {
    struct Answer {
        let status: Int
        /// Header names lowercased.
        let headers: [String: String]
        let body: String
    }

    /// Sends an upgrade request for `target` and reads the answer until the server closes the connection.
    static func attempt(port: Int, target: String, method: String = "GET") throws -> Answer {
        let fd = try connectLoopback(port: port)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = Array(
            ("\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8
        )
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            throw POSIXError(.EPIPE)
        }
        var received = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += chunk[0..<count]
        }
        let text = String(decoding: received, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw POSIXError(.EPROTO) }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
            throw POSIXError(.EPROTO)
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Answer(status: status, headers: headers, body: String(text[split.upperBound...]))
    }
}

/// A TCP connection to 127.0.0.1:`port`; a small `receiveBuffer` makes a reader stall sooner.
func connectLoopback(port: Int, receiveBuffer: Int32? = nil) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    if var size = receiveBuffer {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        close(fd)
        throw POSIXError(.ECONNREFUSED)
    }
    return fd
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
