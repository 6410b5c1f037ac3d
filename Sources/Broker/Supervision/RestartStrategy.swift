/// Which siblings a static ``Supervisor`` restarts together with a child that must be
/// restarted (OTP's `strategy` flag).
package enum RestartStrategy: Sendable, Hashable {
    /// Restarts only the child that exited, for independent children.
    case oneForOne
    /// Stops every other child in reverse start order, then starts all of them again in start
    /// order, for children that cannot work without each other.
    case oneForAll
    /// Stops the children started after the exited one in reverse start order, then starts the
    /// exited child and those siblings again, for children that depend on earlier ones (a
    /// directory before the actors registered in it).
    case restForOne
}
