import Histogram

/// A histogram in the compact form workers send their parent: its non-empty buckets as `[value, count]` pairs
/// (value: the bucket's highest equivalent value, µs) and the exact maximum.
struct LatencyBuckets: Codable, Sendable {
    /// Non-empty buckets.
    var buckets: [[UInt64]] = []
    /// The largest value recorded, exact.
    var max: UInt64 = 0

    /// No values.
    init() {}

    /// The buckets of `histogram`.
    init(_ histogram: Histogram<UInt64>, max: UInt64) {
        for bucket in histogram.recordedValues() where bucket.count > 0 {
            buckets.append([bucket.value, bucket.count])
        }
        self.max = max
    }

    /// Adds another worker's buckets.
    mutating func merge(_ other: LatencyBuckets) {
        buckets.append(contentsOf: other.buckets)
        max = Swift.max(max, other.max)
    }

    /// The percentiles of every value in these buckets.
    var summary: LatencySummary {
        var histogram = LatencyBuckets.makeHistogram()
        for bucket in buckets where bucket.count == 2 {
            histogram.record(Swift.min(bucket[0], LatencyBuckets.highestTrackable), count: bucket[1])
        }
        return LatencySummary(histogram, max: max)
    }

    /// The largest latency tracked, µs (an hour; larger values are recorded as this).
    static let highestTrackable: UInt64 = 3_600_000_000

    /// An empty latency histogram: 1 µs to an hour, three significant digits.
    static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(
            lowestDiscernibleValue: 1,
            highestTrackableValue: highestTrackable,
            numberOfSignificantValueDigits: .three
        )
    }
}
