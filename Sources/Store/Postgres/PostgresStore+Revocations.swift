import PostgresNIO

/// Revoked tokens looked up in bulk.
extension PostgresStore {
    func revokedTokenIDs(among ids: [String]) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        var revoked: Set<String> = []
        var start = 0
        while start < ids.count {
            let chunk = Array(ids[start..<min(start + 1_000, ids.count)])
            for id in try await fetch(
                "revokedTokenIDs",
                "SELECT jti FROM revoked_tokens WHERE jti = ANY(\(chunk))",
                { try $0.decode(String.self) }
            ) {
                revoked.insert(id)
            }
            start += 1_000
        }
        return revoked
    }
}
