import NIOCore

/// Reads strict RFC 8259 JSON straight from a buffer's bytes into ``JSONValue``s and strings, so a Phoenix frame is
/// decoded without `Data`, without an intermediate document for the envelope and without `JSONDecoder`'s
/// per-value `Decodable` dispatch (12–15 µs and ~96 allocations per `send_msg` frame before it).
///
/// Hand-written because no package in `Package.swift` parses JSON from a `ByteBuffer`: Foundation's `JSONDecoder`
/// is what this replaces, and NIO, Hummingbird and the others only write JSON or hand it to Foundation.
///
/// Where RFC 8259 leaves a choice, the scanner makes the one `JSONDecoder` makes, so replies such as
/// `invalid payload` stay the same: the first of duplicate object keys wins (keys compared as Swift strings);
/// lone or reversed UTF-16 surrogates in `\u` escapes and invalid UTF-8 are rejected; a leading UTF-8 byte order
/// mark is skipped; at most ``maximumDepth`` nested arrays and objects; numbers follow ``readNumber()``.
/// It is stricter than `JSONDecoder` in two ways: a trailing comma (`[1,]`, `{"a":1,}`) is malformed, and so is
/// UTF-16 or UTF-32 text (RFC 8259 §8.1 requires UTF-8 between systems).
///
/// The scanner reads memory it does not own: it lives only inside ``withScanner(over:_:)``'s closure.
struct JSONScanner {
    /// Why the bytes are not accepted. One case: callers map it to their own "malformed" answer.
    enum Failure: Error, Hashable {
        /// Not strict JSON, nested too deep, or not the expected shape.
        case malformed
    }

    /// How deeply arrays and objects may nest, counting the outermost: `JSONDecoder`'s limit. Deeper input is
    /// malformed, so a hostile frame of 100,000 `[` cannot overflow the stack of the recursive reader.
    static let maximumDepth = 512

    /// The bytes being read.
    private let bytes: UnsafeRawBufferPointer
    /// The offset of the next unread byte.
    private var index: Int
    /// How many arrays and objects enclose the reading position.
    private var depth = 0
    /// Reused for strings with escapes, so each one does not allocate its own buffer.
    private var scratch: [UInt8] = []

