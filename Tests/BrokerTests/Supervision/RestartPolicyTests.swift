import Broker
import Testing

/// OTP's `do_restart/3` table.
@Suite(.timeLimit(.minutes(1)))
struct RestartPolicyTests {
    /// Every policy against every kind of exit, with the expected decision.
    static let cases: [(RestartPolicy, ExitReason, Bool)] = [
        (.permanent, .normal, true),
        (.permanent, .shutdown, true),
        (.permanent, .abnormal(InjectedFault(childID: "x")), true),
        (.transient, .normal, false),
        (.transient, .shutdown, false),
        (.transient, .abnormal(InjectedFault(childID: "x")), true),
        (.temporary, .normal, false),
        (.temporary, .shutdown, false),
        (.temporary, .abnormal(InjectedFault(childID: "x")), false),
    ]

    @Test(arguments: Self.cases)
    func restartIsDecidedAsOTPDoRestartDecides(policy: RestartPolicy, reason: ExitReason, restarts: Bool) {
        #expect(policy.shouldRestart(after: reason) == restarts)
    }
}
