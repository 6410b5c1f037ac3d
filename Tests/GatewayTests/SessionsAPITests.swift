import Foundation
import Hummingbird
import HummingbirdTesting
import JWTKit
import Testing

@testable import Gateway

@Suite(.timeLimit(.minutes(1)))
struct SessionsAPITests {
    @Test func loginAnswersUserTokenAndExpiryWrappedWithTheHeader() async throws {
        try await TestApp.run { _, client in
            let user = try await client.register(email: "ann@example.com")
            let password = try #require(user["password"] as? String)
            let response = try await client.send(
                .post,
                "/api/login",
                body: #"{"creds": {"email": "ANN@example.com", "password": "\#(password)"}}"#
            )
            #expect(response.status == .ok)
            let data = try #require(try json(response)["data"] as? [String: Any])
            let token = try #require(data["token"] as? String)
            #expect(response.headers[.authorization] == "Bearer \(token)")
            let expire = try #require(data["expire"] as? Int)
            #expect(abs(Double(expire) - Date().addingTimeInterval(3600).timeIntervalSince1970) < 5)
            let loggedIn = try #require(data["user"] as? [String: Any])
            #expect(Set(loggedIn.keys) == ["id", "name", "subname", "email", "job"])
            #expect(!String(buffer: response.body).contains(password))
            #expect(try await client.send(.get, "/api/users/me", token: token).status == .ok)
        }
    }

    @Test func theTokenCarriesSubExpIatAndJti() async throws {
        try await TestApp.run { _, client in
            let me = try await client.signUp(email: "ann@example.com")
            let parts = me.token.split(separator: ".")
            #expect(parts.count == 3)
            var payload = String(parts[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while payload.count % 4 != 0 { payload += "=" }
            let decoded = try #require(Data(base64Encoded: payload))
            let claims = try #require(try JSONSerialization.jsonObject(with: decoded) as? [String: Any])
            #expect(claims["sub"] as? String == String(me.id))
            #expect(claims["exp"] is NSNumber && claims["iat"] is NSNumber)
            #expect((claims["jti"] as? String)?.isEmpty == false)
        }
    }

    @Test func unknownEmailAndWrongPasswordFailAlike() async throws {
        try await TestApp.run { _, client in
            _ = try await client.register(email: "ann@example.com")
            let wrong = try await client.send(
                .post,
                "/api/login",
                body: #"{"creds": {"email": "ann@example.com", "password": "nope-nope-nope-nope"}}"#
            )
            let unknown = try await client.send(
                .post,
                "/api/login",
                body: #"{"creds": {"email": "who@example.com", "password": "nope-nope-nope-nope"}}"#
            )
            #expect(wrong.status == .unauthorized)
            #expect(unknown.status == .unauthorized)
            #expect(String(buffer: wrong.body) == String(buffer: unknown.body))
            #expect(try detail(wrong) == "invalid email or password")
        }
    }

    @Test func bothLoginFailuresCheckABcryptHash() async throws {
        // Equal timing comes from equal work: an unknown address is checked against a decoy hash.
        let hasher = try await PasswordHasher(cost: 4)
        let hash = try await hasher.hash("secret-password-1")
        #expect(try await hasher.verify("secret-password-1", against: hash))
        #expect(try await !hasher.verify("other", against: hash))
        #expect(try await !hasher.verify("secret-password-1", against: nil))
    }

    @Test(arguments: [#"{}"#, #"{"creds": {"email": "a@b.cd"}}"#, #"{"creds": {"email": 1, "password": "x"}}"#, #"{"creds": []}"#])
    func malformedCredentialsAre400(body: String) async throws {
        try await TestApp.run { _, client in
            let response = try await client.send(.post, "/api/login", body: body)
            #expect(response.status == .badRequest)
        }
    }

    @Test func loginIsRateLimitedPerAddress() async throws {
        try await TestApp.run(authRate: 0.001, authBurst: 2) { _, client in
            let body = #"{"creds": {"email": "x@y.io", "password": "p"}}"#
            #expect(try await client.send(.post, "/api/login", body: body).status == .unauthorized)
            #expect(try await client.send(.post, "/api/login", body: body).status == .unauthorized)
            let limited = try await client.send(.post, "/api/login", body: body)
            #expect(limited.status == .tooManyRequests)
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
        }
    }

    @Test func logoutRevokesTheTokenOnlyThatToken() async throws {
        try await TestApp.run { _, client in
            let first = try await client.signUp(email: "ann@example.com")
            let user = try await client.register(email: "bob@example.com")
            let password = try #require(user["password"] as? String)
            let login = try await client.send(
                .post,
                "/api/login",
                body: #"{"creds": {"email": "bob@example.com", "password": "\#(password)"}}"#
            )
            let second = try #require((try json(login)["data"] as? [String: Any])?["token"] as? String)
            let response = try await client.send(.post, "/api/logout", token: first.token)
            #expect(response.status == .noContent)
            #expect(response.body.readableBytes == 0)
            let after = try await client.send(.get, "/api/users/me", token: first.token)
            #expect(after.status == .unauthorized)
            #expect(try await client.send(.post, "/api/logout", token: first.token).status == .unauthorized)
            #expect(try await client.send(.get, "/api/users/me", token: second).status == .ok)
        }
    }

    @Test func logoutNeedsAToken() async throws {
        try await TestApp.run { _, client in
            let response = try await client.send(.post, "/api/logout")
            #expect(response.status == .unauthorized)
        }
    }

    @Test func missingMalformedGarbageTamperedNoneAndExpiredTokensAre401() async throws {
        try await TestApp.run { app, client in
            let me = try await client.signUp(email: "ann@example.com")
            let parts = me.token.split(separator: ".").map(String.init)
            let keys = JWTKeyCollection()
            await keys.add(hmac: HMACKey(from: TestApp.secret), digestAlgorithm: .sha256)
            let expired = try await keys.sign(
                TokenClaims(
                    sub: String(me.id),
                    exp: Date().addingTimeInterval(-10),
                    iat: Date().addingTimeInterval(-100),
                    jti: UUID().uuidString
                )
            )
            let otherKeys = JWTKeyCollection()
            await otherKeys.add(hmac: HMACKey(from: String(repeating: "k", count: 40)), digestAlgorithm: .sha256)
            let foreign = try await otherKeys.sign(
                TokenClaims(sub: String(me.id), exp: Date().addingTimeInterval(600), iat: Date(), jti: UUID().uuidString)
            )
            func base64url(_ text: String) -> String {
                Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                    .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            }
            let noneHeader = base64url(#"{"alg":"none","typ":"JWT"}"#)
            let otherUser = base64url(#"{"sub":"999","exp":4102444800,"iat":1,"jti":"x"}"#)
            let headers: [String?] = [
                nil, "Bearer", "Basic abc", "Token \(me.token)", "Bearer garbage", "Bearer a.b.c",
                "Bearer \(parts[0]).\(otherUser).\(parts[2])",
                "Bearer \(noneHeader).\(parts[1]).", "Bearer \(noneHeader).\(otherUser).",
                "Bearer \(expired)", "Bearer \(foreign)",
            ]
            for header in headers {
                var fields = HTTPFields()
                if let header { fields[.authorization] = header }
                let response = try await client.execute(uri: "/api/users/me", method: .get, headers: fields) { $0 }
                #expect(response.status == .unauthorized, "\(header ?? "none")")
                #expect(try detail(response) != nil)
            }
            _ = app
        }
    }
}
