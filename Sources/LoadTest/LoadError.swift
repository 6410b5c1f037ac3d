/// Failures of a run that stop it (bad input, a worker that broke, a refused target).
enum LoadError: Error, CustomStringConvertible {
    /// The seed file is unreadable or inconsistent.
    case invalidSeed(String)
    /// A target or source address outside the loopback range, or an unusable URL.
    case refusedAddress(String)
    /// The requested load does not fit this process's limits.
    case limit(String)
    /// A worker process failed or broke the protocol.
    case worker(String)
    /// The server process to sample cannot be read.
    case serverProcess(String)

    /// A one-line explanation.
    var description: String {
        switch self {
        case .invalidSeed(let text): "invalid seed: \(text)"
        case .refusedAddress(let text): "refused: \(text)"
        case .limit(let text): "limit: \(text)"
        case .worker(let text): "worker: \(text)"
        case .serverProcess(let text): "server process: \(text)"
        }
    }
}
