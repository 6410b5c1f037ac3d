@testable import Broker
import Store
import Testing

/// The cluster's membership and service-wide presence as a pure state machine, driven by a manual clock.
@Suite(.timeLimit(.minutes(1)))
struct ClusterMembershipTests {
    typealias Membership = ClusterMembership<TestClock>

    let clock = TestClock()
    let me = ClusterNode(name: "a", instance: "aaaa")

    func makeMembership() -> Membership {
        Membership(node: me, configuration: .init(), now: clock.now)
    }

    func event(_ kind: ClusterEvent.Kind, from origin: String, name: String? = nil, users: [[Int64]]? = nil) -> ClusterEvent {
        var event = ClusterEvent(kind, origin: origin)
        event.n = name
        event.u = users
        return event
    }

    /// Listens and lets a remote node `b` announce `users` (online since 1 µs).
    func listeningWithPeer(users: [Int64]) -> Membership {
        var membership = makeMembership()
        _ = membership.listened(at: clock.now)
        _ = membership.handle(event(.hello, from: "bbbb", name: "b"), at: clock.now)
        _ = membership.handle(event(.online, from: "bbbb", users: users.map { [$0, 1] }), at: clock.now)
        return membership
    }

    @Test func listeningSaysHelloWithTheWholeState() {
        var membership = makeMembership()
        _ = membership.localOnline(UserID(7), at: Timestamp(microseconds: 5))
        let effects = membership.listened(at: clock.now)
        #expect(effects.publish.map(\.k) == [.hello])
        #expect(effects.sendState)
        let state = membership.stateEvents(maxBytes: 7_999)
        #expect(state.count == 1)
        #expect(state.first?.u == [[7, 5]])
        #expect(state.first?.last == true)
    }

    @Test func aLocalUserIsAnnouncedAndJoinsOnlyWhenOfflineEverywhere() {
        var membership = listeningWithPeer(users: [1])
        let first = membership.localOnline(UserID(1), at: Timestamp(microseconds: 9))
        #expect(first.publish.map(\.k) == [.online])
        #expect(first.presence.isEmpty)  // online on b already
        let second = membership.localOnline(UserID(2), at: Timestamp(microseconds: 9))
        #expect(second.presence == [.joined(UserID(2), Timestamp(microseconds: 9))])
        #expect(membership.localOffline(UserID(1)).presence.isEmpty)  // still on b
        #expect(membership.localOffline(UserID(2)).presence == [.left(UserID(2))])
        #expect(membership.localOffline(UserID(2)).isEmpty)  // not online here any more
    }

    @Test func helloIsAnsweredWithTheStateAndTheNodeIsNoted() {
        var membership = makeMembership()
        _ = membership.listened(at: clock.now)
        let effects = membership.handle(event(.hello, from: "bbbb", name: "b"), at: clock.now)
        #expect(effects.sendState)
        #expect(effects.notices == [.joined(name: "b")])
        #expect(membership.remote["bbbb"]?.name == "b")
    }

    @Test func aStateInPartsReplacesTheNodesUsersWhenComplete() {
        var membership = listeningWithPeer(users: [1, 2])
        var first = event(.state, from: "bbbb", users: [[2, 1], [3, 4]])
        first.p = 0
        first.last = false
        #expect(membership.handle(first, at: clock.now).presence.isEmpty)  // not complete yet
        var second = event(.state, from: "bbbb", users: [[5, 6]])
        second.p = 1
        second.last = true
        let effects = membership.handle(second, at: clock.now)
        let joined = effects.presence.compactMap { change -> UserID? in
            guard case .joined(let user, _) = change else { return nil }
            return user
        }
        #expect(Set(joined) == [UserID(3), UserID(5)])
        #expect(effects.presence.contains(.left(UserID(1))))
        #expect(membership.remotePresence(of: [UserID(1), UserID(2), UserID(3)]).map(\.0) == [UserID(2), UserID(3)])
    }

    @Test func byeDropsTheNodeAndItsUsersGoOffline() {
        var membership = listeningWithPeer(users: [1])
        _ = membership.localOnline(UserID(2), at: Timestamp(microseconds: 1))
        _ = membership.handle(event(.online, from: "bbbb", users: [[2, 1]]), at: clock.now)
        let effects = membership.handle(event(.bye, from: "bbbb", name: "b"), at: clock.now)
        #expect(effects.notices == [.left(name: "b")])
        #expect(effects.presence == [.left(UserID(1))])  // 2 is still online here
        #expect(membership.remote.isEmpty)
    }

