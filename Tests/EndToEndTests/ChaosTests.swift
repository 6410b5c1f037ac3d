import Foundation
import Synchronization
import Testing

/// Two nodes on a PostgreSQL server of the test's own, under traffic from eight users, for about two
/// minutes of faults: a node killed with SIGKILL every 20 s (alternating, restarted at once on the same
/// database), PostgreSQL stopped and started again once, a node frozen with SIGSTOP for 10 s once every client is
/// back on its home node (up to 25 s if the other node has not yet acknowledged 20 messages meanwhile, which it
/// must).
///
/// Every user is one client with one socket at a time, on either node, sending to its two neighbours on a
/// ring of conversations, one message at a time, each with a `client_id`, and retrying it with the same
/// `client_id` on `unavailable`, on a socket lost before the reply, or on a reply that does not come. A
/// client whose socket is lost reconnects by itself to a live node and rejoins `room:chat` with the
/// highest id it has seen as `last_seen_id`.
///
/// Then: every acknowledged message is stored once (history), each recipient got every message addressed
/// to it exactly once in ascending id order (live or recovered), and both nodes are ready, take a new
/// socket and exit 0 on SIGTERM, with no manual step.
///
/// Everything waits on events (readiness, acknowledgements) with generous timeouts; the only fixed times
/// are the faults' schedule and the freeze's least length. It runs about 2¼ minutes.
@Suite(.timeLimit(.minutes(4)))
struct ChaosTests {
    static let userCount = 8

    @Test func twoNodesUnderTrafficLoseNothingThroughKillsAFreezeAndAPostgreSQLRestart() async throws {
        let server = try await PrivatePostgres.start()
        do {
            try await chaos(on: server)
        } catch {
            await server.remove()
            throw error
        }
        await server.remove()
    }

