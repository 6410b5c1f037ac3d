import HTTPTypes
import Metrics

/// HTTP requests counted (`broker_http_requests_total`) and timed (`broker_http_request_duration_seconds`) by
/// method, route template and status class; every label from a bounded set.
package enum HTTPMetrics {
    /// The methods a label may take; anything else is `other`.
    static let methods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    /// The route label of requests no route matched.
    static let unmatched = "unmatched"

    /// The route label for Hummingbird's endpoint path (`nil` or `NotFound` when no route matched).
    static func route(_ endpointPath: String?) -> String {
        guard let endpointPath, endpointPath != "NotFound" else { return unmatched }
        return endpointPath
    }

    static func observe(method: HTTPRequest.Method, route: String, status: HTTPResponse.Status, duration: Duration) {
        let dimensions = labels(method: method.rawValue, route: route, status: status.code)
        Counter(label: "broker_http_requests_total", dimensions: dimensions).increment()
        Metrics.Timer(label: "broker_http_request_duration_seconds", dimensions: dimensions).record(duration: duration)
    }

    private static func labels(method: String, route: String, status: Int) -> [(String, String)] {
        labels(method: method, route: route, statusClass: (1...5).contains(status / 100) ? "\(status / 100)xx" : "5xx")
    }

    /// The one place the labels are spelled, for the observed series and the ones made at start-up alike.
    private static func labels(method: String, route: String, statusClass: String) -> [(String, String)] {
        [("method", methods.contains(method) ? method : "other"), ("route", route), ("status", statusClass)]
    }

    /// Makes the series of every route (`routes`: method and template) and of unmatched requests, at zero, for
    /// the classes every route can answer (2xx, 4xx, 5xx), so that scrapers see them before the first request.
    package static func register(routes: [(method: String, path: String)]) {
        let all = routes + [(method: "GET", path: unmatched)]
        for route in all {
            for statusClass in ["2xx", "4xx", "5xx"] {
                let dimensions = labels(method: route.method, route: route.path, statusClass: statusClass)
                _ = Counter(label: "broker_http_requests_total", dimensions: dimensions)
                _ = Metrics.Timer(label: "broker_http_request_duration_seconds", dimensions: dimensions)
            }
        }
    }
}
