import Foundation
import Tiers

/// A `PersistentStore` kept in a dictionary behind a lock, which can be told to fail (every operation or one), to
/// block an operation (its commits by default) or to report corruption.
///
/// This is a TEST FIXTURE for fault injection, acceptable here because the real stores (SQLite L2/L3, JSONL)
/// are tested against real files by their author; these tests are about how the tiered cache reacts to a
/// tier, which needs a tier that fails, blocks or goes corrupt on demand.
///
/// `@unchecked Sendable`: every stored property below `condition` is guarded by `condition`.
final class TieredCacheTestStore: PersistentStore, @unchecked Sendable {
    let tier: TierID
    var description: String { "test-store \(tier)" }

    private let condition = NSCondition()
    private var entries: [String: CacheEntry] = [:]
    private var order: [String] = []
    private var histories: [String: [HealthCheckRecord]] = [:]
    private var failure: StoreError.Kind?
    private var failingOperations: [String: StoreError.Kind] = [:]
    private var corruptNextGet = false
    private var blockedOperations: Set<String> = []
    private var waitingIn: Set<String> = []
    /// By operation, the thread that made each call, in order.
    private var callers: [String: [pthread_t]] = [:]
    private var batches: [[StoreWrite]] = []
    private var isClosed = false
    /// Whether `readWithoutWaiting` answers at all, and whether it answers `.wouldWait` now.
    private let answersWithoutWaiting: Bool
    private var loopReadsWait = false
    /// Whether the store records the journal sequence of its commits, as the SQLite stores do.
    private let recordsJournalSequence: Bool
    private var recordedJournalSequence: UInt64 = 0

    /// - Parameter readsWithoutWaiting: whether the store answers `readWithoutWaiting` (as SQLite does), or leaves
    ///   the protocol's default (`.wouldWait`, as PostgreSQL does).
    init(_ tier: TierID, recordsJournalSequence: Bool = false, readsWithoutWaiting: Bool = false) {
        self.tier = tier
        self.recordsJournalSequence = recordsJournalSequence
        self.answersWithoutWaiting = readsWithoutWaiting
    }

    // MARK: Control

    /// Makes every operation throw an error of `kind` (nil: work again).
    func fail(with kind: StoreError.Kind?) {
        locked { failure = kind }
    }

    /// Makes one operation ("apply", "removeAll", ...) throw an error of `kind` (nil: work again).
    func fail(_ operation: String, with kind: StoreError.Kind?) {
        locked { failingOperations[operation] = kind }
    }

    /// Makes `readWithoutWaiting` answer `.wouldWait` (its connections for event loops in use), or answer again.
    func makeLoopReadsWait(_ waits: Bool) {
        locked { loopReadsWait = waits }
    }

    /// Makes the next `get` throw `.corrupt`.
    func corruptNextRead() {
        locked { corruptNextGet = true }
    }

    /// Makes `operation` ("apply" by default) wait until `unblock(_:)`.
    func block(_ operation: String = "apply") {
        locked { _ = blockedOperations.insert(operation) }
    }

