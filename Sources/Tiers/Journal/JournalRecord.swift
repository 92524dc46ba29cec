/// One change in the journal: a write of the tiers, or a FLUSHALL.
///
/// Every record has a sequence number, one more than the record before it, over the whole life of the data
/// directory (a restart continues after the highest number the journal or any store has seen).
enum JournalRecord: Sendable, Equatable {
    case write(StoreWrite)
    /// Everything before this record is gone (FLUSHALL).
    case flush
}
