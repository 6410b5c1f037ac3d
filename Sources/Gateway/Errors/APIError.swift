import Foundation
import Hummingbird

/// Every error the HTTP API answers with, rendered in the contract's shape: `{"errors": {"detail": "..."}}`,
/// or `{"errors": {"<field>": ["..."]}}` for validation.
package enum APIError: Error, Sendable, HTTPResponseError {
    /// 400: malformed JSON, wrong shape or a bad query parameter.
    case badRequest(String)
    /// 401: missing, malformed, expired or revoked token, or failed login.
    case unauthorized(String)
    /// 403: authenticated but not allowed.
    case forbidden(String)
    /// 404: unknown resource or route.
    case notFound(String)
    /// 405: the path exists with other methods.
    case methodNotAllowed(allowed: [String])
    /// 413: body over the limit.
    case payloadTooLarge
    /// 422: validation failed.
    case validation(ValidationErrors)
    /// 429: rate limited; retry after the given seconds.
    case rateLimited(retryAfter: Int)
    /// 503: draining or store unavailable.
    case unavailable(String)
    /// 500: something unexpected; details are logged, not sent.
    case internalError

    public var status: HTTPResponse.Status {
        switch self {
        case .badRequest: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .payloadTooLarge: .contentTooLarge
        case .validation: .unprocessableContent
        case .rateLimited: .tooManyRequests
        case .unavailable: .serviceUnavailable
        case .internalError: .internalServerError
        }
    }

    /// The human text of non-validation errors.
    var detail: String {
        switch self {
        case .badRequest(let text), .unauthorized(let text), .forbidden(let text), .notFound(let text),
            .unavailable(let text):
            text
        case .methodNotAllowed: "method not allowed"
        case .payloadTooLarge: "request body too large"
        case .validation: "validation failed"
        case .rateLimited: "too many requests"
        case .internalError: "internal server error"
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status, headers: headerFields, body: .init(byteBuffer: body))
    }

    /// The response's headers: the content type, and `retry-after` or `allow` where they apply.
    var headerFields: HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        switch self {
        case .rateLimited(let seconds): headers[.retryAfter] = String(seconds)
        case .methodNotAllowed(let allowed): headers[.allow] = allowed.joined(separator: ", ")
        default: break
        }
        return headers
    }

    /// The response's body in the contract's shape.
    var body: ByteBuffer {
        let body: [String: Any]
        if case .validation(let errors) = self {
            body = ["errors": errors.fields]
        } else {
            body = ["errors": ["detail": detail]]
        }
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        return ByteBuffer(bytes: data)
    }
}
