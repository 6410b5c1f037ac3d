import Histogram

/// Percentiles of a latency distribution, microseconds.
struct LatencySummary: Codable, Sendable {
    /// Values recorded.
    var count: UInt64
    /// Median.
    var p50: UInt64
    /// 90th percentile.
    var p90: UInt64
    /// 99th percentile.
    var p99: UInt64
    /// 99.9th percentile.
    var p999: UInt64
    /// Largest value (exact).
    var max: UInt64
    /// Mean.
    var mean: Double

    /// The summary of `histogram`; `max` is the exact maximum kept beside it (percentiles, which the histogram
    /// gives as their bucket's highest equivalent value, are capped at it).
    init(_ histogram: Histogram<UInt64>, max: UInt64) {
        count = histogram.totalCount
        let empty = count == 0
        func percentile(_ level: Double) -> UInt64 {
            empty ? 0 : Swift.min(histogram.valueAtPercentile(level), max)
        }
        p50 = percentile(50)
        p90 = percentile(90)
        p99 = percentile(99)
        p999 = percentile(99.9)
        self.max = max
        mean = empty ? 0 : (histogram.mean * 10).rounded() / 10
    }
}
