import DequeModule
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket

/// A frame as a Phoenix client sees it, decoded here with Foundation only (never the server's code).
struct TestFrame: Sendable, CustomStringConvertible {
    var joinRef: String?
    var ref: String?
    var topic: String
    var event: String
    /// The payload, re-encoded as JSON text so it stays Sendable.
    var payloadJSON: String

    var payload: [String: Any] {
        ((try? JSONSerialization.jsonObject(with: Data(payloadJSON.utf8))) as? [String: Any]) ?? [:]
    }
    var status: String? { payload["status"] as? String }
    var response: [String: Any] { payload["response"] as? [String: Any] ?? [:] }
    var reason: String? { response["reason"] as? String }
    /// The `message` object of a `receive_msg` push or a send reply.
    var message: [String: Any]? { (payload["message"] ?? response["message"]) as? [String: Any] }
    var messageID: Int? { message?["id"] as? Int }

    var description: String { "[\(joinRef ?? "null"), \(ref ?? "null"), \(topic), \(event), \(payloadJSON)]" }

    static func decode(_ text: String, vsn: String) -> TestFrame? {
        guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else { return nil }
        func string(_ any: Any?) -> String? { any as? String }
        func payloadText(_ any: Any?) -> String {
            guard let any, let data = try? JSONSerialization.data(withJSONObject: any) else { return "{}" }
            return String(decoding: data, as: UTF8.self)
        }
        if vsn == "2.0.0" {
            guard let array = value as? [Any], array.count == 5, let topic = array[2] as? String,
                let event = array[3] as? String
            else { return nil }
            return TestFrame(
                joinRef: string(array[0]),
                ref: string(array[1]),
                topic: topic,
                event: event,
                payloadJSON: payloadText(array[4])
            )
        }
        guard let object = value as? [String: Any], let topic = object["topic"] as? String,
            let event = object["event"] as? String
        else { return nil }
        return TestFrame(
            joinRef: string(object["join_ref"]),
            ref: string(object["ref"]),
            topic: topic,
            event: event,
            payloadJSON: payloadText(object["payload"])
        )
    }
}

enum TestSocketError: Error, CustomStringConvertible {
    case timeout(String)
    case closed
    var description: String {
        switch self {
        case .timeout(let what): "timed out waiting for \(what)"
        case .closed: "socket closed"
        }
    }
}

