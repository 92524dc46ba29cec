/// A change to one shard, its credentials already encrypted.
enum JSONLShardWrite {
    case put(JSONLRecord)
    case delete(String)
}

extension JSONLShard {
    /// Applies a batch's writes for this shard with one file change: appended lines when the
    /// batch only puts, one rewrite when it deletes a present key (or compaction is due).
    /// Call with `lock` held.
    func apply(_ writes: [JSONLShardWrite], policy: FsyncPolicy) throws(StoreError) {
        try withFileLock { () throws(StoreError) in
            try refreshIfChanged()
            // The last write of each key decides its state.
            var final = [String: JSONLRecord?]()
            var order = [String]()
            for write in writes {
                switch write {
                case .put(let record):
                    if final.updateValue(record, forKey: record.key) == nil { order.append(record.key) }
                case .delete(let key):
                    if final.updateValue(nil, forKey: key) == nil { order.append(key) }
                }
            }
            let deletesPresent = final.contains { key, record in record == nil && slots[key] != nil }
            var lines = [UInt8]()
            var encoded = [String: [UInt8]]()
            var added = 0
            var newKeys = 0
            for key in order {
                guard let record = final[key] ?? nil else { continue }
                let line = JSONLEntryCodec.encode(record)
                lines.append(contentsOf: line)
                encoded[key] = line
                added += 1
                if slots[key] == nil { newKeys += 1 }
            }
            guard added > 0 || deletesPresent else { return }
            // Rewrite instead of appending when the batch deletes, or when appending would leave
            // dead lines outnumbering live ones: either way one change of the file per batch.
            let live = slots.count + newKeys
            if deletesPresent || lineCount + added - live > Self.deadLineAllowance(live: live) {
                let saved = slots
                for key in order {
                    if let record = final[key] ?? nil {
                        insert(record, line: encoded[key]!)
                    } else {
                        slots[key] = nil
                    }
                }
                do throws(StoreError) {
                    try rewrite(policy: policy)
                } catch {
                    slots = saved
                    throw error
                }
                return
            }
            try append(lines, lineCount: added, policy: policy)
            for key in order {
                if let record = final[key] ?? nil { insert(record, line: encoded[key]!) }
            }
        }
    }

    /// How many dead (superseded or corrupt) lines a shard of `live` entries may hold before it is rewritten.
    static func deadLineAllowance(live: Int) -> Int {
        max(live, 32)
    }

    /// Removes `keys` (those present) with one rewrite; returns the keys removed. Call with `lock` held.
    func remove(_ keys: [String], policy: FsyncPolicy) throws(StoreError) -> [String] {
        try withFileLock { () throws(StoreError) in
            try refreshIfChanged()
            let saved = slots
            var removed = [String]()
            for key in keys where slots.removeValue(forKey: key) != nil {
                removed.append(key)
            }
            guard !removed.isEmpty else { return [] }
            do throws(StoreError) {
                try rewrite(policy: policy)
            } catch {
                slots = saved
                throw error
            }
            return removed
        }
    }
}
