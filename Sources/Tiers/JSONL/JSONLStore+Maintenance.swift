import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension JSONLStore {
    public func removeExpired(now: Double) throws(StoreError) -> [String] {
        var removed = [String]()
        for number in shards.indices {
            removed += try withShard(number) { shard throws(StoreError) in
                let expired = shard.slots.values.filter { $0.record.entry.isExpired(at: now) }.map(\.record.key)
                return expired.isEmpty ? [] : try shard.remove(expired, policy: fsync)
            }
        }
        return removed
    }

    public func removeAll() throws(StoreError) -> Int {
        var total = 0
        for number in shards.indices {
            total += try withShard(number) { shard throws(StoreError) in
                try shard.remove(Array(shard.slots.keys), policy: fsync).count
            }
        }
        return total
    }

    public func evict(toAtMost maxEntries: Int, policy: EvictionPolicy) throws(StoreError) -> [String] {
        typealias Candidate = (shard: Int, key: String, entry: CacheEntry, sequence: UInt64)
        var candidates = [Candidate]()
        for number in shards.indices {
            candidates += try withShard(number) { shard throws(StoreError) in
                shard.slots.values.map { (number, $0.record.key, $0.record.entry, $0.sequence) }
            }
        }
        let excess = candidates.count - max(0, maxEntries)
        guard excess > 0 else { return [] }
        let ordered = candidates.sorted { lhs, rhs in
            switch policy {
            case .lru:
                return (lhs.entry.lastAccessed, lhs.key) < (rhs.entry.lastAccessed, rhs.key)
            case .lfu:
                return (lhs.entry.accessCount, lhs.entry.lastAccessed, lhs.key)
                    < (rhs.entry.accessCount, rhs.entry.lastAccessed, rhs.key)
            case .fifo:
                return (lhs.entry.fetchTime, lhs.sequence, lhs.key) < (rhs.entry.fetchTime, rhs.sequence, rhs.key)
            }
        }
        var victims = [[String]](repeating: [], count: Self.shardCount)
        for candidate in ordered.prefix(excess) {
            victims[candidate.shard].append(candidate.key)
        }
        var evicted = [String]()
        for (number, keys) in victims.enumerated() where !keys.isEmpty {
            evicted += try withShard(number) { shard throws(StoreError) in try shard.remove(keys, policy: fsync) }
        }
        return evicted
    }

    /// Flushes every shard file written since the last sync (and the directory when files were
    /// created or renamed).
    public func sync() throws(StoreError) {
        for number in shards.indices {
            try withShard(number) { shard throws(StoreError) in
                if shard.fileNeedsSync || shard.directoryNeedsSync {
                    try shard.syncNow()
                }
            }
        }
    }

    /// Moves every shard file into `<directory>/shards.corrupt-<UTC timestamp>/` and starts empty.
    ///
    /// - Returns: the directory the shards were moved to.
    public func recoverFromCorruption() throws(StoreError) -> String {
        for shard in shards { shard.lock.lock() }
        defer { for shard in shards.reversed() { shard.lock.unlock() } }
        guard !shards[0].isClosed else { throw StoreError(.closed, "JSONL store is closed") }
        let base = directory + "/shards.corrupt-" + JSONLFileSystem.utcTimestamp()
        var target = base
        var attempt = 1
        while access(target, F_OK) == 0 {
            target = "\(base).\(attempt)"
            attempt += 1
        }
        guard mkdir(target, 0o700) == 0 else { throw JSONLFileSystem.error("create directory \(target)") }
        for shard in shards {
            try shard.withFileLock { () throws(StoreError) in
                let name = String(shard.path.split(separator: "/").last!)
                if rename(shard.path, target + "/" + name) != 0 && errno != ENOENT {
                    throw JSONLFileSystem.error("move \(shard.path) aside")
                }
                shard.reset()
            }
        }
        try JSONLFileSystem.syncDirectory(directory)
        logger.info("JSONL shards moved aside", metadata: ["cache.tier": "l2", "jsonl.moved_to": "\(target)"])
        return target
    }

    /// Re-encrypts every credential not already under `newCipher`'s current key, rewriting each
    /// shard that changed, and then uses `newCipher`. Tokens neither cipher can decrypt are left
    /// as they are (and logged by count).
    ///
    /// - Returns: the number of entries whose credentials were re-encrypted.
    public func reencryptAll(with newCipher: CredentialCipher) throws(StoreError) -> Int {
        let oldCipher = cipher
        // While shards are converted one by one, reads must accept both the old and the new keys.
        let bridge = CredentialCipher(
            current: newCipher.current,
            previous: newCipher.previous + [oldCipher.current] + oldCipher.previous
        )
        cipherBox.withLockedValue { $0 = bridge }
        var converted = 0
        var unreadable = 0
        for number in shards.indices {
            try withShard(number) { shard throws(StoreError) in
                try shard.withFileLock { () throws(StoreError) in
                    try shard.refreshIfChanged()
                    var changed = false
                    for (key, slot) in shard.slots {
                        var record = slot.record
                        guard let username = rekey(record.usernameToken, bridge, newCipher, &unreadable),
                            let password = rekey(record.passwordToken, bridge, newCipher, &unreadable),
                            let url = rekey(record.proxyURLToken, bridge, newCipher, &unreadable)
                        else { continue }
                        guard
                            username != record.usernameToken || password != record.passwordToken
                                || url != record.proxyURLToken
                        else { continue }
                        record.usernameToken = username
                        record.passwordToken = password
                        record.proxyURLToken = url
                        shard.slots[key]?.record = record
                        shard.slots[key]?.line = JSONLEntryCodec.encode(record)
                        changed = true
                        converted += 1
                    }
                    if changed {
                        try shard.rewrite(policy: fsync)
                    }
                }
            }
        }
        cipherBox.withLockedValue { $0 = newCipher }
        if unreadable > 0 {
            logger.info(
                "JSONL credentials left under an unknown key",
                metadata: ["cache.tier": "l2", "jsonl.unreadable_tokens": "\(unreadable)"]
            )
        }
        return converted
    }

    public func close() {
        for shard in shards {
            shard.lock.withLock { shard.close() }
        }
    }
}

/// `token` re-encrypted under `newCipher`'s current key: `.some(nil)` for no token, the same
/// token when already current, `nil` when it cannot be decrypted.
private func rekey(
    _ token: String?,
    _ bridge: CredentialCipher,
    _ newCipher: CredentialCipher,
    _ unreadable: inout Int
) -> String?? {
    guard let token else { return .some(nil) }
    if newCipher.isCurrent(token) { return .some(token) }
    guard let plaintext = try? bridge.decrypt(token) else {
        unreadable += 1
        return nil
    }
    return .some(newCipher.encrypt(plaintext))
}
