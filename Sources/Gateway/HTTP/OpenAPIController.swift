import Hummingbird
import NIOCore

/// `GET /api/openapi.json`: the HTTP API's OpenAPI 3.1 document (``OpenAPIDocument``), public.
struct OpenAPIController {
    private static let body = ByteBuffer(string: OpenAPIDocument.json)

    func addRoutes(to router: Router<BrokerRequestContext>) {
        router.get("api/openapi.json") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: Self.body))
        }
    }
}
