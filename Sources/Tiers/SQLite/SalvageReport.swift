/// What was kept of a damaged SQLite tier file when it was moved aside and replaced.
public struct SalvageReport: Sendable, Equatable {
    /// Where the damaged file was moved (it is left there).
    public var movedTo: String
    /// Entries read back, validated and written into the new file.
    public var salvagedEntries: Int
    /// Health-history records read back whose entry survived (L3).
    public var salvagedHistory: Int
    /// Entries that could not be read: records found but rejected (they do not parse or do not validate, e.g.
    /// a credential that does not decrypt), plus rowids missing between the ones found (rows on damaged pages;
    /// rows deleted earlier leave such gaps too, so this may overcount).
    public var lostEntries: Int
    /// Whether SQLite itself could still read part of the file (else every row came from the pages).
    public var sqlReadable: Bool

    public init(movedTo: String, salvagedEntries: Int = 0, salvagedHistory: Int = 0, lostEntries: Int = 0) {
        self.movedTo = movedTo
        self.salvagedEntries = salvagedEntries
        self.salvagedHistory = salvagedHistory
        self.lostEntries = lostEntries
        self.sqlReadable = false
    }
}

extension TierStatistics {
    /// Counts a corrupt file moved aside: `recoveredCorruptFiles` +1, `salvagedEntries` + what was kept, and
    /// `evictionsCorruption` + what was lost (at least 1 when nothing at all could be read: the loss is unknown).
    mutating func recordSalvage(_ report: SalvageReport) {
        recoveredCorruptFiles += 1
        salvagedEntries += report.salvagedEntries
        evictionsCorruption += report.lostEntries > 0 ? report.lostEntries : (report.salvagedEntries == 0 ? 1 : 0)
    }
}
