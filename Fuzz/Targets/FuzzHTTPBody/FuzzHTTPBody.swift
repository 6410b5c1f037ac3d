import FuzzSupport
import NIOCore

@testable import Gateway

/// Fuzzes the JSON body of every HTTP route that reads one: `JSONValue.parse` (strict `JSONScanner`), then the
/// validation each controller runs on the parsed value, with the controllers' field names and limits
/// (`POST /api/users`, `/api/login`, `/api/conversations`, `/api/conversations/:id/messages`). The wrapped
/// object (`{"user": …}`) and the body itself are both validated, so the fuzzer need not find the wrapper.
///
/// Invariants: what the scanner accepts, `JSONDecoder` accepts with the same value (the scanner is documented
/// to be stricter, never different); a parsed value written back with `JSONWriter` parses to itself (``sameJSON``); accepted
/// fields obey their rules (trimmed, non-blank, within length; ids positive).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let value = try? JSONValue.parse(ByteBuffer(bytes: bytes)) else { return 0 }
    let reference = FoundationJSONValue.decode(bytes)
    fuzzCheck(reference == value, "JSONDecoder read \(String(describing: reference)), the scanner \(value)")
    var written = ByteBuffer()
    JSONWriter.write(value, into: &written)
    let reread = try? JSONValue.parse(written)
    fuzzCheck(reread.map { sameJSON($0, value) } ?? false, "\(value) written as \(String(buffer: written)) reads \(String(describing: reread))")
    for key in ["user", "creds", "conversation", "message"] {
        _ = try? value.requireObject(key)
    }
    for object in [value] + ["user", "creds", "conversation", "message"].compactMap({ value[$0] }) {
        validateRegistration(object)
        validateLogin(object)
        validateConversation(object)
        validateMessage(object)
    }
    return 0
}

/// `UsersController.register`'s checks.
func validateRegistration(_ object: JSONValue) {
    var fields = FieldValidator(object)
    let limit = UsersController.maxFieldLength
    for name in ["name", "subname", "email", "job"] {
        guard let value = fields.requiredString(name, maxLength: limit) else { continue }
        fuzzCheck(!value.isEmpty && value.count <= limit, "\(name) \(value.debugDescription) accepted")
        fuzzCheck(value == value.trimmingCharacters(in: .whitespacesAndNewlines), "\(name) not trimmed")
        if name == "email" { _ = UsersController.looksLikeEmail(value) }
    }
    checkErrors(fields)
}

/// `SessionsController.login`'s checks.
func validateLogin(_ object: JSONValue) {
    guard case .string(let email) = object["email"], case .string = object["password"] else { return }
    _ = email.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// `ConversationsController.create`'s checks.
func validateConversation(_ object: JSONValue) {
    var fields = FieldValidator(object)
    if case .some(.some(let id)) = fields.requiredReference("recipient_id") {
        fuzzCheck(id > 0, "recipient_id \(id) accepted")
    }
    _ = fields.requiredID("recipient_id")
    checkErrors(fields)
}

/// `ConversationsController.send`'s checks.
func validateMessage(_ object: JSONValue) {
    var fields = FieldValidator(object)
    let limit = GatewayConfiguration().maxMessageLength
    if let content = fields.requiredContent("content", maxLength: limit) {
        fuzzCheck(content.count <= limit, "content of \(content.count) characters accepted")
        fuzzCheck(!content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "blank content accepted")
    }
    if let clientID = fields.optionalString("client_id", maxLength: ConversationsController.maxClientIDLength) {
        fuzzCheck(clientID.count <= ConversationsController.maxClientIDLength, "long client_id accepted")
    }
    checkErrors(fields)
}

/// The 422 a validator throws, with its body encoded as the API sends it.
func checkErrors(_ fields: FieldValidator) {
    do {
        try fields.check()
        fuzzCheck(fields.errors.isEmpty, "errors not thrown")
    } catch let error as APIError {
        _ = error.body
    } catch {
        fuzzCheck(false, "unexpected error \(error)")
    }
}

/// The program's entry point (see `runFuzzer`).
@_cdecl("FuzzHTTPBody_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzOneInput(data, size) }
}
