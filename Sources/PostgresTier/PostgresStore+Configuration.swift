extension PostgresStore {
    /// Where the PostgreSQL L3 is and who this sidecar is.
    public struct Configuration: Sendable {
        /// The database (`--l3-url`), its password resolved.
        public var url: PostgresURL
        /// This sidecar's identity (`<data-dir>/sidecar-id`): the key of its journal sequence in
        /// `cachesrvd_journal`, since each host has a journal of its own.
        public var sidecarID: String
        /// Reader connections beside the writer's.
        public var readerCount: Int = 3
        /// A batch changing more keys than this announces "everything" to the other sidecars instead of its keys.
        public var notifyKeyLimit: Int = 4096
        /// Seconds between attempts to listen again after the notification connection was lost.
        public var listenRetryInterval: Double = 1
        /// Seconds a statement may run before PostgreSQL cancels it (`--l3-timeout`); a connection that gives no
        /// answer for 2 seconds more is closed, so an unreachable server fails calls instead of hanging them.
        public var timeout: Double = 5
        /// Open even when PostgreSQL cannot be reached (a degraded start, see `PostgresStore.init`); a server does,
        /// a one-off command (`import-proxywhirl`) does not.
        public var opensUnreachable = false
        /// Seconds `sharedEntries` answers a count of the shared table before it counts again (in the background).
        public var sharedSizeRefreshInterval: Double = 1

        public init(url: PostgresURL, sidecarID: String) {
            self.url = url
            self.sidecarID = sidecarID
        }
    }
}
