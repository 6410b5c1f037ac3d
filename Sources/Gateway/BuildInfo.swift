import CBuildInfo

/// What this build is: `broker --version`, the `broker_build_info` metric and the API document's version.
package enum BuildInfo {
    /// The broker's release version.
    package static let version = "0.9.0"
    /// The git commit it was built from (12 hex digits, `-dirty` when built with uncommitted changes), or
    /// `unknown` when built without git.
    package static let commit = String(cString: broker_build_commit())
    /// `0.9.0 (commit 0123456789ab)`.
    package static var description: String { "\(version) (commit \(commit))" }
}