    /// Creates a scanner at the start of `bytes`, past a UTF-8 byte order mark (which `JSONDecoder` ignores too).
    private init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        let hasByteOrderMark = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
        self.index = hasByteOrderMark ? 3 : 0
    }

    /// Runs `body` with a scanner over the readable bytes of `buffer`; the scanner must not escape `body`.
    static func withScanner<Value>(
        over buffer: ByteBuffer,
        _ body: (inout JSONScanner) throws(Failure) -> Value
    ) throws(Failure) -> Value {
        // `withUnsafeReadableBytes` rethrows untyped errors; carrying the outcome out as a `Result` keeps the
        // failure typed and free of an existential box.
        let outcome = buffer.withUnsafeReadableBytes { bytes -> Result<Value, Failure> in
            var scanner = JSONScanner(bytes: bytes)
            do throws(Failure) {
                return .success(try body(&scanner))
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }

    /// Parses the whole buffer as one JSON text.
    /// - Throws: ``Failure/malformed`` for anything but exactly one JSON value, with optional whitespace around it.
    static func parse(_ buffer: ByteBuffer) throws(Failure) -> JSONValue {
        try withScanner(over: buffer) { scanner throws(Failure) in
            let value = try scanner.readValue()
            try scanner.readEnd()
            return value
        }
    }

    // MARK: Structure

    /// Checks that only whitespace is left.
    mutating func readEnd() throws(Failure) {
        skipWhitespace()
        guard index == bytes.count else { throw .malformed }
    }

    /// Reads the structural character `byte`, after whitespace.
    mutating func read(_ byte: UInt8) throws(Failure) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { throw .malformed }
        index += 1
    }

    /// Reads `byte` after whitespace if it is next.
    /// - Returns: whether it was there.
    mutating func readIfPresent(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// Reads the `[` or `{` that opens a container the caller walks itself (the frame's envelope), counting it
    /// toward ``maximumDepth`` like any other.
    mutating func openContainer(_ byte: UInt8) throws(Failure) {
        try read(byte)
        try enterContainer()
    }

    /// Counts one more level of nesting.
    private mutating func enterContainer() throws(Failure) {
        depth += 1
        guard depth <= Self.maximumDepth else { throw .malformed }
    }

    /// Skips the four whitespace characters of RFC 8259 (and nothing else: no comments, no NUL).
    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): index += 1
            default: return
            }
        }
    }

    // MARK: Values

    /// Reads any JSON value.
    mutating func readValue() throws(Failure) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw .malformed }
        switch bytes[index] {
        case UInt8(ascii: "\""): return .string(try readStringAtQuote())
        case UInt8(ascii: "{"): return try readObject()
        case UInt8(ascii: "["): return try readArray()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try readNumber()
        case UInt8(ascii: "t"):
            try readLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try readLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try readLiteral("null")
            return .null
        default: throw .malformed
        }
    }

    /// Reads a string value.
    /// - Throws: ``Failure/malformed`` when the next value is not a string.
    mutating func readString() throws(Failure) -> String {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw .malformed }
        return try readStringAtQuote()
    }

    /// Reads a Phoenix ref: a string, an integer (some clients send them; rendered with `String(_:)`) or `null`.
    /// An integer is any number the old `JSONDecoder` path read as one, so `1.0` is `"1"` as before.
    /// - Throws: ``Failure/malformed`` for any other value.
    mutating func readReference() throws(Failure) -> String? {
        skipWhitespace()
        guard index < bytes.count else { throw .malformed }
        switch bytes[index] {
        case UInt8(ascii: "\""): return try readStringAtQuote()
        case UInt8(ascii: "n"):
            try readLiteral("null")
            return nil
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            guard case .integer(let number) = try readNumber() else { throw .malformed }
            return String(number)
        default: throw .malformed
        }
    }

    /// Reads `true`, `false` or `null`, whose first byte is next.
    private mutating func readLiteral(_ literal: StaticString) throws(Failure) {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw .malformed }
        let start = literal.utf8Start
        for offset in 0..<count where bytes[index + offset] != start[offset] {
            throw .malformed
        }
        index += count
    }

    /// Reads an array whose `[` is next.
    private mutating func readArray() throws(Failure) -> JSONValue {
        index += 1
        try enterContainer()
        defer { depth -= 1 }
        if readIfPresent(UInt8(ascii: "]")) { return .array([]) }
        var items: [JSONValue] = []
        items.reserveCapacity(4)
        repeat {
            items.append(try readValue())
        } while readIfPresent(UInt8(ascii: ","))
        try read(UInt8(ascii: "]"))
        return .array(items)
    }

    /// Reads an object whose `{` is next. Of duplicate keys the first wins, as with `JSONDecoder`.
    private mutating func readObject() throws(Failure) -> JSONValue {
        index += 1
        try enterContainer()
        defer { depth -= 1 }
        if readIfPresent(UInt8(ascii: "}")) { return .object([:]) }
        // Room for the usual payload (a send_msg has four members) without growing the table on the way.
        var members: [String: JSONValue] = [:]
        members.reserveCapacity(6)
        repeat {
            let key = try readString()
            try read(UInt8(ascii: ":"))
            let value = try readValue()
            if members.index(forKey: key) == nil { members[key] = value }
        } while readIfPresent(UInt8(ascii: ","))
        try read(UInt8(ascii: "}"))
        return .object(members)
    }

    // MARK: Strings

    /// Reads a string whose opening quote is next.
    private mutating func readStringAtQuote() throws(Failure) -> String {
        index += 1
        let start = index
        // Any byte with the top bit set means the text needs UTF-8 validation; pure ASCII cannot be invalid.
        var seen: UInt8 = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
                index += 1
                if seen < 0x80 { return String(decoding: text, as: UTF8.self) }
                guard let string = String(validating: text, as: UTF8.self) else { throw .malformed }
                return string
            }
            if byte == UInt8(ascii: "\\") { return try readEscapedString(from: start) }
            guard byte >= 0x20 else { throw .malformed }
            seen |= byte
            index += 1
        }
        throw .malformed
    }

    /// Finishes a string that has escapes, from its first content byte at `start`; `index` is at a backslash.
    private mutating func readEscapedString(from start: Int) throws(Failure) -> String {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = String(validating: scratch, as: UTF8.self) else { throw .malformed }
                return string
            case UInt8(ascii: "\\"):
                try readEscape()
            case 0..<0x20:
                throw .malformed
            default:
                scratch.append(byte)
            }
        }
        throw .malformed
    }

    /// Reads the escape after a backslash into `scratch`.
    private mutating func readEscape() throws(Failure) {
        guard index < bytes.count else { throw .malformed }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(byte)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try readHexUnit()
            let value: UInt32
            switch unit {
            case 0xD800...0xDBFF:
                // A high surrogate must be followed by an escaped low one; alone it is rejected, as by `JSONDecoder`.
                guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                else { throw .malformed }
                index += 2
                let low = try readHexUnit()
                guard (0xDC00...0xDFFF).contains(low) else { throw .malformed }
                value = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            case 0xDC00...0xDFFF:
                throw .malformed
            default:
                value = UInt32(unit)
            }
            appendUTF8(value)
        default:
            throw .malformed
        }
    }

    /// Reads the four hex digits of a `\u` escape.
    private mutating func readHexUnit() throws(Failure) -> UInt16 {
        guard bytes.count - index >= 4 else { throw .malformed }
        var unit: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw .malformed
            }
            unit = unit << 4 | UInt16(digit)
            index += 1
        }
        return unit
    }

    /// Appends the UTF-8 form of a scalar value (never a surrogate: ``readEscape()`` rejected those).
    private mutating func appendUTF8(_ value: UInt32) {
        switch value {
        case 0..<0x80:
            scratch.append(UInt8(value))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | value >> 6))
            scratch.append(UInt8(0x80 | value & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | value >> 12))
            scratch.append(UInt8(0x80 | value >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | value & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | value >> 18))
            scratch.append(UInt8(0x80 | value >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | value >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | value & 0x3F))
        }
    }

    // MARK: Numbers

    /// Reads a number whose first byte is next, with the results the old `JSONDecoder` path gave (it tried
    /// `Int64`, then `Double`), so validation replies do not change:
    /// - integer syntax within `Int64` is `.integer`, beyond it `.number` (`9223372036854775808` is a `Double`);
    /// - a fraction or exponent whose `Double` is a whole number within `Int64` is `.integer` too (`1.0`, `1e2`,
    ///   `-0.0`, even `1e-400` is 0); from 2^53 up the decimal text itself is truncated toward zero, as Foundation's
    ///   `Decimal` fallback does (`9007199254740993.5` is 9007199254740993);
    /// - anything else is `.number`, and a number too large for a `Double` (`1e400`) is malformed.
    private mutating func readNumber() throws(Failure) -> JSONValue {
        let start = index
        let isNegative = bytes[index] == UInt8(ascii: "-")
        if isNegative { index += 1 }
        // The integer part: `0` alone or a nonzero digit first (no leading zeros), accumulated negatively so that
        // Int64.min fits.
        guard index < bytes.count, isDigit(bytes[index]) else { throw .malformed }
        var accumulated: Int64 = 0
        var overflowed = false
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, isDigit(bytes[index]) {
                let (product, productOverflow) = accumulated.multipliedReportingOverflow(by: 10)
                let (sum, sumOverflow) = product.subtractingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
                overflowed = overflowed || productOverflow || sumOverflow
                accumulated = sum
                index += 1
            }
        }
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            try readDigits()
            isInteger = false
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            try readDigits()
            isInteger = false
        }
        if isInteger, !overflowed {
            if isNegative { return .integer(accumulated) }
            if accumulated != .min { return .integer(-accumulated) }
        }
        let text = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
        guard let double = Double(String(decoding: text, as: UTF8.self)), double.isFinite else { throw .malformed }
        if !isInteger, let whole = Int64(exactly: double) {
            // Below 2^53 a whole Double is exactly the integer the text rounds to; above, neighbouring Doubles are
            // 2 or more apart, so Foundation reread the text as a Decimal.
            if double.magnitude < 0x1p53 { return .integer(whole) }
            if let truncated = Self.truncatedInteger(text) { return .integer(truncated) }
        }
        return .number(double)
    }

    /// Reads one or more digits.
    private mutating func readDigits() throws(Failure) {
        guard index < bytes.count, isDigit(bytes[index]) else { throw .malformed }
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }

    /// Whether `byte` is an ASCII digit.
    private func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    /// The value of a valid JSON number's text truncated toward zero, the way Foundation's `JSONDecoder` turns a
    /// `Decimal` into an `Int64`: digits are kept while the significand fits Decimal's 128 bits (later fraction
    /// digits are dropped), trailing zeros are compacted away, the significand must then fit a `UInt64` and the
    /// result `Int64` (with magnitude at most `Int64.max`, also when negative).
    /// - Returns: `nil` where Foundation fell back to `Double`.
    private static func truncatedInteger(_ text: UnsafeRawBufferPointer) -> Int64? {
        var significand: UInt128 = 0
        var exponent = 0
        var isNegative = false
        var inFraction = false
        var position = 0
        while position < text.count {
            let byte = text[position]
            position += 1
            switch byte {
            case UInt8(ascii: "-"): isNegative = true
            case UInt8(ascii: "."): inFraction = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let (product, productOverflow) = significand.multipliedReportingOverflow(by: 10)
                let (sum, sumOverflow) = product.addingReportingOverflow(UInt128(byte - UInt8(ascii: "0")))
                if !productOverflow, !sumOverflow {
                    significand = sum
                    if inFraction { exponent -= 1 }
                } else if !inFraction {
                    exponent += 1
                }
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                var exponentIsNegative = false
                var written = 0
                while position < text.count {
                    let exponentByte = text[position]
                    position += 1
                    switch exponentByte {
                    case UInt8(ascii: "-"): exponentIsNegative = true
                    case UInt8(ascii: "+"): break
                    default: written = min(written * 10 + Int(exponentByte - UInt8(ascii: "0")), 100_000)
                    }
                }
                exponent += exponentIsNegative ? -written : written
            default: return nil
            }
        }
        if significand == 0 { return 0 }
        while significand % 10 == 0 {
            significand /= 10
            exponent += 1
        }
        guard var magnitude = UInt64(exactly: significand) else { return nil }
        if exponent < 0 {
            for _ in 0..<min(-exponent, 20) { magnitude /= 10 }
        } else {
            for _ in 0..<exponent {
                let (product, overflow) = magnitude.multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                magnitude = product
            }
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return isNegative ? -Int64(magnitude) : Int64(magnitude)
    }
}
