import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import Gateway

@Suite(.timeLimit(.minutes(1)))
struct ConversationsAPITests {
    @Test func creatingIsGetOrCreateForTheUnorderedPair() async throws {
        try await TestApp.run { _, client in
            let ann = try await client.signUp(email: "ann@example.com")
            let bob = try await client.signUp(email: "bob@example.com")
            let created = try await client.send(
                .post,
                "/api/conversations",
                body: #"{"conversation": {"recipient_id": \#(bob.id)}}"#,
                token: ann.token
            )
            #expect(created.status == .created)
            let conversation = try #require(try json(created)["data"] as? [String: Any])
            #expect(
                Set(conversation.keys) == [
                    "id", "sender_id", "recipient_id", "status", "inserted_at", "last_message_id", "last_read_id",
                    "peer_last_read_id",
                ]
            )
            #expect(conversation["sender_id"] as? Int == ann.id)
            #expect(conversation["recipient_id"] as? Int == bob.id)
            #expect(conversation["last_message_id"] is NSNull)
            let again = try await client.send(
                .post,
                "/api/conversations",
                body: #"{"conversation": {"recipient_id": \#(ann.id)}}"#,
                token: bob.token
            )
            #expect(again.status == .ok)
            let existing = try #require(try json(again)["data"] as? [String: Any])
            #expect(existing["id"] as? Int == conversation["id"] as? Int)
            #expect(existing["sender_id"] as? Int == ann.id)
        }
    }

    @Test func recipientRulesUseEctoWording() async throws {
        try await TestApp.run { _, client in
            let ann = try await client.signUp(email: "ann@example.com")
            let cases: [(String, String)] = [
                (#"{"conversation": {}}"#, "can't be blank"),
                (#"{"conversation": {"recipient_id": "2"}}"#, "is invalid"),
                (#"{"conversation": {"recipient_id": 1.5}}"#, "is invalid"),
                (#"{"conversation": {"recipient_id": 999}}"#, "does not exist"),
                (#"{"conversation": {"recipient_id": 0}}"#, "does not exist"),
                (#"{"conversation": {"recipient_id": -3}}"#, "does not exist"),
                (#"{"conversation": {"recipient_id": 99999999999999999999999}}"#, "does not exist"),
                (#"{"conversation": {"recipient_id": null}}"#, "can't be blank"),
                (#"{"conversation": {"recipient_id": true}}"#, "is invalid"),
                (#"{"conversation": {"recipient_id": \#(ann.id)}}"#, "can't be yourself"),
            ]
            for (body, message) in cases {
                let response = try await client.send(.post, "/api/conversations", body: body, token: ann.token)
                #expect(response.status == .unprocessableContent, "\(body)")
                #expect(try fieldErrors(response) == ["recipient_id": [message]], "\(body)")
            }
            let wrongShape = try await client.send(.post, "/api/conversations", body: #"{"x": 1}"#, token: ann.token)
            #expect(wrongShape.status == .badRequest)
            let anonymous = try await client.send(.post, "/api/conversations", body: #"{"conversation": {}}"#)
            #expect(anonymous.status == .unauthorized)
        }
    }

    @Test func messagesAreStoredPagedAndIdempotentForParticipantsOnly() async throws {
        try await TestApp.run { _, client in
            let ann = try await client.signUp(email: "ann@example.com")
            let bob = try await client.signUp(email: "bob@example.com")
            let eve = try await client.signUp(email: "eve@example.com")
            let created = try await client.send(
                .post,
                "/api/conversations",
                body: #"{"conversation": {"recipient_id": \#(bob.id)}}"#,
                token: ann.token
            )
            let id = try #require((try json(created)["data"] as? [String: Any])?["id"] as? Int)
            var ids: [Int] = []
            for index in 0..<5 {
                let response = try await client.send(
                    .post,
                    "/api/conversations/\(id)/messages",
                    body: #"{"message": {"content": "hello \#(index)"}}"#,
                    token: index % 2 == 0 ? ann.token : bob.token
                )
                #expect(response.status == .created)
                let message = try #require(try json(response)["data"] as? [String: Any])
                #expect(Set(message.keys) == ["id", "conversation_id", "sender_id", "content", "date", "client_id"])
                #expect(message["client_id"] is NSNull)
                ids.append(try #require(message["id"] as? Int))
            }
            let first = try await client.send(
                .post,
                "/api/conversations/\(id)/messages",
                body: #"{"message": {"content": "once", "client_id": "k1"}}"#,
                token: ann.token
            )
            let resend = try await client.send(
                .post,
                "/api/conversations/\(id)/messages",
                body: #"{"message": {"content": "once", "client_id": "k1"}}"#,
                token: ann.token
            )
            #expect(first.status == .created && resend.status == .ok)
            #expect(
                (try json(first)["data"] as? [String: Any])?["id"] as? Int
                    == (try json(resend)["data"] as? [String: Any])?["id"] as? Int
            )

            func page(_ query: String, _ token: String) async throws -> (ids: [Int], hasMore: Bool) {
                let response = try await client.send(.get, "/api/conversations/\(id)/messages\(query)", token: token)
                #expect(response.status == .ok)
                let body = try json(response)
                let messages = try #require(body["data"] as? [[String: Any]])
                return (messages.compactMap { $0["id"] as? Int }, try #require(body["has_more"] as? Bool))
            }
            let all = try await page("", bob.token)
            #expect(all.ids.count == 6 && !all.hasMore)
            let newest = try await page("?limit=2", ann.token)
            #expect(newest.ids == Array(all.ids.suffix(2)) && newest.hasMore)
            let older = try await page("?limit=2&before_id=\(ids[2])", ann.token)
            #expect(older.ids == [ids[0], ids[1]] && !older.hasMore)
            let newer = try await page("?limit=2&after_id=\(ids[0])", ann.token)
            #expect(newer.ids == [ids[1], ids[2]] && newer.hasMore)

            let outsider = try await client.send(.get, "/api/conversations/\(id)/messages", token: eve.token)
            #expect(outsider.status == .forbidden)
            let outsiderPost = try await client.send(
                .post,
                "/api/conversations/\(id)/messages",
                body: #"{"message": {"content": "hi"}}"#,
                token: eve.token
            )
            #expect(outsiderPost.status == .forbidden)
            let missing = try await client.send(.get, "/api/conversations/9999/messages", token: eve.token)
            #expect(missing.status == .notFound)
            let list = try await client.send(.get, "/api/conversations", token: eve.token)
            #expect((try json(list)["data"] as? [Any])?.isEmpty == true)
            let afterOutsider = try await page("", ann.token)
            #expect(afterOutsider.ids == all.ids)
        }
    }

    @Test func contentRules() async throws {
        try await TestApp.run { _, client in
            let ann = try await client.signUp(email: "ann@example.com")
            let bob = try await client.signUp(email: "bob@example.com")
            let created = try await client.send(
                .post,
                "/api/conversations",
                body: #"{"conversation": {"recipient_id": \#(bob.id)}}"#,
                token: ann.token
            )
            let id = try #require((try json(created)["data"] as? [String: Any])?["id"] as? Int)
            let long = String(repeating: "a", count: 10_001)
            let cases: [(String, [String: [String]])] = [
                (#"{"message": {"content": "   "}}"#, ["content": ["can't be blank"]]),
                (#"{"message": {}}"#, ["content": ["can't be blank"]]),
                (#"{"message": {"content": 5}}"#, ["content": ["is invalid"]]),
                (#"{"message": {"content": "\#(long)"}}"#, ["content": ["should be at most 10000 character(s)"]]),
                (#"{"message": {"content": "ok", "client_id": 7}}"#, ["client_id": ["is invalid"]]),
            ]
            for (body, errors) in cases {
                let response = try await client.send(.post, "/api/conversations/\(id)/messages", body: body, token: ann.token)
                #expect(response.status == .unprocessableContent)
                #expect(try fieldErrors(response) == errors)
            }
            let history = try await client.send(.get, "/api/conversations/\(id)/messages", token: ann.token)
            #expect((try json(history)["data"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func theListIsOrderedByLastMessageThenByIdWithCallerRelativeReadPositions() async throws {
        try await TestApp.run { app, client in
            let ann = try await client.signUp(email: "ann@example.com")
            var conversationIDs: [Int] = []
            for name in ["b", "c", "d"] {
                let peer = try await client.signUp(email: "\(name)@example.com")
                let created = try await client.send(
                    .post,
                    "/api/conversations",
                    body: #"{"conversation": {"recipient_id": \#(peer.id)}}"#,
                    token: ann.token
                )
                conversationIDs.append(try #require((try json(created)["data"] as? [String: Any])?["id"] as? Int))
            }
            _ = try await client.send(
                .post,
                "/api/conversations/\(conversationIDs[0])/messages",
                body: #"{"message": {"content": "x"}}"#,
                token: ann.token
            )
            let response = try await client.send(.get, "/api/conversations", token: ann.token)
            let list = try #require(try json(response)["data"] as? [[String: Any]])
            #expect(list.compactMap { $0["id"] as? Int } == [conversationIDs[0], conversationIDs[2], conversationIDs[1]])
            _ = app
        }
    }
}
