/// The error a test child throws when a test tells it to crash or to fail its start.
struct InjectedFault: Error, Equatable {
    /// The child the fault was injected into.
    var childID: String
}
