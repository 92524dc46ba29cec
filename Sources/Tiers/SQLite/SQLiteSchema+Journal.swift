extension SQLiteSchema {
    /// One row: the journal sequence through which this file holds every journaled write. Written in the same
    /// transaction as the writes, so after a crash the start-up replays exactly what the file lacks.
    static let journalTableSQL =
        "CREATE TABLE IF NOT EXISTS cachesrvd_journal (id INTEGER PRIMARY KEY CHECK (id = 1), applied INTEGER NOT NULL)"
    static let journalSequenceQuery = "SELECT applied FROM cachesrvd_journal WHERE id = 1"
    static let journalSequenceUpdate =
        "INSERT INTO cachesrvd_journal (id, applied) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET applied = excluded.applied"
}
