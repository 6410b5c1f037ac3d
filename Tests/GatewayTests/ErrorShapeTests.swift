import Foundation
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
        #expect(Routes.methods(matching: "/api/conversations/12/messages") == ["POST", "GET"])
    }

    /// A route added to the router without a summary, or without its place in the API document, fails here;
    /// so does a documented route that the router does not serve.
    @Test(arguments: [true, false])
    func theRouterTheRouteTableAndTheAPIDocumentNameTheSameRoutes(localMailer: Bool) async throws {
        var configuration = GatewayConfiguration()
        configuration.localMailer = localMailer
        let served = Set(try await servedRoutes(configuration: configuration).map { "\($0.method) \($0.path)" })
        let table = Set(Routes.served(localMailer: localMailer).map { "\($0.method) \($0.path)" })
        #expect(served == table)
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any]
        )
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let methods = ["get", "post", "put", "patch", "delete"]
        let documented = Set(
            paths.flatMap { path, operations in
                operations.keys.filter(methods.contains).map { "\($0.uppercased()) \(path)" }
            }
        )
        let everyRoute = Set(Routes.all.map { "\($0.method) \($0.path)" })
        #expect(served.subtracting(documented).isEmpty, "undocumented: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(everyRoute).isEmpty, "not served: \(documented.subtracting(everyRoute).sorted())")
    }
}
