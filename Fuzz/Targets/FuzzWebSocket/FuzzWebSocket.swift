import Broker
import Foundation
import FuzzSupport
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Store

@testable import Gateway

/// Fuzzes a WebSocket connection from its raw bytes up: the handlers the server installs after the upgrade
/// (NIO's `WebSocketFrameDecoder` and `WebSocketProtocolErrorHandler`, then the broker's `SocketHandler` and
/// its `Connection`) on a testing channel, over a store that answers nothing (`StubStore`).
///
/// The first input byte picks the serializer (bit 0) and how many bytes each read delivers (the other bits;
/// 0 is all at once), so frames split across reads are covered; the rest is what the client sends.
///
/// Invariants: everything written is a `WebSocketFrame`; control frames are final and carry at most 125 bytes
/// (RFC 6455 §5.5); a close frame carries a code the server may send.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let control = data[0]
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    runBlocking { await feed(bytes, serializer: control & 1 == 0 ? .v2 : .v1, chunk: Int(control >> 1)) }
    return 0
}

/// What every fuzzed socket shares: the broker over the stub store, its user and token.
enum Fixture {
    static let logger = Logger(label: "fuzz")
    static let store = StubStore()
    static let broker = BrokerRoot(
        store: store,
        mailAdapter: LocalMailAdapter(),
        encoder: FrameEncoder(),
        configuration: .init(),
        logger: logger
    )
    static let registry = ConnectionRegistry()
    static let user = User(
        id: UserID(1),
        name: "Fuzz",
        subname: "Er",
        email: "fuzz@example.com",
        job: "tester",
        passwordHash: "",
        insertedAt: Timestamp(microseconds: 0)
    )
    static let token = TokenClaims(sub: "1", exp: .distantFuture, iat: Date(timeIntervalSince1970: 0), jti: "fuzz")
    /// Small limits, so short inputs reach them.
    static let configuration: SocketConfiguration = {
        var configuration = SocketConfiguration()
        configuration.maxFrameBytes = 512
        configuration.outboundQueue = 8
        return configuration
    }()
    static let loop = NIOAsyncTestingEventLoop()
}

/// Opens a socket on a testing channel, delivers `bytes` in reads of `chunk` bytes (all at once for 0), then
/// closes the channel and checks what the server wrote.
func feed(_ bytes: [UInt8], serializer: PhoenixSerializer, chunk: Int) async {
    let channel = NIOAsyncTestingChannel(loop: Fixture.loop)
    let connection = Connection(
        user: Fixture.user,
        token: Fixture.token,
        serializer: serializer,
        broker: Fixture.broker,
        store: Fixture.store,
        channel: channel,
        configuration: Fixture.configuration,
        maxMessageLength: 1_000,
        registry: Fixture.registry,
        logger: Fixture.logger
    )
    let maxFrameBytes = Fixture.configuration.maxFrameBytes
    do {
        try await Fixture.loop.submit {
            try channel.pipeline.syncOperations.addHandlers(
                ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxFrameBytes)),
                WebSocketProtocolErrorHandler(),
                SocketHandler(connection: connection, maxMessageBytes: maxFrameBytes)
            )
        }.get()
        try await channel.register()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1))
    } catch {
        fuzzCheck(false, "pipeline setup failed: \(error)")
    }
    let step = chunk == 0 ? max(bytes.count, 1) : chunk
    var offset = 0
    while offset < bytes.count, channel.isActive {
        let end = min(offset + step, bytes.count)
        do {
            try await channel.writeInbound(ByteBuffer(bytes: bytes[offset..<end]))
        } catch {
            break  // a frame error: NIO's handler answered it and closes the channel
        }
        offset = end
        await checkOutbound(channel)
    }
    await Fixture.loop.run()
    _ = try? await channel.finish(acceptAlreadyClosed: true)
    await checkOutbound(channel)
}

/// Reads what the server wrote and checks each frame.
func checkOutbound(_ channel: NIOAsyncTestingChannel) async {
    while true {
        let frame: WebSocketFrame?
        do {
            frame = try await channel.readOutbound(as: WebSocketFrame.self)
        } catch {
            fuzzCheck(false, "wrote something else than a frame: \(error)")
            return
        }
        guard let frame else { return }
        switch frame.opcode {
        case .connectionClose, .ping, .pong:
            fuzzCheck(frame.fin && frame.data.readableBytes <= 125, "bad control frame \(frame)")
            if frame.opcode == .connectionClose, frame.data.readableBytes > 0 {
                var data = frame.data
                let code = data.readInteger(as: UInt16.self)
                fuzzCheck(code.map { (1000...1014).contains($0) || (3000...4999).contains($0) } ?? false, "close code \(String(describing: code))")
                fuzzCheck(code != 1005 && code != 1006, "reserved close code \(String(describing: code))")
            }
        case .text:
            fuzzCheck(frame.fin, "fragmented text frame")
        default:
            fuzzCheck(false, "unexpected frame \(frame)")
        }
    }
}

/// The program's entry point (see `runFuzzer`).
@_cdecl("FuzzWebSocket_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzOneInput(data, size) }
}
