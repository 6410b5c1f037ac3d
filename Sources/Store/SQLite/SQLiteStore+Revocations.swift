import GRDB

/// Revoked tokens looked up in bulk.
extension SQLiteStore {
    func revokedTokenIDs(among ids: [String]) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return try await read("revokedTokenIDs") { db in
            var revoked: Set<String> = []
            var start = 0
            while start < ids.count {
                let chunk = Array(ids[start..<min(start + 500, ids.count)])
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                for id in try String.fetchAll(db, sql: "SELECT jti FROM revoked_tokens WHERE jti IN (\(marks))", arguments: StatementArguments(chunk))
                {
                    revoked.insert(id)
                }
                start += 500
            }
            return revoked
        }
    }
}
