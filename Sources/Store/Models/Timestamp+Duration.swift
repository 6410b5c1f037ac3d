/// Arithmetic between timestamps and durations, for schedules kept in the store (the outbox's next attempts).
extension Timestamp {
    /// The timestamp `duration` later (earlier when negative), to the microsecond (rounded down).
    package func advanced(by duration: Duration) -> Timestamp {
        let (seconds, attoseconds) = duration.components
        return Timestamp(microseconds: microseconds + seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
    }

    /// The time from this timestamp to `later` (negative when `later` is earlier).
    package func duration(to later: Timestamp) -> Duration {
        .microseconds(later.microseconds - microseconds)
    }
}
