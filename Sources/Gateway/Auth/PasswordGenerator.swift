/// Generated passwords and secrets: random URL-safe characters from the system's secure generator.
package enum PasswordGenerator {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

    /// A new random string of `length` URL-safe characters (at least 16 for passwords).
    package static func generate(length: Int = 24) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }
}
