/// A set of message sequence numbers, one bit each, growing as sequences are issued (dense from 0).
///
/// Its size is bounded by the sends of the run: callers insert only sequences below the number issued.
struct SequenceBitSet: Sendable {
    /// The bits, 64 sequences a word.
    private var words: [UInt64] = []

    /// Whether `sequence` is in the set.
    func contains(_ sequence: UInt64) -> Bool {
        let word = Int(sequence >> 6)
        guard word < words.count else { return false }
        return words[word] & (1 << (sequence & 63)) != 0
    }

    /// Adds `sequence`; returns `false` when it was already in the set.
    @discardableResult
    mutating func insert(_ sequence: UInt64) -> Bool {
        let word = Int(sequence >> 6)
        if word >= words.count {
            words.append(contentsOf: repeatElement(0, count: word - words.count + 1))
        }
        let bit: UInt64 = 1 << (sequence & 63)
        guard words[word] & bit == 0 else { return false }
        words[word] |= bit
        return true
    }

    /// How many sequences in `range` are in `self` but not in `other` (the acked messages never received).
    func count(notIn other: SequenceBitSet, in range: Range<UInt64>) -> Int {
        var count = 0
        var sequence = range.lowerBound
        while sequence < range.upperBound {
            if contains(sequence), !other.contains(sequence) { count += 1 }
            sequence += 1
        }
        return count
    }
}