    private func chaos(on server: PrivatePostgres) async throws {
        try await ClusterFixture.run(databaseURL: server.url) { cluster in
            var signedUp: [ChatUser] = []
            for index in 0..<Self.userCount { signedUp.append(try await cluster.chat(index % 2).signUp("u\(index)@x.io")) }
            let users = signedUp
            // A ring: user i talks with i-1 and i+1.
            var conversations: [Int] = []
            for index in 0..<Self.userCount {
                conversations.append(try await cluster.chat(index % 2).conversation(users[index], users[(index + 1) % Self.userCount]))
            }
            let ring = conversations
            let clients = (0..<Self.userCount).map { index in
                let previous = (index + Self.userCount - 1) % Self.userCount
                return ChaosClient(
                    index: index,
                    user: users[index],
                    peers: [(users[(index + 1) % Self.userCount], ring[index]), (users[previous], ring[previous])]
                )
            }
            let board = ChaosBoard()
            let started = ContinuousClock.now
            let reports = try await withThrowingTaskGroup(of: ChaosClient.Report.self, returning: [ChaosClient.Report].self) { group in
                for client in clients { group.addTask { await client.run(cluster: cluster, board: board) } }
                do {
                    try await conduct(cluster: cluster, server: server, board: board)
                } catch {
                    board.finish(targets: [:], after: .zero)
                    throw error
                }
                // Every client finishes the message it is sending; then each reads up to the last id addressed to it.
                board.stopSending.store(true, ordering: .relaxed)
                try await waitFor("every client to finish its last send", timeout: .seconds(120)) {
                    board.sendersDone.load(ordering: .relaxed) == Self.userCount
                }
                let acks = board.acks.withLock { $0 }
                var targets: [Int: Int] = [:]
                for ack in acks { targets[ack.recipient] = max(targets[ack.recipient] ?? 0, ack.id) }
                board.finish(targets: targets, after: .seconds(90))
                var reports: [ChaosClient.Report] = []
                for try await report in group { reports.append(report) }
                return reports
            }
            let acks = board.acks.withLock { $0 }
            let problems = board.problems.withLock { $0 }
            let rejoins = reports.map(\.rejoins).reduce(0, +)
            print(
                """
                chaos: \(acks.count) messages acknowledged in \(ContinuousClock.now - started); \
                \(board.unavailable.load(ordering: .relaxed)) unavailable replies, \
                \(reports.map(\.lostSessions).reduce(0, +)) sockets lost, \(reports.map(\.moves).reduce(0, +)) moves home, \(rejoins) rejoins with last_seen_id \
                recovering \(reports.map(\.recovered).reduce(0, +)) messages \
                (\(reports.map(\.truncated).reduce(0, +)) truncated), \
                \(reports.map(\.resent).reduce(0, +)) messages acknowledged on a resend, \
                \(reports.map(\.replyTimeouts).reduce(0, +)) replies not in time
                """
            )
            print("chaos timeline: " + board.timeline.withLock { $0 }.joined(separator: "; "))
            // (Counts and flags in the expectations, not the arrays: a failure names what is wrong, briefly.)
            let problemCount = problems.count
            #expect(problemCount == 0, "\(problems.prefix(10))")
            #expect(acks.count >= 100, "traffic went on")
            #expect(rejoins >= 2, "the faults made clients reconnect and recover")

            // Nothing acknowledged is lost, and nothing is stored twice (every resend found its message).
            let reader = cluster.chat(0)
            var addressed: [Int: [Int]] = [:]
            for (index, conversation) in ring.enumerated() {
                let owner = users[index]
                var stored: [[String: Any]] = []
                var after = 0
                while true {
                    let page = try await reader.history(conversation, as: owner, query: "?after_id=\(after)&limit=200")
                    guard let last = page.last?["id"] as? Int else { break }
                    stored += page
                    after = last
                }
                let storedIDs = stored.compactMap { $0["id"] as? Int }
                let ackedIDs = acks.filter { $0.conversation == conversation }.map(\.id)
                let storedOnce = storedIDs == ackedIDs.sorted()
                #expect(
                    storedOnce,
                    """
                    conversation \(conversation): every acknowledged message stored, once: \(ackedIDs.count) acknowledged, \
                    \(storedIDs.count) stored, lost \(Set(ackedIDs).subtracting(storedIDs).sorted().prefix(5)), \
                    unacknowledged \(Set(storedIDs).subtracting(ackedIDs).sorted().prefix(5))
                    """
                )
                let clientIDs = Set(stored.compactMap { $0["client_id"] as? String }).count
                #expect(clientIDs == stored.count, "one message per client_id")
                for message in stored {
                    guard let id = message["id"] as? Int, let sender = message["sender_id"] as? Int else { continue }
                    let recipient = sender == owner.id ? users[(index + 1) % Self.userCount].id : owner.id
                    addressed[recipient, default: []].append(id)
                }
            }
            // Each recipient got every message addressed to it, once, in ascending order, across all its rejoins.
            for report in reports {
                let expected = (addressed[report.user] ?? []).sorted()
                let exactlyOnceInOrder = report.received == expected
                #expect(
                    exactlyOnceInOrder,
                    """
                    user \(report.user): \(report.received.count) received, \(expected.count) addressed; \
                    missing \(Set(expected).subtracting(report.received).sorted().prefix(5)), \
                    duplicates \(report.received.count - Set(report.received).count)
                    """
                )
            }

