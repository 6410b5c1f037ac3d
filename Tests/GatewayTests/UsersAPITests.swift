import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import Gateway

@Suite(.timeLimit(.minutes(1)))
struct UsersAPITests {
    @Test func registrationAnswersTheUserWithAGeneratedPasswordUnwrapped() async throws {
        try await TestApp.run { app, client in
            let user = try await client.register(email: "ann@example.com")
            #expect(Set(user.keys) == ["id", "name", "subname", "email", "job", "password"])
            let password = try #require(user["password"] as? String)
            #expect(password.count >= 16)
            #expect(password.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            let stored = try #require(try await app.store.user(email: "ann@example.com"))
            #expect(stored.passwordHash.hasPrefix("$2"))
            #expect(!stored.passwordHash.contains(password))
        }
    }

    @Test func registrationTrimsFieldsAndIgnoresAClientChosenPassword() async throws {
        try await TestApp.run { app, client in
            let response = try await client.send(
                .post,
                "/api/users",
                body: #"{"user": {"name": "  Bo ", "subname": "X", "email": " bo@example.com ", "job": "j", "password": "mine"}}"#
            )
            #expect(response.status == .created)
            let body = try json(response)
            #expect(body["name"] as? String == "Bo")
            #expect(body["email"] as? String == "bo@example.com")
            #expect(body["password"] as? String != "mine")
        }
    }

    @Test func eachMissingOrBlankFieldIsCantBeBlank() async throws {
        try await TestApp.run { _, client in
            let response = try await client.send(.post, "/api/users", body: #"{"user": {"name": "   ", "job": null}}"#)
            #expect(response.status == .unprocessableContent)
            #expect(
                try fieldErrors(response) == [
                    "name": ["can't be blank"], "subname": ["can't be blank"], "email": ["can't be blank"],
                    "job": ["can't be blank"],
                ]
            )
        }
    }

