import Broker

extension SupervisedChild {
    /// Runs this supervisor in a child task while `body` drives it, then stops it and waits for
    /// `run()` to return, so that every event has been emitted when this returns.
    func running(while body: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await self.run()
            }
            try await body()
            await self.stop()
            try await group.waitForAll()
        }
    }

    /// Runs this supervisor in a child task while `body` drives it into failing, then waits for
    /// `run()` to end.
    ///
    /// - Returns: The error `run()` threw, or `nil` if it returned.
    func failure(while body: () async throws -> Void) async throws -> (any Error)? {
        try await withThrowingTaskGroup(of: (any Error)?.self) { group in
            group.addTask {
                do {
                    try await self.run()
                    return nil
                } catch {
                    return error
                }
            }
            try await body()
            return try await group.next() ?? nil
        }
    }
}
