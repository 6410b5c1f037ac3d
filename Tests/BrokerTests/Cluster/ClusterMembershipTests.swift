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
        let result1 = membership.localOffline(UserID(1))
        #expect(result1.presence.isEmpty)  // still on b
        let result2 = membership.localOffline(UserID(2))
        #expect(result2.presence == [.left(UserID(2))])
        let result3 = membership.localOffline(UserID(2))
        #expect(result3.isEmpty)  // not online here any more
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
        let result4 = membership.handle(first, at: clock.now)
        #expect(result4.presence.isEmpty)  // not complete yet
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
            let result5 = membership.expireSilentNodes(at: clock.now)
            #expect(result5.isEmpty)
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
        let result6 = membership.expireSilentNodes(at: clock.now)
        #expect(result6.isEmpty)  // not listening: no judgement
        _ = membership.listened(at: clock.now)
        for _ in 0..<10 {
            clock.advance(by: .seconds(1))
            _ = membership.handle(event(.beat, from: "aaaa"), at: clock.now)
            _ = membership.handle(event(.beat, from: "bbbb"), at: clock.now)
            let result7 = membership.expireSilentNodes(at: clock.now)
            #expect(result7.isEmpty)
        }
        #expect(membership.remote["bbbb"] != nil)
    }

    @Test func aFrozenNodeDoesNotDropTheOthersWhenItsOwnBeatsStoppedToo() {
        var membership = listeningWithPeer(users: [1])
        clock.advance(by: .seconds(20))  // SIGSTOP: nothing came back, from anyone
        let result8 = membership.expireSilentNodes(at: clock.now)
        #expect(result8.isEmpty)
        let result9 = membership.checkListener(at: clock.now)
        #expect(result9 == .reconnect(.ownBeatsLost))
    }

    @Test func anUnknownBeatingNodeMakesThisOneAskForEveryonesState() {
        var membership = makeMembership()
        _ = membership.listened(at: clock.now)
        clock.advance(by: .seconds(3))
        let effects = membership.handle(event(.beat, from: "cccc", name: "c"), at: clock.now)
        #expect(effects.publish.map(\.k) == [.hello])
        #expect(effects.notices == [.joined(name: "c")])
        let result10 = membership.handle(event(.beat, from: "cccc", name: "c"), at: clock.now)
        #expect(result10.isEmpty)
    }

    @Test func theListenerBeatsWhileItsOwnBeatsComeBack() {
        var membership = makeMembership()
        let result11 = membership.checkListener(at: clock.now)
        #expect(result11 == .idle)
        _ = membership.listened(at: clock.now)
        for _ in 0..<10 {
            clock.advance(by: .seconds(1))
            let result12 = membership.checkListener(at: clock.now)
            #expect(result12 == .beat(sendState: false))
            _ = membership.handle(event(.beat, from: "aaaa"), at: clock.now)
        }
        membership.presenceLost()
        let result13 = membership.checkListener(at: clock.now)
        #expect(result13 == .beat(sendState: true))
        let result14 = membership.checkListener(at: clock.now)
        #expect(result14 == .beat(sendState: false))
    }

    @Test func aListenerWhoseOwnBeatsStopComingBackForTheTimeoutReconnects() {
        var membership = makeMembership()
        _ = membership.listened(at: clock.now)
        clock.advance(by: .seconds(5))
        let result15 = membership.checkListener(at: clock.now)
        #expect(result15 == .beat(sendState: false))
        clock.advance(by: .milliseconds(1))
        let result16 = membership.checkListener(at: clock.now)
        #expect(result16 == .reconnect(.ownBeatsLost))
        membership.channelDown()
        let result17 = membership.checkListener(at: clock.now)
        #expect(result17 == .idle)
    }

    @Test func aLaggingListenerLetsGoOnlyWhileTheNotificationQueueFills() {
        var membership = makeMembership()
        _ = membership.listened(at: clock.now)
        clock.advance(by: .seconds(2))
        #expect(!membership.isLagging(at: clock.now))
        let result18 = membership.checkListener(at: clock.now, queueUsage: 0.9)
        #expect(result18 == .beat(sendState: false))  // not late yet
        clock.advance(by: .milliseconds(1_500))
        #expect(membership.isLagging(at: clock.now))
        let result19 = membership.checkListener(at: clock.now, queueUsage: 0.1)
        #expect(result19 == .beat(sendState: false))  // late, queue fine
        let result20 = membership.checkListener(at: clock.now, queueUsage: nil)
        #expect(result20 == .beat(sendState: false))  // unknown usage
        let result21 = membership.checkListener(at: clock.now, queueUsage: 0.3)
        #expect(result21 == .reconnect(.queueFilling))
        _ = membership.handle(event(.beat, from: "aaaa"), at: clock.now)  // caught up: no longer late
        #expect(!membership.isLagging(at: clock.now))
        let result22 = membership.checkListener(at: clock.now, queueUsage: 0.9)
        #expect(result22 == .beat(sendState: false))
    }
}
