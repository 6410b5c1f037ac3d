import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Opens one socket: TCP connect (optionally from a bound local address), WebSocket upgrade with the user's
/// token, `room:chat` join; all of it within ``setupTimeout``.
struct SocketConnector: Sendable {
    /// The event loops sockets are spread over.
    let group: MultiThreadedEventLoopGroup
    /// The brokers: user `id` connects to `endpoints[id % count]`.
    let endpoints: [TargetEndpoint]
    /// The process's counters.
    let stats: WorkerStats
    /// The worker whose stamps the sockets check.
    let workerIndex: Int
    /// The TCP connect timeout.
    static let connectTimeout = TimeAmount.seconds(10)
    /// The whole setup's timeout (connect, upgrade, join).
    static let setupTimeout = TimeAmount.seconds(20)
    /// Largest frame accepted from the server.
    static let maxFrameSize = 1 << 20

    /// Opens socket `index` for `user`, bound to `localAddress` when given; with `lastSeenID` its join asks for
    /// every message after that id (recovery).
    func open(
        index: Int,
        user: SeedUser,
        localAddress: SocketAddress?,
        lastSeenID: Int64? = nil
    ) async -> Result<OpenSocket, ConnectFailure> {
        let loop = group.next()
        let endpoint = endpoints[Int(user.id.magnitude % UInt64(endpoints.count))]
        let joined = loop.makePromise(of: Void.self)
        let session = SocketSession(index: index, userID: user.id, lastSeenID: lastSeenID)
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: endpoint.hostHeader)
        headers.add(name: "Content-Length", value: "0")
        let head = HTTPRequestHead(
            version: .http1_1,
            method: .GET,
            uri: endpoint.socketPath(token: user.token),
            headers: headers
        )
        let stats = self.stats
        let workerIndex = self.workerIndex
        var bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(Self.connectTimeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configure(
                        channel,
                        head: head,
                        session: session,
                        stats: stats,
                        workerIndex: workerIndex,
                        joined: joined
                    )
                }
            }
        if let localAddress { bootstrap = bootstrap.bind(to: localAddress) }
        let timeout = loop.scheduleTask(in: Self.setupTimeout) { joined.fail(ConnectFailure("setup timeout")) }
        defer { timeout.cancel() }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(to: endpoint.address).get()
        } catch {
            let failure = ConnectFailure(classifying: error)
            joined.fail(failure)
            stats.connectFailed()
            return .failure(failure)
        }
        do {
            try await joined.futureResult.get()
            return .success(OpenSocket(session: session, channel: channel))
        } catch {
            session.closing.store(true, ordering: .relaxed)
            channel.close(promise: nil)
            stats.connectFailed()
            return .failure(ConnectFailure(classifying: error))
        }
    }

    /// The pipeline of a new channel: HTTP client with the WebSocket upgrader, and the request handler; after
    /// the upgrade, the WebSocket codec and ``LoadSocketHandler``.
    private static func configure(
        _ channel: any Channel,
        head: HTTPRequestHead,
        session: SocketSession,
        stats: WorkerStats,
        workerIndex: Int,
        joined: EventLoopPromise<Void>
    ) throws {
        let upgrader = NIOWebSocketClientUpgrader(maxFrameSize: maxFrameSize, automaticErrorHandling: true) {
            channel,
            _ in
            channel.eventLoop.makeCompletedFuture {
                let handler = LoadSocketHandler(
                    session: session,
                    stats: stats,
                    workerIndex: workerIndex,
                    joined: joined
                )
                try channel.pipeline.syncOperations.addHandler(handler)
            }
        }
        let upgrade: NIOHTTPClientUpgradeConfiguration = (
            upgraders: [upgrader],
            completionHandler: { context in
                context.pipeline.syncOperations.removeHandler(name: UpgradeRequestHandler.name, promise: nil)
            }
        )
        try channel.pipeline.syncOperations.addHTTPClientHandlers(withClientUpgrade: upgrade)
        try channel.pipeline.syncOperations.addHandler(
            UpgradeRequestHandler(head: head, joined: joined),
            name: UpgradeRequestHandler.name
        )
    }
}
