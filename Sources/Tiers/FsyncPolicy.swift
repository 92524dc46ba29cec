/// When the disk tiers force their writes to stable storage; the meaning of Redis's `appendfsync`.
public enum FsyncPolicy: String, Sendable, CaseIterable {
    /// A write is acknowledged only after its transaction is committed and synced. Writes of all
    /// connections that arrive together are committed together (group commit).
    case always
    /// Writes are committed in batches and synced about once a second: a crash of the machine can
    /// lose about the last second of acknowledged writes; a crash of the process alone loses none
    /// that were committed.
    case everysec
    /// Writes are committed in batches; flushing to disk is left to the OS.
    case no
}