            // No manual step: both nodes are ready by themselves, take new sockets, and deliver across.
            for node in cluster.nodes.all { try await ClusterFixture.waitUntilReady(node, timeout: .seconds(60)) }
            try await cluster.withSockets([(0, users[0]), (1, users[1])]) { sockets in
                #expect(try await sockets[0].joinRoom(joinRef: "end0").status == "ok")
                #expect(try await sockets[1].joinRoom(joinRef: "end1").status == "ok")
                let ref = await sockets[0].push(
                    "room:chat",
                    "send_msg",
                    sendPayload(to: users[1], conversation: ring[0], text: "after the storm"),
                    joinRef: "end0"
                )
                let id = try #require(try await sockets[0].reply(to: ref, timeout: .seconds(30)).messageID)
                #expect(try await sockets[1].nextPush("receive_msg", timeout: .seconds(30)).messageID == id)
            }
        }
    }

    /// The faults, about every 10 s for two minutes, each once the service has made progress since the last.
    private func conduct(cluster: ClusterFixture, server: PrivatePostgres, board: ChaosBoard) async throws {
        try await waitForProgress(board, "traffic to start")
        let start = ContinuousClock.now
        func at(_ seconds: Int) async throws {
            try await Task.sleep(until: start + .seconds(seconds))
        }
        func kill(_ index: Int) async throws {
            try await waitForProgress(board, "traffic before killing node \(index + 1)")
            let victim = cluster.nodes[index]
            board.note("kill -9 node \(index + 1)")
            try await victim.kill()
            victim.removeFiles()
            try await cluster.restart(index)
            try await ClusterFixture.waitUntilReady(cluster.nodes[index], timeout: .seconds(60))
            board.note("node \(index + 1) ready again")
        }
        try await at(20)
        try await kill(0)
        try await at(30)
        try await waitForProgress(board, "traffic before the PostgreSQL restart")
        board.note("PostgreSQL stopped")
        try await server.halt()
        let unavailableBefore = board.unavailable.load(ordering: .relaxed)
        // The outage lasts until the clients have seen it (or a while, on a machine too busy to send).
        try? await waitFor("sends answered unavailable", timeout: .seconds(10)) {
            board.unavailable.load(ordering: .relaxed) >= unavailableBefore + 5
        }
        try await server.resume()
        board.note("PostgreSQL started")
        for node in cluster.nodes.all { try await ClusterFixture.waitUntilReady(node, timeout: .seconds(60)) }
        try await at(40)
        try await kill(1)
        try await at(60)
        try await kill(0)
        try await at(65)
        try await waitForProgress(board, "traffic before freezing node 2")
        // Every client on its home node first. Node 1's clients spend 5 s on node 2 after the kill at 60 s:
        // frozen then, node 2 would hold every client, and nothing would show that node 1 goes on without it.
        try await waitFor("every client back on its home node", timeout: .seconds(60)) {
            board.atHome.load(ordering: .relaxed) == Self.userCount
        }
        let frozen = cluster.nodes[1]
        Foundation.kill(frozen.process.processIdentifier, SIGSTOP)
        board.note("SIGSTOP node 2")
        // At least 10 s, and until the clients of the other node had 20 messages acknowledged meanwhile: a
        // frozen node holds nothing the others need (a message batch is one statement, its lock PostgreSQL's).
        // Those 20 must come within 25 s of the freeze, before any client's 30 s reply limit: a client that
        // gives up on a stalled node 1 and reconnects could otherwise supply them.
        let beforeFreeze = board.ackCount.load(ordering: .relaxed)
        try? await Task.sleep(for: .seconds(10))  // the freeze itself
        let othersWentOn =
            (try? await waitFor("acknowledgements while node 2 is frozen", timeout: .seconds(15)) {
                board.ackCount.load(ordering: .relaxed) >= beforeFreeze + 20
            }) != nil
        Foundation.kill(frozen.process.processIdentifier, SIGCONT)
        board.note("SIGCONT node 2")
        #expect(othersWentOn, "node 1 kept acknowledging while node 2 was frozen")
        try await ClusterFixture.waitUntilReady(frozen, timeout: .seconds(60))
        try await at(80)
        try await kill(1)
        try await at(100)
        try await kill(0)
        try await at(120)
        try await waitForProgress(board, "traffic after the last fault")
    }

    /// Waits until the clients have had `count` more messages acknowledged.
    private func waitForProgress(_ board: ChaosBoard, _ what: String, count: Int = 20) async throws {
        let target = board.ackCount.load(ordering: .relaxed) + count
        try await waitFor(what, timeout: .seconds(60)) { board.ackCount.load(ordering: .relaxed) >= target }
    }
}

/// Polls `condition` until it holds, or fails after `timeout`.
private func waitFor(_ what: String, timeout: Duration, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TestSocketError.timeout(what) }
        try await Task.sleep(for: .milliseconds(50))  // polling the clients' shared counters
    }
}

/// What the chaos test's clients share with its conductor.
final class ChaosBoard: Sendable {
    struct Ack: Sendable {
        var id: Int
        var conversation: Int
        var recipient: Int
    }

    let acks = Mutex<[Ack]>([])
    let ackCount = Atomic<Int>(0)
    /// Clients joined on their home node right now.
    let atHome = Atomic<Int>(0)
    let unavailable = Atomic<Int>(0)
    /// What a client saw that the contract rules out.
    let problems = Mutex<[String]>([])
    /// Set when the faults are over: each client finishes the message it is sending, then counts itself here.
    let stopSending = Atomic<Bool>(false)
    let sendersDone = Atomic<Int>(0)
    /// Once every client stopped sending: the highest id addressed to each user, and until when to wait for it.
    let targets = Mutex<(ids: [Int: Int], deadline: ContinuousClock.Instant)?>(nil)

    func record(_ ack: Ack) {
        acks.withLock { $0.append(ack) }
        ackCount.wrappingAdd(1, ordering: .relaxed)
    }

    func problem(_ text: String) { problems.withLock { $0.append(text) } }

    /// When the board was made (the test's start), and what happened when: the faults and every reply that did
    /// not come in time, printed at the end so that a slow reply can be put next to the fault that caused it.
    let started = ContinuousClock.now
    let timeline = Mutex<[String]>([])

