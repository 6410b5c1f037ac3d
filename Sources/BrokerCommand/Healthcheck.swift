import ArgumentParser
import NIOCore
import NIOPosix

/// `broker healthcheck`: exits 0 when this node's `GET /healthz` answers 200 within two seconds, 1 otherwise;
/// for container health checks, since the slim image has no curl. It asks `BROKER_HOST:BROKER_PORT`
/// (loopback when the broker listens on every address).
struct Healthcheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Exit 0 when this node's /healthz answers 200.")

    func run() async throws {
        let settings = try Settings()
        let host = ["0.0.0.0", "::", "[::]", ""].contains(settings.host) ? "127.0.0.1" : settings.host
        let healthy = await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await Self.status(host: host, port: settings.port)) == 200 }
            group.addTask {
                try? await Task.sleep(for: .seconds(2))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !healthy {
            print("unhealthy: no 200 from http://\(host):\(settings.port)/healthz")
            throw ExitCode.failure
        }
    }

    /// The status code of `GET /healthz`, read from the status line of a plain HTTP/1.1 exchange.
    private static func status(host: String, port: Int) async throws -> Int? {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(2))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "GET /healthz HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"))
            var head = ByteBuffer()
            for try await chunk in inbound {
                head.writeImmutableBuffer(chunk)
                if head.readableBytes >= 12 { break }
            }
            // "HTTP/1.1 200 "
            guard let line = head.getString(at: head.readerIndex, length: min(head.readableBytes, 12)),
                line.hasPrefix("HTTP/1.")
            else { return nil }
            return Int(line.dropFirst(9).prefix(3))
        }
    }
}
