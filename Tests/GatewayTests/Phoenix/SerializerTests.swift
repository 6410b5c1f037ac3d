import NIOCore
import Testing

@testable import Gateway
@testable import Store

/// Golden frames for both Phoenix serializers, written by hand from the protocol.
struct SerializerTests {
    @Test func v2DecodesArraysWithStringOrNumberOrNullRefs() throws {
        let frame = try PhoenixSerializer.v2.decode(ByteBuffer(string: #"["1",2,"room:chat","phx_join",{"last_seen_id":5}]"#))
        #expect(
            frame == PhoenixMessage(joinRef: "1", ref: "2", topic: "room:chat", event: "phx_join", payload: .object(["last_seen_id": .integer(5)]))
        )
        let heartbeat = try PhoenixSerializer.v2.decode(ByteBuffer(string: #"[null,"9","phoenix","heartbeat",{}]"#))
        #expect(heartbeat.joinRef == nil && heartbeat.ref == "9")
    }

    @Test func v1DecodesObjects() throws {
        let frame = try PhoenixSerializer.v1.decode(
            ByteBuffer(string: #"{"topic":"room:chat","event":"phx_join","payload":{},"ref":"3","join_ref":"3"}"#)
        )
        #expect(frame == PhoenixMessage(joinRef: "3", ref: "3", topic: "room:chat", event: "phx_join", payload: .object([:])))
    }

    @Test(arguments: [
        "", "[]", "{}", "[1,2,3,4]", #"["1","2",3,"e",{}]"#, #"[{},"2","t","e",{}]"#, "nope", #"{"topic":"t"}"#,
    ])
    func malformedFramesAreRejected(text: String) {
        #expect(throws: PhoenixSerializer.DecodeError.malformed) { try PhoenixSerializer.v2.decode(ByteBuffer(string: text)) }
    }

    @Test func v1RejectsArraysAndV2RejectsObjects() {
        #expect(throws: PhoenixSerializer.DecodeError.malformed) {
            try PhoenixSerializer.v1.decode(ByteBuffer(string: #"["1","2","t","e",{}]"#))
        }
        #expect(throws: PhoenixSerializer.DecodeError.malformed) {
            try PhoenixSerializer.v2.decode(ByteBuffer(string: #"{"topic":"t","event":"e","payload":{},"ref":null,"join_ref":null}"#))
        }
    }

    @Test func repliesAndPushesEncodeToTheGoldenFrames() throws {
        let heartbeat = try PhoenixSerializer.v2.decode(ByteBuffer(string: #"[null,"5","phoenix","heartbeat",{}]"#))
        let reply = PhoenixSerializer.v2.reply(to: heartbeat, status: "ok", response: ByteBuffer(string: "{}"))
        #expect(String(buffer: reply) == #"[null,"5","phoenix","phx_reply",{"status":"ok","response":{}}]"#)
        let v1 = PhoenixSerializer.v1.reply(to: heartbeat, status: "ok", response: ByteBuffer(string: "{}"))
        #expect(
            String(buffer: v1) == #"{"join_ref":null,"ref":"5","topic":"phoenix","event":"phx_reply","payload":{"status":"ok","response":{}}}"#
        )
        let message = Message(
            id: MessageID(9),
            conversationID: ConversationID(3),
            senderID: UserID(1),
            content: "say \"hi\"\n\u{1}",
            insertedAt: Timestamp(microseconds: 1_795_000_000_123_456),
            clientID: nil
        )
        let push = PhoenixSerializer.v2.encode(
            joinRef: "7",
            ref: nil,
            topic: "room:chat",
            event: "receive_msg",
            payload: FrameEncoder.messagePayload(message)
        )
        #expect(
            String(buffer: push)
                == #"["7",null,"room:chat","receive_msg",{"message":{"id":9,"conversation_id":3,"sender_id":1,"content":"say \"hi\"\n\u0001","date":"2026-11-18T11:06:40.123456Z","client_id":null}}]"#
        )
    }

    @Test func errorRepliesCarryReasonAndFieldErrors() throws {
        let send = try PhoenixSerializer.v2.decode(ByteBuffer(string: #"["1","8","room:chat","send_msg",{}]"#))
        let reply = PhoenixSerializer.v2.reply(
            to: send,
            status: "error",
            response: .object(["reason": .string("invalid payload"), "errors": .object(["message": .array([.string("can't be blank")])])])
        )
        #expect(
            String(buffer: reply)
                == #"["1","8","room:chat","phx_reply",{"status":"error","response":{"errors":{"message":["can't be blank"]},"reason":"invalid payload"}}]"#
        )
    }

    // MARK: Decoding with the scanner

    /// The `send_msg` of the benchmarks, in both forms.
    static let sendPayload = #"{"user":2,"conv":1,"message":"hello there, how are you?","client_id":"c-42"}"#

    @Test func sendMessageDecodesInBothForms() throws {
        let expected = PhoenixMessage(
            joinRef: "1",
            ref: "42",
            topic: "room:chat",
            event: "send_msg",
            payload: .object([
                "user": .integer(2), "conv": .integer(1), "message": .string("hello there, how are you?"),
                "client_id": .string("c-42"),
            ])
        )
        #expect(try PhoenixSerializer.v2.decode(ByteBuffer(string: #"["1","42","room:chat","send_msg",\#(Self.sendPayload)]"#)) == expected)
        #expect(
            try PhoenixSerializer.v1.decode(
                ByteBuffer(string: #"{"join_ref":"1","ref":"42","topic":"room:chat","event":"send_msg","payload":\#(Self.sendPayload)}"#)
            ) == expected
        )
    }

    @Test(arguments: [
        // join with last_seen_id
        (
            #"["3","4","room:chat","phx_join",{"last_seen_id":123456}]"#,
            #"{"join_ref":"3","ref":"4","topic":"room:chat","event":"phx_join","payload":{"last_seen_id":123456}}"#,
            PhoenixMessage(joinRef: "3", ref: "4", topic: "room:chat", event: "phx_join", payload: .object(["last_seen_id": .integer(123_456)]))
        ),
        // heartbeat
        (
            #"[null,"9","phoenix","heartbeat",{}]"#,
            #"{"join_ref":null,"ref":"9","topic":"phoenix","event":"heartbeat","payload":{}}"#,
            PhoenixMessage(joinRef: nil, ref: "9", topic: "phoenix", event: "heartbeat", payload: .object([:]))
        ),
        // integer refs, rendered as the old JSONDecoder path did (1.0 and 1e2 were integers there)
        (
            #"[7,-12,"room:chat","phx_leave",{}]"#,
            #"{"join_ref":7,"ref":-12,"topic":"room:chat","event":"phx_leave","payload":{}}"#,
            PhoenixMessage(joinRef: "7", ref: "-12", topic: "room:chat", event: "phx_leave", payload: .object([:]))
        ),
        (
            #"[1.0,1e2,"room:chat","phx_leave",{}]"#,
            #"{"join_ref":1.0,"ref":1e2,"topic":"room:chat","event":"phx_leave","payload":{}}"#,
            PhoenixMessage(joinRef: "1", ref: "100", topic: "room:chat", event: "phx_leave", payload: .object([:]))
        ),
        // null refs
        (
            #"[null,null,"phoenix","heartbeat",{}]"#,
            #"{"join_ref":null,"ref":null,"topic":"phoenix","event":"heartbeat","payload":{}}"#,
            PhoenixMessage(joinRef: nil, ref: nil, topic: "phoenix", event: "heartbeat", payload: .object([:]))
        ),
        // unicode, escapes and surrogate pairs in content, topic and event
        (
            #"["1","2","room:chat","send_msg",{"message":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t 日本 😀 \u0000"}]"#,
            #"{"join_ref":"1","ref":"2","topic":"room:chat","event":"send_msg","payload":{"message":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t 日本 😀 \u0000"}}"#,
            PhoenixMessage(
                joinRef: "1",
                ref: "2",
                topic: "room:chat",
                event: "send_msg",
                payload: .object(["message": .string("café 😀 \"q\" \\ / \u{8}\u{C}\n\r\t 日本 😀 \u{0}")])
            )
        ),
        (
            #"["1","2","room:ch\u0061t","send\u005fmsg",{"\u00e9t\u00e9":"\uD83D\uDE00"}]"#,
            #"{"join_ref":"1","ref":"2","\u0074opic":"room:ch\u0061t","event":"send\u005fmsg","payload":{"\u00e9t\u00e9":"\uD83D\uDE00"}}"#,
            PhoenixMessage(joinRef: "1", ref: "2", topic: "room:chat", event: "send_msg", payload: .object(["été": .string("😀")]))
        ),
        // nested payloads, every kind of value, whitespace everywhere it may be
        (
            " \n[ \"1\" ,\t\"2\" , \"t\" , \"e\" , {\"a\" : [ 1 , -2.5 , true , false , null , {\"b\" : {\"c\" : [ ] } } ] , \"s\" : \"\" } ] \r\n",
            " \n{ \"join_ref\" : \"1\" , \"ref\" : \"2\" , \"topic\" : \"t\" , \"event\" : \"e\" , \"payload\" : {\"a\" : [ 1 , -2.5 , true , false , null , {\"b\" : {\"c\" : [ ] } } ] , \"s\" : \"\" } } \r\n",
            PhoenixMessage(
                joinRef: "1",
                ref: "2",
                topic: "t",
                event: "e",
                payload: .object([
                    "a": .array([.integer(1), .number(-2.5), .bool(true), .bool(false), .null, .object(["b": .object(["c": .array([])])])]),
                    "s": .string(""),
                ])
            )
        ),
        // a payload that is not an object is the channel's business, not the serializer's
        (
            #"["1","2","t","e",[1,"x"]]"#,
            #"{"join_ref":"1","ref":"2","topic":"t","event":"e","payload":[1,"x"]}"#,
            PhoenixMessage(joinRef: "1", ref: "2", topic: "t", event: "e", payload: .array([.integer(1), .string("x")]))
        ),
    ])
    func goldenFramesDecodeInBothForms(v2: String, v1: String, expected: PhoenixMessage) throws {
        #expect(try PhoenixSerializer.v2.decode(ByteBuffer(string: v2)) == expected)
        #expect(try PhoenixSerializer.v1.decode(ByteBuffer(string: v1)) == expected)
    }

    @Test func v1DefaultsAndTakesTheFirstOfRepeatedMembers() throws {
        #expect(
            try PhoenixSerializer.v1.decode(ByteBuffer(string: #"{"event":"heartbeat","topic":"phoenix"}"#))
                == PhoenixMessage(joinRef: nil, ref: nil, topic: "phoenix", event: "heartbeat", payload: .object([:]))
        )
        #expect(
            try PhoenixSerializer.v1.decode(
                ByteBuffer(string: #"{"topic":"a","extra":[{"x":1}],"topic":7,"event":"e","payload":{"k":1},"payload":null,"ref":"1","ref":{}}"#)
            ) == PhoenixMessage(joinRef: nil, ref: "1", topic: "a", event: "e", payload: .object(["k": .integer(1)]))
        )
        // In a payload too the first of duplicate keys wins, as with JSONDecoder.
        #expect(
            try PhoenixSerializer.v2.decode(ByteBuffer(string: #"[null,null,"t","e",{"a":1,"a":2}]"#)).payload
                == .object(["a": .integer(1)])
        )
    }

    /// Frames every decoder must refuse, for both serializers; `{}` marks where a frame's payload goes.
    static let malformedTexts: [String] = [
        // truncated
        "", " ", "[", #"["1","2","t","e",{}"#, #"["1","2","t","e",{"a":"#, #"["1","2","t","e",{"a":"x"#, #"["1","2","t","e",{"a":tru"#,
        #"["1","2","t","e",{"a":-"#, #"["1","2","t","e",{"a":1."#, #"["1","2","t","e",{"a":1e"#, #"["1","2","t","e",{"a":"\u12"}]"#,
        // trailing commas (JSONDecoder let these through)
        #"["1","2","t","e",{},]"#, #"["1","2","t","e",{"a":1,}]"#, #"["1","2","t","e",{"a":[1,]}]"#,
        // trailing garbage
        #"["1","2","t","e",{}] x"#, #"["1","2","t","e",{}]]"#, #"["1","2","t","e",{}][]"#, "[\"1\",\"2\",\"t\",\"e\",{}]\u{0}",
        // bad escapes and control characters in strings
        #"["1","2","t","e",{"a":"\x"}]"#, #"["1","2","t","e",{"a":"\U0041"}]"#, #"["1","2","t","e",{"a":"\'"}]"#,
        "[\"1\",\"2\",\"t\",\"e\",{\"a\":\"tab\there\"}]", "[\"1\",\"2\",\"t\",\"e\",{\"a\":\"new\nline\"}]", "[\"1\",\"2\",\"t\u{1}\",\"e\",{}]",
        // lone, reversed or unpaired surrogates (rejected, as JSONDecoder does)
        #"["1","2","t","e",{"a":"\ud800"}]"#, #"["1","2","t","e",{"a":"\udc00"}]"#, #"["1","2","t","e",{"a":"\ud800x"}]"#,
        #"["1","2","t","e",{"a":"\ud800\u0041"}]"#, #"["1","2","t","e",{"a":"\ude00\ud83d"}]"#, #"["1","2","t","e",{"a":"\ud800\ud800"}]"#,
        // numbers RFC 8259 does not have, or too large for a Double
        #"["1","2","t","e",{"a":01}]"#, #"["1","2","t","e",{"a":-01}]"#, #"["1","2","t","e",{"a":00}]"#, #"["1","2","t","e",{"a":.5}]"#,
        #"["1","2","t","e",{"a":+1}]"#, #"["1","2","t","e",{"a":1.}]"#, #"["1","2","t","e",{"a":1.e5}]"#, #"["1","2","t","e",{"a":0x10}]"#,
        #"["1","2","t","e",{"a":NaN}]"#, #"["1","2","t","e",{"a":Infinity}]"#, #"["1","2","t","e",{"a":-}]"#, #"["1","2","t","e",{"a":1e400}]"#,
        #"["1","2","t","e",{"a":-1e400}]"#, "[\"1\",\"2\",\"t\",\"e\",{\"a\":1\(String(repeating: "0", count: 400))}]",
        // not JSON at all
        "nope", #"['1','2','t','e',{}]"#, #"["1","2","t","e",{a:1}]"#, #"["1","2","t","e",{1:1}]"#, #"["1","2","t","e",{"a" 1}]"#,
        #"["1","2","t","e",{"a":1 "b":2}]"#, #"["1" "2","t","e",{}]"#, #"["1","2","t","e",{}]//"#, #"/**/["1","2","t","e",{}]"#,
        #"["1","2","t","e",{"a":True}]"#, #"["1","2","t","e",{"a":nul}]"#, #"["1","2","t","e",{"a":nulll}]"#,
        // wrong arity
        "[]", #"["1"]"#, #"["1","2","t","e"]"#, #"["1","2","t","e",{},{}]"#,
        // wrong types for topic, event and refs
        #"["1","2",3,"e",{}]"#, #"["1","2","t",null,{}]"#, #"["1","2",["t"],"e",{}]"#, #"[{},"2","t","e",{}]"#,
        #"["1",true,"t","e",{}]"#, #"["1",[],"t","e",{}]"#, #"["1",1.5,"t","e",{}]"#, #"[1e400,"2","t","e",{}]"#,
        #"[9223372036854775808,"2","t","e",{}]"#,
        // not a frame in either form
        "1", #""s""#, "null",
    ]

    /// The same failures in the object form, plus its own.
    static let malformedObjectTexts: [String] = [
        "", "{", "{}", #"{"topic":"t"}"#, #"{"event":"e"}"#, #"{"topic":"t","event":"e""#, #"{"topic":"t","event":"e",}"#,
        #"{"topic":"t","event":"e"} x"#, #"{"topic":"t","event":"e"}}"#, #"{"topic":"t","event":"e","payload":{"a":1,}}"#,
        #"{"topic":3,"event":"e"}"#, #"{"topic":"t","event":null}"#, #"{"topic":"t","event":"e","ref":true}"#,
        #"{"topic":"t","event":"e","join_ref":{}}"#, #"{"topic":"t","event":"e","ref":0.5}"#, #"{"topic":"t","event":"e","ref":1e400}"#,
        #"{"topic":"t","event":"e","payload":{"a":"\ud800"}}"#, #"{"topic":"t","event":"e","payload":{"a":01}}"#,
        #"{"topic":"t","event":"e","extra":[1,]}"#, #"{"topic":"t","event":"e","extra":x}"#, #"{"topic":"t" "event":"e"}"#,
        #"{"topic":"t","event":"e","payload"}"#, #"{topic:"t","event":"e"}"#, #"["1","2","t","e",{}]"#,
        "{\"topic\":\"t\",\"event\":\"e\",\"payload\":{\"a\":\"\u{7}\"}}",
    ]

    @Test(arguments: malformedTexts)
    func malformedArrayFramesAreRejected(text: String) {
        #expect(throws: PhoenixSerializer.DecodeError.malformed) { try PhoenixSerializer.v2.decode(ByteBuffer(string: text)) }
        #expect(throws: PhoenixSerializer.DecodeError.malformed) { try PhoenixSerializer.v1.decode(ByteBuffer(string: text)) }
    }

    @Test(arguments: malformedObjectTexts)
    func malformedObjectFramesAreRejected(text: String) {
        #expect(throws: PhoenixSerializer.DecodeError.malformed) { try PhoenixSerializer.v1.decode(ByteBuffer(string: text)) }
    }

    @Test(
        arguments: [
            [0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80], [0x80], [0xF8, 0x88, 0x80, 0x80, 0x80],
        ] as [[UInt8]]
    )
    func invalidUTF8IsRejected(bytes: [UInt8]) {
        // Inside a string (once without and once with an escape before it), and outside one.
        for (prefix, suffix) in [
            (#"["1","2","t","e",{"a":""#, #""}]"#), (#"["1","2","t","e",{"a":"\n"#, #""}]"#), (#"["1","2","t","e",{"a":"#, "}]"),
        ] {
            let frame = ByteBuffer(bytes: Array(prefix.utf8) + bytes + Array(suffix.utf8))
            #expect(throws: PhoenixSerializer.DecodeError.malformed) { try PhoenixSerializer.v2.decode(frame) }
        }
        let object = ByteBuffer(bytes: Array(#"{"topic":"t","event":"e","payload":{""#.utf8) + bytes + Array(#"":1}}"#.utf8))
        #expect(throws: PhoenixSerializer.DecodeError.malformed) { try PhoenixSerializer.v1.decode(object) }
    }

    @Test func nestingIsLimitedLikeJSONDecoder() throws {
        let bomb = String(repeating: "[", count: 100_000)
        #expect(throws: PhoenixSerializer.DecodeError.malformed) { try PhoenixSerializer.v2.decode(ByteBuffer(string: bomb)) }
        #expect(throws: PhoenixSerializer.DecodeError.malformed) {
            try PhoenixSerializer.v2.decode(ByteBuffer(string: #"["1","2","t","e",\#(bomb)"#))
        }
        #expect(throws: PhoenixSerializer.DecodeError.malformed) {
            try PhoenixSerializer.v1.decode(ByteBuffer(string: #"{"topic":"t","event":"e","payload":\#(bomb)"#))
        }
        #expect(throws: JSONScanner.Failure.malformed) { try JSONScanner.parse(ByteBuffer(string: String(repeating: "{\"a\":", count: 100_000))) }
        // The envelope counts as one level: a payload 511 deep makes 512, JSONDecoder's limit.
        func nested(_ depth: Int) -> String { String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }
        #expect(try PhoenixSerializer.v2.decode(ByteBuffer(string: #"["1","2","t","e",\#(nested(511))]"#)).topic == "t")
        #expect(throws: PhoenixSerializer.DecodeError.malformed) {
            try PhoenixSerializer.v2.decode(ByteBuffer(string: #"["1","2","t","e",\#(nested(512))]"#))
        }
        #expect(try JSONScanner.parse(ByteBuffer(string: nested(512))) != .null)
        #expect(throws: JSONScanner.Failure.malformed) { try JSONScanner.parse(ByteBuffer(string: nested(513))) }
    }

    @Test func httpBodiesAnswerMalformedJSONAsBefore() throws {
        #expect(
            try JSONValue.parse(ByteBuffer(string: #" {"email":"a@b.io","password":"pw"} "#))
                == .object(["email": .string("a@b.io"), "password": .string("pw")])
        )
        // A UTF-8 byte order mark is skipped, as JSONDecoder did.
        #expect(try JSONValue.parse(ByteBuffer(bytes: [0xEF, 0xBB, 0xBF] + Array("[1]".utf8))) == .array([.integer(1)]))
        for text in ["", "{", #"{"a":1,}"#, "{} {}", #"{"a":"\ud800"}"#] {
            let error = #expect(throws: APIError.self) { try JSONValue.parse(ByteBuffer(string: text)) }
            guard case .badRequest(let reason) = error else {
                Issue.record("\(String(describing: error)) for \(text)")
                continue
            }
            #expect(reason == "malformed JSON")
        }
    }

    // MARK: Equivalence with the JSONDecoder path

    /// Valid JSON texts on which the scanner must give exactly what `JSONDecoder` gave.
    static let equivalenceCorpus: [String] = [
        Self.sendPayload, "{}", "[]", "null", "true", "false", "0", "-0", "\"\"", #""plain""#, "  [1]  ", "\u{FEFF}[1]",
        #"{"last_seen_id":123456}"#, #"{"message_id":9007199254740993}"#, #"{"a":{"b":{"c":{"d":[[[[{}]]]]}}}}"#,
        #"[1,-1,0,-0,0.0,-0.0,1.0,1e2,1E2,1e+2,1E-2,0.5e1,123.456e3,2.5E+10,-1.5e-3,1e-400,2e-324,5e-324,1e308]"#,
        #"[9223372036854775807,-9223372036854775808,9223372036854775808,-9223372036854775809,12345678901234567890123]"#,
        #"[9007199254740992,9007199254740993,9007199254740993.0,9007199254740993.5,-9007199254740993.0,123456789012345678.0]"#,
        #"[9223372036854775295.0,9223372036854775807.0,-9223372036854775807.0,-9223372036854775808.0,1e18,-1e18,1e19,9.3e18]"#,
        #"[9007199254740993.00000000000000000000,4.0e18,1.000000000000000000001,100e-2,0.1,1.7976931348623157e308,4.9e-324]"#,
        #"[0e0,0E+0,-0e5,0.000,1.5,3.14159265358979323846,1e-5,12e-1,1200e-2,-123e-2,0.0000001e7]"#,
        #""caf\u00e9 \ud83d\ude00 \uD83D\uDE00 \uDBFF\uDFFF \"q\" \\ \/ \b\f\n\r\t 日本 😀 \u0000 \u007f""#,
        "\"\u{7F}\u{80}\u{7FF}\u{800}\u{FFFF}\u{10000}\u{10FFFF}é\"", #"{"\u00e9":1,"e\u0301":2}"#, #"{"a":1,"a":2,"b":[1,2],"b":null}"#,
        #"{"":"","a b":"c","\"":"\\"}"#, #"[true,false,null,[true],{"t":true}]"#, "\t\n\r [\t\n\r 1\t\n\r ,\t\n\r {\t\n\r }\t\n\r ]\t\n\r ",
        #"{"user":"2","conv":"x","message":123,"client_id":null}"#, #"{"user":2.0,"conv":1e0,"message":"","client_id":7}"#,
    ]

    @Test(arguments: equivalenceCorpus)
    func scannerAgreesWithJSONDecoder(text: String) throws {
        let reference = try #require(FoundationJSONValue.decode(Array(text.utf8)))
        #expect(try JSONScanner.parse(ByteBuffer(string: text)) == reference)
        // Same within a frame (where a byte order mark is no longer at the start, so not skipped).
        guard !text.hasPrefix("\u{FEFF}") else { return }
        #expect(try PhoenixSerializer.v2.decode(ByteBuffer(string: #"["1","2","t","e",\#(text)]"#)).payload == reference)
    }

    @Test func numbersAgreeWithJSONDecoder() throws {
        var generator = SystemRandomNumberGenerator()
        let exponents = ["", "e0", "e1", "e-1", "e2", "E+3", "e-5", "e15", "e16", "e17", "e18", "e-18", "e19", "e-25"]
        let fractions = [
            "", ".0", ".5", ".00", ".25", ".000000000000000000001", ".9999999999999999999", ".00000000000000000000000",
            "0000000", "00000000000000000000000", ".000000000000000000000000000000000000001",
        ]
        var checked = 0
        for _ in 0..<1_000 {
            let digits = String(UInt64.random(in: 1...UInt64.max, using: &generator)).prefix(Int.random(in: 1...20, using: &generator))
            for sign in ["", "-"] {
                let text = sign + digits + fractions.randomElement(using: &generator)! + exponents.randomElement(using: &generator)!
                guard let reference = FoundationJSONValue.decode(Array(text.utf8)) else {
                    #expect(throws: JSONScanner.Failure.malformed, "\(text)") { try JSONScanner.parse(ByteBuffer(string: text)) }
                    continue
                }
                #expect(try JSONScanner.parse(ByteBuffer(string: text)) == reference, "\(text)")
                checked += 1
            }
        }
        #expect(checked > 0)
    }

    @Test func mutatedFramesNeverCrashAndNeverPassWhatJSONDecoderRefused() throws {
        var generator = SystemRandomNumberGenerator()
        let seeds = [
            #"["1","42","room:chat","send_msg",\#(Self.sendPayload)]"#,
            #"["1","2","t","e",{"a":[1,-2.5e3,true,null,"caf\u00e9 \ud83d\ude00"],"b":{"c":{}}}]"#,
        ].map { Array($0.utf8) }
        let alphabet = Array(#"[]{}",:\-.0123456789eEtrufalsn u"#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xA9, 0xED, 0xFF]
        for _ in 0..<3_000 {
            var bytes = seeds.randomElement(using: &generator)!
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[position] = alphabet.randomElement(using: &generator)!
                case 1: bytes.remove(at: position)
                default: bytes.insert(alphabet.randomElement(using: &generator)!, at: position)
                }
            }
            guard let scanned = try? PhoenixSerializer.v2.decode(ByteBuffer(bytes: bytes)) else { continue }
            // Whatever the scanner accepts, JSONDecoder accepted too, with the same payload.
            guard case .array(let items) = FoundationJSONValue.decode(bytes), items.count == 5 else {
                Issue.record("accepted what JSONDecoder refused: \(String(decoding: bytes, as: UTF8.self))")
                continue
            }
            #expect(items[4] == scanned.payload, "\(String(decoding: bytes, as: UTF8.self))")
        }
    }
}