    func note(_ what: String) {
        let seconds = (ContinuousClock.now - started).components.seconds
        timeline.withLock { $0.append("\(seconds) s \(what)") }
    }

    func finish(targets ids: [Int: Int], after wait: Duration) {
        targets.withLock { $0 = (ids, .now + wait) }
    }
}

/// One user's device: one socket at a time, reconnecting by itself.
struct ChaosClient: Sendable {
    let index: Int
    let user: ChatUser
    /// Whom it sends to, and in which conversation.
    let peers: [(user: ChatUser, conversation: Int)]

    struct Report: Sendable {
        var user: Int
        /// Ids of messages from others, in the order they arrived, over every socket and join.
        var received: [Int] = []
        var joins = 0
        var rejoins = 0
        var recovered = 0
        var truncated = 0
        var lostSessions = 0
        /// Sockets closed by the client to go back to its home node.
        var moves = 0
        var resent = 0
        var replyTimeouts = 0
    }

    private struct Pending {
        var clientID: String
        var peer: Int
        var attempts = 0
    }

    private struct State {
        var report: Report
        var sequence = 0
        var pending: Pending?
        var stoppedSending = false
        /// The current join's ref, whose pushes count (a push of an older join is a leftover).
        var join: String?
    }

    private enum SessionEnd: Error {
        case lost(String)
        /// Away from its home node for a while: back home, so that both nodes keep clients.
        case goHome
        case finished
    }

    func run(cluster: ClusterFixture, board: ChaosBoard) async -> Report {
        var state = State(report: Report(user: user.id))
        let home = index % 2
        var node = home
        while !Task.isCancelled {
            let socket = PhoenixTestSocket(vsn: "2.0.0")
            let url = cluster.chat(node).socketURL(user, vsn: "2.0.0")
            let runner = Task { await socket.runUntilClosed(url: url) }
            let end = await session(on: socket, away: node != home, state: &state, board: board)
            await socket.close()
            runner.cancel()
            switch end {
            case .finished: return state.report
            case .goHome:
                state.report.moves += 1
                node = home
            case .lost:
                state.report.lostSessions += 1
                node = (node + 1) % 2  // any live node: the other one first
                if let targets = board.targets.withLock({ $0 }), ContinuousClock.now > targets.deadline {
                    return state.report  // gave up; the assertions say what is missing
                }
                try? await Task.sleep(for: .milliseconds(100))  // a reconnecting client's back-off
            }
        }
        return state.report
    }

    private func session(on socket: PhoenixTestSocket, away: Bool, state: inout State, board: ChaosBoard) async -> SessionEnd {
        state.join = nil
        do {
            try await join(on: socket, state: &state, board: board)
            let joined = ContinuousClock.now
            if !away { board.atHome.wrappingAdd(1, ordering: .relaxed) }
            defer { if !away { board.atHome.wrappingSubtract(1, ordering: .relaxed) } }
            while true {
                try Task.checkCancellation()
                if away, state.pending == nil, ContinuousClock.now - joined > .seconds(5) { return .goHome }
                if state.pending == nil {
                    if board.stopSending.load(ordering: .relaxed) {
                        if !state.stoppedSending {
                            state.stoppedSending = true
                            board.sendersDone.wrappingAdd(1, ordering: .relaxed)
                        }
                        guard let targets = board.targets.withLock({ $0 }) else {
                            try await drain(socket, for: .milliseconds(200), state: &state, board: board)
                            continue
                        }
                        if (state.report.received.last ?? 0) >= targets.ids[user.id] ?? 0 { return .finished }
                        guard ContinuousClock.now < targets.deadline else { return .finished }
                        try await drain(socket, for: .milliseconds(200), state: &state, board: board)
                        continue
                    }
                    state.sequence += 1
                    state.pending = Pending(clientID: "u\(user.id)-\(state.sequence)", peer: state.sequence % 2)
                }
                try await send(on: socket, state: &state, board: board)
                try await drain(socket, for: .milliseconds(20), state: &state, board: board)  // the pace of a chatty user
            }
        } catch let end as SessionEnd {
            return end
        } catch {
            return .lost("\(error)")
        }
    }

