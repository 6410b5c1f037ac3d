import Foundation
import FuzzSupport
import Store

@testable import Broker

/// Fuzzes what a node reads from the cluster channel: `FeedCodec.decode` (the `F` message feed and `C` control
/// payloads) and `ClusterEvent.decode` (the control events' JSON), with the input as the notification payload.
///
/// Invariants: a decoded feed encoded again by `FeedCodec.encodeFeed` decodes to the same origin and
/// messages (a message too large to carry goes as its id alone, as designed); a control payload is kept
/// verbatim; a decoded event encodes to text that decodes to the same event.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    switch FeedCodec.decode(text) {
    case .feed(let origin, let messages):
        checkFeed(origin: origin, messages)
    case .control(let event):
        fuzzCheck(FeedCodec.encodeControl(event) == text, "control payload changed")
        checkEvent(event)
    case nil:
        break
    }
    checkEvent(text)
    return 0
}

/// Encodes a decoded feed again and compares.
func checkFeed(origin: String, _ messages: [FeedMessage]) {
    let entries = messages.compactMap { feed in
        feed.message.map { (message: $0, recipient: feed.recipientID, socket: feed.originSocket) }
    }
    // Entries of ids alone cannot be encoded again (the codec only writes those for messages too large).
    guard entries.count == messages.count else { return }
    var again: [FeedMessage] = []
    for payload in FeedCodec.encodeFeed(origin: origin, entries) {
        fuzzCheck(payload.utf8.count <= FeedCodec.maxPayloadBytes, "payload of \(payload.utf8.count) bytes")
        guard case .feed(let decodedOrigin, let decoded) = FeedCodec.decode(payload) else {
            return fuzzCheck(false, "encoded feed does not decode: \(payload)")
        }
        fuzzCheck(decodedOrigin == origin, "origin \(origin.debugDescription) became \(decodedOrigin.debugDescription)")
        again += decoded
    }
    fuzzCheck(again.count == messages.count, "\(messages.count) messages became \(again.count)")
    for (before, after) in zip(messages, again) {
        var expected = before
        if after.message == nil { expected.message = nil }
        fuzzCheck(after == expected, "\(before) became \(after)")
    }
}

/// Decodes an event and checks that what `encoded()` sends decodes to the same event (compared as JSON with
/// sorted keys: `JSONEncoder` does not keep its key order from one call to the next).
func checkEvent(_ text: String) {
    guard let event = ClusterEvent.decode(text) else { return }
    let sent = event.encoded()
    let received = ClusterEvent.decode(sent)
    fuzzCheck(received != nil, "encoded event \(sent) does not decode")
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let before = try? encoder.encode(event)
    let after = received.flatMap { try? encoder.encode($0) }
    fuzzCheck(before != nil && before == after, "event \(sent) decodes to another event")
}

/// The program's entry point (see `runFuzzer`).
@_cdecl("FuzzClusterFeed_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzOneInput(data, size) }
}
