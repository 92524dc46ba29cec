/// What a shutdown could not persist, per disk tier: the writes the server held only in memory when it stopped.
///
/// Under `--fsync everysec` and `no` a write is acknowledged before a disk tier commits it; when the disk is
/// full, read-only or corrupt the commit fails and the write lives on only in memory (and is replayed if the
/// tier recovers). When the server stops, such writes are gone: this report says how many, by tier.
public struct ShutdownReport: Sendable, Equatable {
    /// What one disk tier lost.
    public struct TierLoss: Sendable, Equatable {
        /// The tier.
        public var tier: TierID
        /// Keys whose last write (a put or a delete) is not on the tier's disk.
        public var keys: Int
        /// More keys were lost than the tier could list (`keys` is then a lower bound).
        public var overflowed: Bool
        /// Health-check records (HEALTH) the tier did not store.
        public var historyRecords: Int
        /// Keys whose only loss is the access figures (hits counted in memory) written at shutdown.
        public var accessFiguresOnly: Int

        /// Whether any write that changed data (not just access figures) is missing.
        public var lostData: Bool { keys > 0 || overflowed || historyRecords > 0 }

        /// "L3: 110 keys' last writes and 2 health-check records not persisted", for the log.
        public var summary: String {
            var parts: [String] = []
            if keys > 0 || overflowed {
                parts.append("\(overflowed ? "at least " : "")\(keys) key\(keys == 1 ? "" : "s")' last writes")
            }
            if historyRecords > 0 {
                parts.append("\(historyRecords) health-check record\(historyRecords == 1 ? "" : "s")")
            }
            if parts.isEmpty {
                return "\(tier.rawValue): access figures of \(accessFiguresOnly) keys not persisted"
            }
            return "\(tier.rawValue): " + parts.joined(separator: " and ") + " not persisted"
        }
    }

    /// The tiers that lost something; empty when everything was committed.
    public var losses: [TierLoss]

    /// Creates a report.
    public init(losses: [TierLoss] = []) {
        self.losses = losses
    }

    /// Whether acknowledged writes that changed data were lost (the server then exits non-zero).
    public var lostData: Bool { losses.contains { $0.lostData } }
}