    /// Joins `room:chat` from the highest id seen; rejoins from the last recovered id while truncated.
    private func join(on socket: PhoenixTestSocket, state: inout State, board: ChaosBoard) async throws {
        while true {
            state.report.joins += 1
            let ref = "j\(state.report.joins)"
            let lastSeen = state.report.received.last ?? 0
            state.join = nil  // what the old join still pushes, the new one recovers
            let sent = await socket.push("room:chat", "phx_join", #"{"last_seen_id": \#(lastSeen)}"#, joinRef: ref)
            let reply = try await awaitReply(sent, on: socket, state: &state, board: board)
            guard reply.status == "ok" else { throw SessionEnd.lost("join: \(reply)") }  // e.g. unavailable
            state.join = ref
            if state.report.joins > 1 { state.report.rejoins += 1 }
            let recovered = reply.response["recovered"] as? Int ?? 0
            state.report.recovered += recovered
            guard reply.response["truncated"] as? Bool == true else { return }
            // Take the recovered ones, then ask for the rest.
            state.report.truncated += 1
            let target = state.report.received.count + recovered
            while state.report.received.count < target {
                try await handle(try await socket.receive(timeout: .seconds(30)), state: &state, board: board)
            }
        }
    }

    /// Sends the pending message once; clears it when acknowledged.
    private func send(on socket: PhoenixTestSocket, state: inout State, board: ChaosBoard) async throws {
        guard var pending = state.pending, let join = state.join else { return }
        let peer = peers[pending.peer]
        let payload = sendPayload(to: peer.user, conversation: peer.conversation, text: pending.clientID, clientID: pending.clientID)
        pending.attempts += 1
        state.pending = pending
        let ref = await socket.push("room:chat", "send_msg", payload, joinRef: join)
        let reply = try await awaitReply(ref, on: socket, state: &state, board: board)
        if reply.status == "ok", let message = reply.message, let id = message["id"] as? Int {
            if message["client_id"] as? String != pending.clientID || message["conversation_id"] as? Int != peer.conversation {
                board.problem("user \(user.id): \(pending.clientID) acknowledged as \(reply)")
            }
            board.record(.init(id: id, conversation: peer.conversation, recipient: peer.user.id))
            if pending.attempts > 1 { state.report.resent += 1 }
            state.pending = nil
        } else if reply.reason == "unavailable" {
            board.unavailable.wrappingAdd(1, ordering: .relaxed)
            try await drain(socket, for: .milliseconds(100), state: &state, board: board)  // then the same client_id again
        } else {
            board.problem("user \(user.id): \(pending.clientID) answered \(reply)")
            try await drain(socket, for: .milliseconds(100), state: &state, board: board)
        }
    }

    /// Reads frames until the reply to `ref`; a lost socket or a reply 30 s late ends the session.
    private func awaitReply(
        _ ref: String,
        on socket: PhoenixTestSocket,
        state: inout State,
        board: ChaosBoard
    ) async throws -> TestFrame {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            try Task.checkCancellation()
            let frame: TestFrame
            do {
                frame = try await socket.receive(timeout: deadline - ContinuousClock.now)
            } catch TestSocketError.timeout {
                state.report.replyTimeouts += 1
                board.note("user \(user.id): no reply to \(ref) in 30 s")
                throw SessionEnd.lost("no reply to \(ref)")
            }
            if frame.event == "phx_reply", frame.ref == ref { return frame }
            try await handle(frame, state: &state, board: board)
        }
    }

    /// Reads and handles frames for `duration`.
    private func drain(_ socket: PhoenixTestSocket, for duration: Duration, state: inout State, board: ChaosBoard) async throws {
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline {
            try Task.checkCancellation()
            do {
                try await handle(try await socket.receive(timeout: deadline - ContinuousClock.now), state: &state, board: board)
            } catch TestSocketError.timeout {
                return
            }
        }
    }

    /// Records a message from another user pushed to the current join, checking it comes after every earlier one.
    private func handle(_ frame: TestFrame, state: inout State, board: ChaosBoard) async throws {
        guard frame.event == "receive_msg", let join = state.join, frame.joinRef == join,
            let message = frame.message, let id = message["id"] as? Int, let sender = message["sender_id"] as? Int
        else { return }
        guard sender != user.id else { return }  // its own message, sent from an earlier socket
        if !peers.contains(where: { $0.user.id == sender && $0.conversation == message["conversation_id"] as? Int }) {
            board.problem("user \(user.id) got a message not addressed to it: \(frame)")
        }
        if let last = state.report.received.last, id <= last {
            board.problem("user \(user.id), join \(join) (\(state.report.joins) joins): \(id) after \(last)")
        }
        state.report.received.append(id)
    }
}
