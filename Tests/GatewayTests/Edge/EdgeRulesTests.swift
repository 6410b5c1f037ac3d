import Testing

@testable import Gateway

/// The pure rules behind `BROKER_TRUSTED_PROXIES` and `BROKER_ALLOWED_ORIGINS`.
struct EdgeRulesTests {
    @Test func cidrListsParseAndMatchBothFamilies() throws {
        let proxies = try TrustedProxies(parsing: " 10.0.0.0/8, 192.168.1.7 ,fd00::/8, ::1/128, 0.0.0.0/0 ")
        #expect(proxies.trusts("10.255.1.2"))
        #expect(proxies.trusts("192.168.1.7"))
        #expect(proxies.trusts("fd12::3"))
        #expect(proxies.trusts("::1"))
        #expect(proxies.trusts("8.8.8.8"))  // 0.0.0.0/0 covers every IPv4 address, and no IPv6 one
        #expect(!proxies.trusts("2001:db8::1"))
        #expect(!proxies.trusts("not an address"))
        let narrow = try TrustedProxies(parsing: "172.16.0.0/12")
        #expect(narrow.trusts("172.31.255.255"))
        #expect(!narrow.trusts("172.32.0.1"))
        #expect(TrustedProxies.none.isEmpty && !TrustedProxies.none.trusts("127.0.0.1"))
        for bad in ["10.0.0.0/33", "::/129", "10.0.0/8", "example.com", "1.2.3.4/x", "1.2.3.4/8/9"] {
            #expect(throws: TrustedProxiesError.self, "\(bad)") { try TrustedProxies(parsing: bad) }
        }
    }

    @Test func theClientIsTheRightmostUntrustedHop() throws {
        let proxies = try TrustedProxies(parsing: "127.0.0.0/8,10.0.0.0/8")
        func client(_ peer: String?, xff: [String] = [], forwarded: [String] = []) -> String? {
            proxies.clientAddress(peer: peer, forwardedFor: xff, forwarded: forwarded)
        }
        #expect(client("203.0.113.9", xff: ["1.1.1.1"]) == "203.0.113.9")  // untrusted peer: headers ignored
        #expect(client("127.0.0.1") == "127.0.0.1")
        #expect(client("127.0.0.1", xff: ["1.1.1.1"]) == "1.1.1.1")
        #expect(client("127.0.0.1", xff: ["6.6.6.6, 1.1.1.1, 10.0.0.3"]) == "1.1.1.1")
        #expect(client("127.0.0.1", xff: ["6.6.6.6", "1.1.1.1:8080"]) == "1.1.1.1")  // two header lines, a port
        #expect(client("127.0.0.1", xff: ["10.0.0.2, 10.0.0.3"]) == "10.0.0.2")  // every hop trusted
        #expect(client("127.0.0.1", forwarded: [#"for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8::1]:4711""#]) == "2001:db8::1")
        #expect(client("127.0.0.1", forwarded: ["For=\"_hidden\", for=10.0.0.1"]) == "_hidden")
        #expect(client("127.0.0.1", xff: ["1.1.1.1"], forwarded: ["for=2.2.2.2"]) == "1.1.1.1")  // X-Forwarded-For wins
        #expect(client("127.0.0.1", xff: [" , "]) == "127.0.0.1")
        #expect(client(nil, xff: ["1.1.1.1"]) == nil)
    }

    @Test func originsMatchLikePhoenixCheckOrigin() throws {
        let origins = try AllowedOrigins(parsing: "https://chat.example.com, //*.example.org, http://localhost:3000")
        #expect(origins.allows(nil))
        #expect(origins.allows("https://chat.example.com"))
        #expect(origins.allows("https://CHAT.example.com:443"))
        #expect(origins.allows("https://chat.example.com:8443"))  // no port in the entry: any port
        #expect(!origins.allows("http://chat.example.com"))
        #expect(origins.allows("http://a.example.org") && origins.allows("https://a.b.example.org"))
        #expect(!origins.allows("https://example.org"))
        #expect(!origins.allows("https://evilexample.org"))
        #expect(origins.allows("http://localhost:3000") && !origins.allows("http://localhost:3001"))
        #expect(!origins.allows("null") && !origins.allows("") && !origins.allows("https://"))
        #expect(AllowedOrigins.any.allows("https://anything.test"))
        #expect(try AllowedOrigins(parsing: " , ").allowsAll)
        for bad in ["https://", "https://a.com/path", "https://a.com:99999", "//"] {
            #expect(throws: AllowedOriginsError.self, "\(bad)") { try AllowedOrigins(parsing: bad) }
        }
    }
}
