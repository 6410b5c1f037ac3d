import Hummingbird
import HummingbirdTesting
import Testing

@testable import Gateway

@Suite(.timeLimit(.minutes(1)))
struct ErrorShapeTests {
    @Test func unknownRoutesAre404InTheContractShape() async throws {
        try await TestApp.run { _, client in
            for path in ["/nope", "/api/nope", "/api/users/1/2"] {
                let response = try await client.send(.get, path)
                #expect(response.status == .notFound)
                #expect(try json(response).keys.sorted() == ["errors"])
                #expect(try detail(response) == "not found")
            }
        }
    }

    @Test func knownPathsWithAnotherMethodAre405WithAllow() async throws {
        try await TestApp.run { _, client in
            let response = try await client.send(.delete, "/api/users")
            #expect(response.status == .methodNotAllowed)
            #expect(response.headers[.allow]?.contains("POST") == true)
            #expect(try detail(response) == "method not allowed")
            #expect(try await client.send(.get, "/api/login").status == .methodNotAllowed)
        }
    }

    @Test func healthAndReadiness() async throws {
        try await TestApp.run { _, client in
            let health = try await client.send(.get, "/healthz")
            let ready = try await client.send(.get, "/readyz")
            #expect(health.status == .ok)
            #expect(ready.status == .ok)
        }
    }

    @Test func theRouteTableListsEveryRouteOnce() {
        let keys = Routes.all.map { "\($0.method) \($0.path)" }
        #expect(Set(keys).count == keys.count)
        #expect(keys.contains("POST /api/login"))
        #expect(Routes.methods(matching: "/api/users") == ["POST", "GET"])
        #expect(Routes.table.split(separator: "\n").count == Routes.all.count)
    }
}
