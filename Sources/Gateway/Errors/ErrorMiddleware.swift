import Hummingbird
import Logging
import NIOCore
import Store

/// The outermost middleware: turns anything thrown below it, Hummingbird's own 404 and 413 included, into
/// the contract's `{"errors": …}` body with the fitting status; unknown errors become a logged 500.
package struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The routes served, to tell 405 from 404.
    let routes: [Routes.Route]

    /// Creates the middleware for a server serving `routes`.
    package init(routes: [Routes.Route] = Routes.all) { self.routes = routes }

    package func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            throw map(error, path: request.uri.path)
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge
        } catch let error as StoreError {
            switch error {
            case .unavailable: throw APIError.unavailable("store unavailable")
            case .notFound: throw APIError.notFound("not found")
            case .uniqueViolation(let field):
                throw APIError.validation(ValidationErrors(field.rawValue, ValidationErrors.Message.taken))
            case .failed(let operation, let message):
                context.logger.error("store failure", metadata: ["store.operation": "\(operation)", "error": "\(message)"])
                throw APIError.internalError
            }
        } catch is CancellationError {
            throw APIError.unavailable("shutting down")
        } catch {
            context.logger.error("unexpected error", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            throw APIError.internalError
        }
    }

    func map(_ error: HTTPError, path: String) -> APIError {
        switch error.status {
        case .notFound:
            let methods = Routes.methods(matching: path, in: routes)
            return methods.isEmpty ? .notFound("not found") : .methodNotAllowed(allowed: methods)
        case .contentTooLarge: return .payloadTooLarge
        case .badRequest: return .badRequest(error.body ?? "bad request")
        case .unauthorized: return .unauthorized(error.body ?? "not authenticated")
        case .forbidden: return .forbidden(error.body ?? "forbidden")
        case .methodNotAllowed: return .methodNotAllowed(allowed: Routes.methods(matching: path, in: routes))
        case .tooManyRequests: return .rateLimited(retryAfter: 1)
        case .serviceUnavailable: return .unavailable(error.body ?? "unavailable")
        default: return .internalError
        }
    }
}