    func unblock(_ operation: String = "apply") {
        condition.lock()
        blockedOperations.remove(operation)
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until a writer is parked in a blocked `apply`.
    func waitUntilApplyIsBlocked() {
        waitUntilBlocked(in: "apply")
    }

    /// Waits until a caller is parked in the blocked `operation`.
    func waitUntilBlocked(in operation: String) {
        condition.lock()
        while !waitingIn.contains(operation) { condition.wait() }
        condition.unlock()
    }

    /// Stores an entry directly, as if an earlier run had written it.
    func seed(_ entry: CacheEntry) {
        locked { store(entry) }
    }

    func stored(_ key: String) -> CacheEntry? {
        locked { entries[key] }
    }

    var keys: Set<String> { locked { Set(entries.keys) } }

    func calls(_ name: String) -> Int {
        locked { callers[name, default: []].count }
    }

    /// The calls of `name` made by the calling thread (not by a tier's writer thread, say).
    func callsFromThisThread(_ name: String) -> Int {
        let thread = pthread_self()
        return locked { callers[name, default: []].filter { pthread_equal($0, thread) != 0 }.count }
    }

    var appliedBatches: [[StoreWrite]] { locked { batches } }

    var closed: Bool { locked { isClosed } }

    /// The journal sequence the last commit that recorded one recorded (`recordsJournalSequence`).
    var journalSequence: UInt64 { locked { recordedJournalSequence } }

    // MARK: PersistentStore

    func get(_ key: String) throws(StoreError) -> CacheEntry? {
        try operation("get") { () throws(StoreError) -> CacheEntry? in
            if corruptNextGet {
                corruptNextGet = false
                throw StoreError(.corrupt, "file is not a database")
            }
            return entries[key]
        }
    }

    var readsWithoutWaiting: Bool { answersWithoutWaiting }

    /// Counted as "readWithoutWaiting"; a failure set for every operation or for "get" reads as `.wouldWait`, as a
    /// store's failure does.
    func readWithoutWaiting(_ key: String) -> ImmediateRead {
        locked {
            callers["readWithoutWaiting", default: []].append(pthread_self())
            guard answersWithoutWaiting, !loopReadsWait, failure == nil, failingOperations["get"] == nil else {
                return .wouldWait
            }
            return .answered(entries[key])
        }
    }

    func apply(_ writes: [StoreWrite]) throws(StoreError) {
        condition.lock()
        defer { condition.unlock() }
        callers["apply", default: []].append(pthread_self())
        waitWhileBlocked("apply")
        try check("apply")
        batches.append(writes)
        for write in writes {
            switch write {
            case .put(let entry):
                store(entry)
            case .delete(let key):
                entries[key] = nil
                order.removeAll { $0 == key }
                histories[key] = nil
            case .appendHealth(let key, let record, let keep):
                guard entries[key] != nil else { continue }
                histories[key, default: []].insert(record, at: 0)
                histories[key] = Array(histories[key]!.prefix(keep))
            }
        }
    }

    func apply(_ writes: [StoreWrite], journalThrough: UInt64?) throws(StoreError) {
        try apply(writes)
        if recordsJournalSequence, let journalThrough {
            locked { recordedJournalSequence = journalThrough }
        }
    }

    func appliedJournalSequence() throws(StoreError) -> UInt64? {
        recordsJournalSequence ? try operation("appliedJournalSequence") { recordedJournalSequence } : nil
    }

    func count() throws(StoreError) -> Int {
        try operation("count") { entries.count }
    }

    func scanKeys(cursor: UInt64, limit: Int) throws(StoreError) -> (next: UInt64, keys: [String]) {
        try operation("scanKeys") {
            let sorted = entries.keys.sorted()
            let start = min(Int(cursor), sorted.count)
            let end = min(start + limit, sorted.count)
            return (end == sorted.count ? 0 : UInt64(end), Array(sorted[start..<end]))
        }
    }

    func removeExpired(now: Double) throws(StoreError) -> [String] {
        try operation("removeExpired") {
            let expired = entries.values.filter { ($0.expiresAt ?? .infinity) <= now }.map(\.key)
            for key in expired { drop(key) }
            return expired
        }
    }

    func removeAll() throws(StoreError) -> Int {
        try operation("removeAll") {
            let count = entries.count
            entries.removeAll()
            order.removeAll()
            histories.removeAll()
            return count
        }
    }

    func evict(toAtMost maxEntries: Int, policy: EvictionPolicy) throws(StoreError) -> [String] {
        try operation("evict") {
            guard entries.count > maxEntries else { return [] }
            let ranked: [String]
            switch policy {
            case .fifo: ranked = order
            case .lru: ranked = entries.values.sorted { $0.lastAccessed < $1.lastAccessed }.map(\.key)
            case .lfu:
                ranked = entries.values.sorted { ($0.accessCount, $0.lastAccessed) < ($1.accessCount, $1.lastAccessed) }
                    .map(\.key)
            }
            let victims = Array(ranked.prefix(entries.count - maxEntries))
            for key in victims { drop(key) }
            return victims
        }
    }

    func sync() throws(StoreError) {
        try operation("sync") {}
    }

    func history(_ key: String, limit: Int) throws(StoreError) -> [HealthCheckRecord] {
        try operation("history") { Array(histories[key, default: []].prefix(limit)) }
    }

    func recoverFromCorruption() throws(StoreError) -> String {
        try operation("recoverFromCorruption") {
            entries.removeAll()
            order.removeAll()
            histories.removeAll()
            return "/tmp/\(tier).corrupt-1"
        }
    }

    func close() {
        locked { isClosed = true }
    }

    // MARK: Internals

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body()
    }

    private func operation<T>(_ name: String, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        condition.lock()
        defer { condition.unlock() }
        callers[name, default: []].append(pthread_self())
        waitWhileBlocked(name)
        try check(name)
        return try body()
    }

    /// Parks the caller (the lock released) while `name` is blocked. Call with the lock held.
    private func waitWhileBlocked(_ name: String) {
        while blockedOperations.contains(name) {
            waitingIn.insert(name)
            condition.broadcast()
            condition.wait()
        }
        waitingIn.remove(name)
    }

    private func check(_ name: String) throws(StoreError) {
        if isClosed { throw StoreError(.closed, "closed") }
        if let failure = failure ?? failingOperations[name] { throw StoreError(failure, "injected \(failure)") }
    }

    private func store(_ entry: CacheEntry) {
        if entries[entry.key] == nil { order.append(entry.key) }
        entries[entry.key] = entry
    }

    private func drop(_ key: String) {
        entries[key] = nil
        order.removeAll { $0 == key }
        histories[key] = nil
    }
}
