extension Dictionary where Key == String, Value == Int {
    /// The most distinct reasons kept in one count table: names chosen by the server (error reasons, event
    /// names) cannot grow a table past it.
    static var maxReasons: Int { 32 }

    /// Counts one occurrence of `reason`; past ``maxReasons`` distinct reasons, new ones count as `other`.
    mutating func count(_ reason: String, by amount: Int = 1) {
        if self[reason] != nil || count < Self.maxReasons {
            self[reason, default: 0] += amount
        } else {
            self["other", default: 0] += amount
        }
    }
}
