import Hummingbird
import Logging

/// The outermost middleware: gives each request its ``RequestID`` (echoed in the response and set on the
/// request's logger), writes one access line at info (method, path without the query, status, duration,
/// client address, request id; never the query, which may carry a token), and counts and times the request in
/// ``HTTPMetrics`` by route template and status class. Hand-written rather than Hummingbird's
/// `LogRequestsMiddleware` and `MetricsMiddleware`: those log the query and label by exact status and method.
struct RequestObservationMiddleware: RouterMiddleware {
    typealias Context = BrokerRequestContext

    let proxies: TrustedProxies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let peer = context.remoteAddress?.ipAddress
        let trusted = peer.map(proxies.trusts) ?? false
        let requestID = RequestID.resolve(forwarded: request.headers[RequestID.field], fromTrustedPeer: trusted)
        var context = context
        context.logger[metadataKey: "request_id"] = .string(requestID)
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[RequestID.field] = requestID
        let elapsed = ContinuousClock.now - started
        let route = HTTPMetrics.route(context.endpointPath)
        HTTPMetrics.observe(method: request.method, route: route, status: response.status, duration: elapsed)
        context.logger.info(
            "http request",
            metadata: [
                "method": .string(request.method.rawValue),
                "path": .string(request.uri.path),
                "status": .stringConvertible(response.status.code),
                "duration_ms": .string(Self.milliseconds(elapsed)),
                "client": .string(context.clientAddress ?? "unknown"),
            ]
        )
        return response
    }

    /// A duration in milliseconds with three decimals.
    static func milliseconds(_ duration: Duration) -> String {
        let micros = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        let fraction = String(micros % 1_000)
        return "\(micros / 1_000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