    @Test func aNodeSilentForTheTimeoutIsDroppedAndItsUsersGoOffline() {
        var membership = listeningWithPeer(users: [1])
        for _ in 0..<5 {
            clock.advance(by: .seconds(1))
            _ = membership.handle(event(.beat, from: "aaaa"), at: clock.now)  // own beats come back; b is silent
            #expect(membership.expireSilentNodes(at: clock.now).isEmpty)
        }
        clock.advance(by: .milliseconds(1_500))
        _ = membership.handle(event(.beat, from: "aaaa"), at: clock.now)
        let effects = membership.expireSilentNodes(at: clock.now)
        #expect(effects.notices == [.silent(name: "b")])
        #expect(effects.presence == [.left(UserID(1))])
        #expect(membership.remotePresence(of: [UserID(1)]).isEmpty)
    }

    @Test func aBeatingNodeStaysAndNothingExpiresBeforeThisNodeListenedLongEnough() {
        var membership = makeMembership()
        _ = membership.handle(event(.hello, from: "bbbb", name: "b"), at: clock.now)
        clock.advance(by: .seconds(10))
        #expect(membership.expireSilentNodes(at: clock.now).isEmpty)  // not listening: no judgement
        _ = membership.listened(at: clock.now)
        for _ in 0..<10 {
            clock.advance(by: .seconds(1))
            _ = membership.handle(event(.beat, from: "aaaa"), at: clock.now)
            _ = membership.handle(event(.beat, from: "bbbb"), at: clock.now)
            #expect(membership.expireSilentNodes(at: clock.now).isEmpty)
        }
        #expect(membership.remote["bbbb"] != nil)
    }

    @Test func aFrozenNodeDoesNotDropTheOthersWhenItsOwnBeatsStoppedToo() {
        var membership = listeningWithPeer(users: [1])
        clock.advance(by: .seconds(20))  // SIGSTOP: nothing came back, from anyone
        #expect(membership.expireSilentNodes(at: clock.now).isEmpty)
        #expect(membership.checkListener(at: clock.now) == .reconnect(.ownBeatsLost))
    }

    @Test func anUnknownBeatingNodeMakesThisOneAskForEveryonesState() {
        var membership = makeMembership()
        _ = membership.listened(at: clock.now)
        clock.advance(by: .seconds(3))
        let effects = membership.handle(event(.beat, from: "cccc", name: "c"), at: clock.now)
        #expect(effects.publish.map(\.k) == [.hello])
        #expect(effects.notices == [.joined(name: "c")])
        #expect(membership.handle(event(.beat, from: "cccc", name: "c"), at: clock.now).isEmpty)
    }

    @Test func theListenerBeatsWhileItsOwnBeatsComeBack() {
        var membership = makeMembership()
        #expect(membership.checkListener(at: clock.now) == .idle)
        _ = membership.listened(at: clock.now)
        for _ in 0..<10 {
            clock.advance(by: .seconds(1))
            #expect(membership.checkListener(at: clock.now) == .beat(sendState: false))
            _ = membership.handle(event(.beat, from: "aaaa"), at: clock.now)
        }
        membership.presenceLost()
        #expect(membership.checkListener(at: clock.now) == .beat(sendState: true))
        #expect(membership.checkListener(at: clock.now) == .beat(sendState: false))
    }

    @Test func aListenerWhoseOwnBeatsStopComingBackForTheTimeoutReconnects() {
        var membership = makeMembership()
        _ = membership.listened(at: clock.now)
        clock.advance(by: .seconds(5))
        #expect(membership.checkListener(at: clock.now) == .beat(sendState: false))
        clock.advance(by: .milliseconds(1))
        #expect(membership.checkListener(at: clock.now) == .reconnect(.ownBeatsLost))
        membership.channelDown()
        #expect(membership.checkListener(at: clock.now) == .idle)
    }

    @Test func aLaggingListenerLetsGoOnlyWhileTheNotificationQueueFills() {
        var membership = makeMembership()
        _ = membership.listened(at: clock.now)
        clock.advance(by: .seconds(2))
        #expect(!membership.isLagging(at: clock.now))
        #expect(membership.checkListener(at: clock.now, queueUsage: 0.9) == .beat(sendState: false))  // not late yet
        clock.advance(by: .milliseconds(1_500))
        #expect(membership.isLagging(at: clock.now))
        #expect(membership.checkListener(at: clock.now, queueUsage: 0.1) == .beat(sendState: false))  // late, queue fine
        #expect(membership.checkListener(at: clock.now, queueUsage: nil) == .beat(sendState: false))  // unknown usage
        #expect(membership.checkListener(at: clock.now, queueUsage: 0.3) == .reconnect(.queueFilling))
        _ = membership.handle(event(.beat, from: "aaaa"), at: clock.now)  // caught up: no longer late
        #expect(!membership.isLagging(at: clock.now))
        #expect(membership.checkListener(at: clock.now, queueUsage: 0.9) == .beat(sendState: false))
    }
}