    @Test func wrongTypesAreInvalid() async throws {
        try await TestApp.run { _, client in
            let response = try await client.send(
                .post,
                "/api/users",
                body: #"{"user": {"name": 5, "subname": true, "email": ["a"], "job": {}}}"#
            )
            #expect(response.status == .unprocessableContent)
            #expect(
                try fieldErrors(response) == [
                    "name": ["is invalid"], "subname": ["is invalid"], "email": ["is invalid"], "job": ["is invalid"],
                ]
            )
        }
    }

    @Test(arguments: ["plain", "a@b", "a b@c.de", "@c.de", "a@.de", "a@b.", "a@@b.de"])
    func malformedEmailsHaveInvalidFormat(email: String) async throws {
        try await TestApp.run { _, client in
            let response = try await client.send(
                .post,
                "/api/users",
                body: #"{"user": {"name": "A", "subname": "B", "email": "\#(email)", "job": "C"}}"#
            )
            #expect(response.status == .unprocessableContent)
            #expect(try fieldErrors(response) == ["email": ["has invalid format"]])
        }
    }

    @Test func fieldsOver255CharactersAreTooLong() async throws {
        try await TestApp.run { _, client in
            let long = String(repeating: "é", count: 256)
            let ok = String(repeating: "é", count: 255)
            let response = try await client.send(
                .post,
                "/api/users",
                body: #"{"user": {"name": "\#(long)", "subname": "\#(ok)", "email": "a@b.cd", "job": "\#(long)"}}"#
            )
            #expect(response.status == .unprocessableContent)
            #expect(
                try fieldErrors(response) == [
                    "name": ["should be at most 255 character(s)"], "job": ["should be at most 255 character(s)"],
                ]
            )
        }
    }

    @Test func aDuplicateEmailInAnotherCaseIsTakenAndStoresNothing() async throws {
        try await TestApp.run { app, client in
            _ = try await client.register(email: "Ann@Example.com")
            let response = try await client.send(
                .post,
                "/api/users",
                body: #"{"user": {"name": "A", "subname": "B", "email": "aNN@example.COM", "job": "C"}}"#
            )
            #expect(response.status == .unprocessableContent)
            #expect(try fieldErrors(response) == ["email": ["has already been taken"]])
            #expect(try await app.store.users(after: nil, limit: 10).count == 1)
            #expect(try await app.store.mails(limit: 10).count == 1)
        }
    }

    @Test func concurrentRegistrationsOfOneAddressStoreExactlyOne() async throws {
        try await TestApp.run { app, client in
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        try await client.send(
                            .post,
                            "/api/users",
                            body: #"{"user": {"name": "A", "subname": "B", "email": "\#(index % 2 == 0 ? "race@x.io" : "RACE@X.io")", "job": "C"}}"#
                        ).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 1)
            #expect(statuses.filter { $0 == .unprocessableContent }.count == 7)
            #expect(try await app.store.users(after: nil, limit: 10).count == 1)
        }
    }

    @Test(arguments: [#"{"user": "#, #"not json"#, ""])
    func malformedJSONIs400(body: String) async throws {
        try await TestApp.run { _, client in
            let response = try await client.send(.post, "/api/users", body: body)
            #expect(response.status == .badRequest)
            #expect(try detail(response) == "malformed JSON")
        }
    }

    @Test(arguments: [#"[]"#, #"{"name": "A"}"#, #"{"user": "A"}"#, #"{"user": [1]}"#, #"5"#])
    func wrongShapesAre400(body: String) async throws {
        try await TestApp.run { _, client in
            let response = try await client.send(.post, "/api/users", body: body)
            #expect(response.status == .badRequest)
            #expect(try detail(response) != nil)
        }
    }

    @Test func aBodyOverTheLimitIs413InTheContractShape() async throws {
        try await TestApp.run(maxBodyBytes: 1_024) { app, client in
            let padding = String(repeating: "x", count: 2_000)
            let response = try await client.send(
                .post,
                "/api/users",
                body: #"{"user": {"name": "\#(padding)"}}"#
            )
            #expect(response.status == .contentTooLarge)
            #expect(try detail(response) == "request body too large")
            #expect(try await app.store.users(after: nil, limit: 10).isEmpty)
        }
    }

    @Test func listingNeedsATokenAndNeverShowsPasswords() async throws {
        try await TestApp.run { _, client in
            let me = try await client.signUp(email: "ann@example.com")
            _ = try await client.register(name: "Bob", email: "bob@example.com")
            #expect(try await client.send(.get, "/api/users").status == .unauthorized)
            let response = try await client.send(.get, "/api/users", token: me.token)
            #expect(response.status == .ok)
            let users = try #require(try json(response)["data"] as? [[String: Any]])
            #expect(users.map { $0["email"] as? String } == ["ann@example.com", "bob@example.com"])
            for user in users {
                #expect(Set(user.keys) == ["id", "name", "subname", "email", "job"])
            }
            #expect(!String(buffer: response.body).contains("password"))
        }
    }

    @Test func listingPagesByIdWithLimitAndAfterID() async throws {
        try await TestApp.run { _, client in
            let me = try await client.signUp(email: "u0@example.com")
            for index in 1..<7 { _ = try await client.register(email: "u\(index)@example.com") }
            func ids(_ query: String) async throws -> [Int] {
                let response = try await client.send(.get, "/api/users\(query)", token: me.token)
                #expect(response.status == .ok)
                return try #require(try json(response)["data"] as? [[String: Any]]).compactMap { $0["id"] as? Int }
            }
            #expect(try await ids("") == [1, 2, 3, 4, 5, 6, 7])
            #expect(try await ids("?limit=3") == [1, 2, 3])
            #expect(try await ids("?limit=3&after_id=3") == [4, 5, 6])
            #expect(try await ids("?after_id=6") == [7])
            #expect(try await ids("?after_id=0") == [1, 2, 3, 4, 5, 6, 7])
            #expect(try await ids("?limit=100000") == [1, 2, 3, 4, 5, 6, 7])
            for bad in ["?limit=0", "?limit=-1", "?limit=abc", "?limit=1.5", "?after_id=x", "?after_id=-1", "?after_id=1.5"] {
                let response = try await client.send(.get, "/api/users\(bad)", token: me.token)
                #expect(response.status == .badRequest, "\(bad)")
            }
        }
    }

    @Test func limitIsCappedAt200() async throws {
        try await TestApp.run { app, client in
            let me = try await client.signUp(email: "first@example.com")
            let hash = try #require(try await app.store.user(email: "first@example.com")).passwordHash
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<210 {
                    group.addTask {
                        _ = try await app.store.createUser(
                            .init(name: "N", subname: "S", email: "bulk\(index)@example.com", job: "J", passwordHash: hash),
                            welcomeMail: .init(to: "bulk\(index)@example.com", from: "f@x.io", subject: "s", textBody: "t", htmlBody: "h")
                        )
                    }
                }
                try await group.waitForAll()
            }
            let response = try await client.send(.get, "/api/users?limit=500", token: me.token)
            #expect(try #require(try json(response)["data"] as? [[String: Any]]).count == 200)
            let defaultPage = try await client.send(.get, "/api/users", token: me.token)
            #expect(try #require(try json(defaultPage)["data"] as? [[String: Any]]).count == 50)
        }
    }

    @Test func meAnswersTheCallerWrapped() async throws {
        try await TestApp.run { _, client in
            let me = try await client.signUp(email: "ann@example.com")
            let response = try await client.send(.get, "/api/users/me", token: me.token)
            #expect(response.status == .ok)
            let data = try #require(try json(response)["data"] as? [String: Any])
            #expect(data["id"] as? Int == me.id)
            #expect(data["email"] as? String == "ann@example.com")
            #expect(data["password"] == nil)
        }
    }

    @Test func registrationIsRateLimitedPerAddressWithRetryAfter() async throws {
        try await TestApp.run(authRate: 0.001, authBurst: 3) { app, client in
            for index in 0..<3 { _ = try await client.register(email: "r\(index)@example.com") }
            let response = try await client.send(
                .post,
                "/api/users",
                body: #"{"user": {"name": "A", "subname": "B", "email": "r9@example.com", "job": "C"}}"#
            )
            #expect(response.status == .tooManyRequests)
            #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(try detail(response) == "too many requests")
            #expect(try await app.store.user(email: "r9@example.com") == nil)
        }
    }

    @Test func theRegistrationMailCarriesThePasswordAndIsListedByTheLocalMailer() async throws {
        try await TestApp.run { _, client in
            let user = try await client.register(email: "ann@example.com")
            let password = try #require(user["password"] as? String)
            let response = try await client.send(.get, "/api/sent_mails")
            #expect(response.status == .ok)
            let mails = try #require(try json(response)["data"] as? [[String: Any]])
            #expect(mails.count == 1)
            let mail = try #require(mails.first)
            #expect(Set(mail.keys) == ["id", "to", "from", "subject", "text_body", "html_body", "status", "inserted_at"])
            #expect(mail["to"] as? String == "ann@example.com")
            #expect((mail["text_body"] as? String)?.contains(password) == true)
            let preview = try await client.send(.get, "/sent_mails")
            #expect(preview.status == .ok)
            #expect(preview.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(String(buffer: preview.body).contains(password))
        }
    }

    @Test func sentMailsAre404WithoutTheLocalMailer() async throws {
        try await TestApp.run(localMailer: false) { _, client in
            let api = try await client.send(.get, "/api/sent_mails")
            let preview = try await client.send(.get, "/sent_mails")
            #expect(api.status == .notFound)
            #expect(preview.status == .notFound)
        }
    }

    @Test func emailCheckAcceptsOrdinaryAddresses() {
        #expect(UsersController.looksLikeEmail("a.b+c@example.co.uk"))
        #expect(!UsersController.looksLikeEmail("a@b"))
    }
}