/// A minimal Phoenix Channels client over swift-websocket's WSClient, written from the contract.
///
/// `connect` runs the socket inside the caller's task group; frames arrive in an inbox the test reads with
/// deadlines. Refs start at values unlike the server's so a test can't pass by echoing.
actor PhoenixTestSocket {
    enum Outgoing: Sendable {
        case text(String)
        case close
    }

    let vsn: String
    private var nextRef = 100
    private var inbox = Deque<TestFrame>()
    private var stash: [TestFrame] = []
    private(set) var isClosed = false
    private(set) var closeCode: Int?
    private let outgoing: AsyncStream<Outgoing>.Continuation
    private let outgoingStream: AsyncStream<Outgoing>

    init(vsn: String) {
        self.vsn = vsn
        (outgoingStream, outgoing) = AsyncStream.makeStream(of: Outgoing.self)
    }

    /// Connects and runs the socket until it closes; call inside a task group and use the socket meanwhile.
    nonisolated func run(url: String) async throws {
        let outgoingStream = self.outgoingStream
        let close = try await WebSocketClient.connect(
            url: url,
            configuration: .init(maxFrameSize: 1 << 24),
            logger: Logger(label: "phoenix-test-client")
        ) { inbound, outbound, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await item in outgoingStream {
                        switch item {
                        case .text(let text): try await outbound.write(.text(text))
                        case .close:
                            try await outbound.close(.normalClosure, reason: nil)
                            return
                        }
                    }
                }
                for try await message in inbound.messages(maxSize: 1 << 24) {
                    if case .text(let text) = message, let frame = TestFrame.decode(text, vsn: self.vsn) {
                        await self.deliver(frame)
                    }
                }
                group.cancelAll()
            }
        }
        await finished(code: close.map { Int(UInt16(webSocketErrorCode: $0.closeCode)) })
    }

    /// Like ``run(url:)``, but a connection that cannot be made (its node is down) also ends as closed, so a
    /// reader waiting on the socket learns it at once.
    nonisolated func runUntilClosed(url: String) async {
        do {
            try await run(url: url)
        } catch {
            await finished(code: nil)
        }
    }

    private func deliver(_ frame: TestFrame) {
        inbox.append(frame)
    }

    private func finished(code: Int?) {
        guard !isClosed else { return }
        isClosed = true
        closeCode = code
        outgoing.finish()
    }

    /// Sends raw text.
    func sendRaw(_ text: String) {
        outgoing.yield(.text(text))
    }

    /// Sends a frame and returns its ref.
    @discardableResult
    func push(_ topic: String, _ event: String, _ payload: String = "{}", joinRef: String? = nil) -> String {
        nextRef += 1
        let ref = String(nextRef)
        func quoted(_ value: String?) -> String { value.map { "\"\($0)\"" } ?? "null" }
        if vsn == "2.0.0" {
            sendRaw("[\(quoted(joinRef)),\(quoted(ref)),\(quoted(topic)),\(quoted(event)),\(payload)]")
        } else {
            sendRaw(
                #"{"join_ref":\#(quoted(joinRef)),"ref":\#(quoted(ref)),"topic":\#(quoted(topic)),"event":\#(quoted(event)),"payload":\#(payload)}"#
            )
        }
        return ref
    }

    /// Closes the socket from the client side.
    func close() { outgoing.yield(.close) }

    /// The next frame, waiting up to `timeout`.
    func receive(timeout: Duration = .seconds(10)) async throws -> TestFrame {
        let deadline = ContinuousClock.now + timeout
        while inbox.isEmpty {
            if isClosed { throw TestSocketError.closed }
            guard ContinuousClock.now < deadline else { throw TestSocketError.timeout("a frame") }
            await waitForFrame(until: deadline)
        }
        return inbox.removeFirst()
    }

    /// Waits for the next frame matching `predicate`, keeping the others for later calls.
    func first(
        _ what: String,
        timeout: Duration = .seconds(10),
        where predicate: @Sendable (TestFrame) -> Bool
    ) async throws -> TestFrame {
        if let index = stash.firstIndex(where: predicate) { return stash.remove(at: index) }
        let deadline = ContinuousClock.now + timeout
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw TestSocketError.timeout(what) }
            let frame: TestFrame
            do {
                frame = try await receive(timeout: left)
            } catch TestSocketError.timeout {
                throw TestSocketError.timeout(what)
            }
            if predicate(frame) { return frame }
            stash.append(frame)
        }
    }

    /// The reply to `ref`.
    func reply(to ref: String, timeout: Duration = .seconds(10)) async throws -> TestFrame {
        try await first("reply to \(ref)", timeout: timeout) { $0.event == "phx_reply" && $0.ref == ref }
    }

    /// The next push of `event`.
    func nextPush(_ event: String, timeout: Duration = .seconds(10)) async throws -> TestFrame {
        try await first(event, timeout: timeout) { $0.event == event && $0.ref == nil }
    }

    /// Whether no frame matching arrives within `window` (the frames seen are kept).
    func expectNone(_ event: String, within window: Duration) async -> Bool {
        if stash.contains(where: { $0.event == event }) { return false }
        do {
            _ = try await first(event, timeout: window) { $0.event == event }
            return false
        } catch TestSocketError.timeout {
            return true
        } catch {
            return false  // closed: a socket that cannot receive proves nothing
        }
    }

    /// Waits until the server closes the socket; returns the close code.
    func waitForClose(timeout: Duration = .seconds(10)) async throws -> Int? {
        let deadline = ContinuousClock.now + timeout
        while !isClosed {
            guard ContinuousClock.now < deadline else { throw TestSocketError.timeout("close") }
            if !inbox.isEmpty {
                stash.append(inbox.removeFirst())
                continue
            }
            await waitForFrame(until: deadline)
        }
        return closeCode
    }

    /// Joins `room:chat` and returns the join reply.
    func joinRoom(joinRef: String = "7", payload: String = "{}") async throws -> TestFrame {
        let ref = push("room:chat", "phx_join", payload, joinRef: joinRef)
        return try await reply(to: ref)
    }

    private func waitForFrame(until deadline: ContinuousClock.Instant) async {
        // A test client: a short poll of the inbox keeps it simple and free of lost wake-ups.
        try? await Task.sleep(until: min(deadline, .now + .milliseconds(2)))
    }
}
