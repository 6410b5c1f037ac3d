import Foundation
import FuzzSupport
import Gateway
import JWTKit
import Store

/// Fuzzes `TokenService.verify` (JWTKit's HS256 verification, claim decoding and checks, then the broker's own
/// checks) with a fixed 64-byte secret. The first input byte picks the mode:
/// - even: the rest is the token string, as a client would send it;
/// - odd: the rest describes claims (names and values of any JSON type), signed with the service's secret, so
///   inputs get past the signature to the claim decoding; with bit 1 set, one byte of the signed token is then
///   changed as the input says.
///
/// Invariant: an accepted token names a user (`sub` is an integer) and has not expired.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let mode = data[0]
    runBlocking {
        var input = ByteReader(bytes)
        let token: String
        if mode & 1 == 0 {
            token = String(decoding: input.rest, as: UTF8.self)
        } else {
            let tamper = mode & 2 == 0 ? nil : (position: Int(input.byte()), value: input.byte())
            guard var signed = try? await Fixture.signer.sign(FuzzClaims(&input)) else { return }
            if let tamper, !signed.isEmpty {
                var bytes = Array(signed.utf8)
                bytes[tamper.position % bytes.count] = tamper.value
                signed = String(decoding: bytes, as: UTF8.self)
            }
            token = signed
        }
        guard let claims = try? await Fixture.tokens.verify(token) else { return }
        fuzzCheck(Int64(claims.sub.value) != nil, "accepted sub \(claims.sub.value.debugDescription)")
        fuzzCheck(claims.exp.value > Date(), "accepted expired \(claims.exp.value)")
    }
    return 0
}

/// The service under test and a signer with the same secret.
enum Fixture {
    static let secret = String(repeating: "0123456789abcdef", count: 4)
    static let tokens = runBlocking {
        try! await TokenService(secret: secret, timeToLive: .seconds(3600), store: StubStore())
    }
    static let signer = runBlocking {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        return keys
    }
}

/// Reads the fuzzer's bytes front to back; past the end every read is 0.
struct ByteReader {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { index >= bytes.count }

    /// What is left.
    var rest: ArraySlice<UInt8> { bytes[min(index, bytes.count)...] }

    mutating func byte() -> UInt8 {
        guard index < bytes.count else { return 0 }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func integer() -> Int64 {
        (0..<8).reduce(Int64(0)) { value, _ in value << 8 | Int64(byte()) }
    }

    /// A string of up to 31 bytes (invalid UTF-8 repaired).
    mutating func string() -> String {
        let count = Int(byte() & 31)
        return String(decoding: (0..<count).map { _ in byte() }, as: UTF8.self)
    }
}

/// Claims made of the input: up to eight members, each a known claim name (or another string) with a value of
/// any JSON type; numbers are often near now, so expiry is on either side of it.
struct FuzzClaims: JWTPayload {
    enum Value: Encodable {
        case string(String)
        case integer(Int64)
        case number(Double)
        case bool(Bool)
        case null

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let text): try container.encode(text)
            case .integer(let number): try container.encode(number)
            case .number(let number): try container.encode(number)
            case .bool(let flag): try container.encode(flag)
            case .null: try container.encodeNil()
            }
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static let names = ["sub", "exp", "iat", "jti", "nbf", "aud", "iss"]
    var members: [(String, Value)] = []

    init(_ input: inout ByteReader) {
        let now = Int64(Date().timeIntervalSince1970)
        for _ in 0..<Int(input.byte() & 7) where !input.isAtEnd {
            let pick = input.byte()
            let name = Int(pick) < Self.names.count ? Self.names[Int(pick)] : input.string()
            let value: Value
            switch input.byte() % 7 {
            case 0: value = .string(input.string())
            case 1: value = .string(String(input.integer()))
            case 2: value = .integer(input.integer())
            case 3: value = .integer(now + Int64(Int8(bitPattern: input.byte())) * 100)
            case 4: value = .number(Double(bitPattern: UInt64(bitPattern: input.integer())))
            case 5: value = .bool(input.byte() & 1 == 1)
            default: value = .null
            }
            members.append((name, value))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for (name, value) in members { try container.encode(value, forKey: Key(stringValue: name)) }
    }

    init(from decoder: any Decoder) throws { members = [] }

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// The program's entry point (see `runFuzzer`).
@_cdecl("FuzzJWT_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzOneInput(data, size) }
}
