import Store
import Testing

@testable import Broker

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
        let offline = membership.localOffline(UserID(1))
        #expect(offline.presence.isEmpty)  // still on b
        let offline2 = membership.localOffline(UserID(2))
        #expect(offline2.presence == [.left(UserID(2))])
        let offline3 = membership.localOffline(UserID(2))
        #expect(offline3.isEmpty)  // not online here any more
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
        let partial = membership.handle(first, at: clock.now)
        #expect(partial.presence.isEmpty)  // not complete yet
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
            let expired = membership.expireSilentNodes(at: clock.now)
            #expect(expired.isEmpty)
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
        let expired = membership.expireSilentNodes(at: clock.now)
        #expect(expired.isEmpty)  // not listening: no judgement
        _ = membership.listened(at: clock.now)
        for _ in 0..<10 {
            clock.advance(by: .seconds(1))
            _ = membership.handle(event(.beat, from: "aaaa"), at: clock.now)
            _ = membership.handle(event(.beat, from: "bbbb"), at: clock.now)
            let expired2 = membership.expireSilentNodes(at: clock.now)
            #expect(expired2.isEmpty)
        }
        #expect(membership.remote["bbbb"] != nil)
    }

    @Test func aFrozenNodeDoesNotDropTheOthersWhenItsOwnBeatsStoppedToo() {
        var membership = listeningWithPeer(users: [1])
        clock.advance(by: .seconds(20))  // SIGSTOP: nothing came back, from anyone
        let expired = membership.expireSilentNodes(at: clock.now)
        #expect(expired.isEmpty)
        let verdict = membership.checkListener(at: clock.now)
        #expect(verdict == .reconnect(.ownBeatsLost))
    }

    @Test func anUnknownBeatingNodeMakesThisOneAskForEveryonesState() {
        var membership = makeMembership()
        _ = membership.listened(at: clock.now)
        clock.advance(by: .seconds(3))
        let effects = membership.handle(event(.beat, from: "cccc", name: "c"), at: clock.now)
        #expect(effects.publish.map(\.k) == [.hello])
        #expect(effects.notices == [.joined(name: "c")])
        let effects2 = membership.handle(event(.beat, from: "cccc", name: "c"), at: clock.now)
        #expect(effects2.isEmpty)
    }

    @Test func theListenerBeatsWhileItsOwnBeatsComeBack() {
        var membership = makeMembership()
        let verdict = membership.checkListener(at: clock.now)
        #expect(verdict == .idle)
        _ = membership.listened(at: clock.now)
        for _ in 0..<10 {
            clock.advance(by: .seconds(1))
            let verdict2 = membership.checkListener(at: clock.now)
            #expect(verdict2 == .beat(sendState: false))
            _ = membership.handle(event(.beat, from: "aaaa"), at: clock.now)
        }
        membership.presenceLost()
        let verdict3 = membership.checkListener(at: clock.now)
        #expect(verdict3 == .beat(sendState: true))
        let verdict4 = membership.checkListener(at: clock.now)
        #expect(verdict4 == .beat(sendState: false))
    }

    @Test func aListenerWhoseOwnBeatsStopComingBackForTheTimeoutReconnects() {
        var membership = makeMembership()
        _ = membership.listened(at: clock.now)
        clock.advance(by: .seconds(5))
        let verdict = membership.checkListener(at: clock.now)
        #expect(verdict == .beat(sendState: false))
        clock.advance(by: .milliseconds(1))
        let verdict2 = membership.checkListener(at: clock.now)
        #expect(verdict2 == .reconnect(.ownBeatsLost))
        membership.channelDown()
        let verdict3 = membership.checkListener(at: clock.now)
        #expect(verdict3 == .idle)
    }

    @Test func aLaggingListenerLetsGoOnlyWhileTheNotificationQueueFills() {
        var membership = makeMembership()
        _ = membership.listened(at: clock.now)
        clock.advance(by: .seconds(2))
        #expect(!membership.isLagging(at: clock.now))
        let verdict = membership.checkListener(at: clock.now, queueUsage: 0.9)
        #expect(verdict == .beat(sendState: false))  // not late yet
        clock.advance(by: .milliseconds(1_500))
        #expect(membership.isLagging(at: clock.now))
        let verdict2 = membership.checkListener(at: clock.now, queueUsage: 0.1)
        #expect(verdict2 == .beat(sendState: false))  // late, queue fine
        let verdict3 = membership.checkListener(at: clock.now, queueUsage: nil)
        #expect(verdict3 == .beat(sendState: false))  // unknown usage
        let verdict4 = membership.checkListener(at: clock.now, queueUsage: 0.3)
        #expect(verdict4 == .reconnect(.queueFilling))
        _ = membership.handle(event(.beat, from: "aaaa"), at: clock.now)  // caught up: no longer late
        #expect(!membership.isLagging(at: clock.now))
        let verdict5 = membership.checkListener(at: clock.now, queueUsage: 0.9)
        #expect(verdict5 == .beat(sendState: false))
    }
}
