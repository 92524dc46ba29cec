// What one entry costs L1: the estimate `--l1-max-memory` bounds and MEMORY USAGE reports.

extension CacheEntry {
    /// The bytes every entry costs L1 whatever it holds: its slot in the shard's node array (the record's inline
    /// fields, the eviction links, the frequency bucket and the stamp), its byte of `l2MayHoldCopy` and its share
    /// of the key index (8-byte buckets at a load factor of 3/8 to 3/4: 16 bytes on average).
    ///
    /// Measured against the process's resident memory with 1,000,000 entries of 16-byte keys and 3-byte values
    /// set by `redis-cli --pipe` (`--tiers l1`): the estimate summed over the entries came within a few percent of
    /// the growth of resident memory (see docs/design.md, "The tiered cache").
    public static var fixedL1Bytes: Int { MemoryLayout<MemoryTierStorage.Node>.stride + 1 + 16 }

    /// An estimate of the bytes the entry takes in L1: `fixedL1Bytes`, the block that holds the key and the proxy
    /// URL (`MemoryTierText`), and the box of its rarely set fields when it has one (with their strings and custom
    /// fields; a source name held in the shared table costs nothing).
    ///
    /// Cheap (a few loads per string, a loop over custom fields) and independent of the numeric fields' values, so
    /// a hit, which changes only counts and times, never changes it.
    public var estimatedBytes: Int {
        Self.estimatedBytes(keyLength: key.utf8.count, urlLength: proxyURL.utf8.count, rare: rare)
    }

    /// `estimatedBytes` of an entry whose key and URL have these UTF-8 lengths and whose rare fields are `rare`.
    static func estimatedBytes(keyLength: Int, urlLength: Int, rare: RareFields?) -> Int {
        var bytes = fixedL1Bytes + mallocBytes(MemoryTierText.headerBytes + keyLength + urlLength)
        if let rare {
            bytes += rare.estimatedBytes
        }
        return bytes
    }

    /// The heap a native Swift string takes: none up to 15 UTF-8 bytes (held inline in the `String`), else a
    /// 32-byte object header and the bytes with their terminator, in glibc malloc's 16-byte chunks with its 8-byte
    /// chunk header.
    @inline(__always)
    static func heapBytes(of text: String) -> Int {
        let count = text.utf8.count
        guard count > 15 else { return 0 }
        return mallocBytes(32 + count + 1)
    }

    /// The chunk glibc malloc takes for a request of `size` bytes: the request and an 8-byte header, rounded up
    /// to 16, at least 32.
    @inline(__always)
    static func mallocBytes(_ size: Int) -> Int {
        max(32, (size + 8 + 15) / 16 * 16)
    }
}

extension CacheEntry.RareFields {
    /// The box (object header and fields), its strings, and the custom fields' array and strings.
    var estimatedBytes: Int {
        var bytes = CacheEntry.mallocBytes(16 + MemoryLayout<Values>.size)
        if let username = values.username { bytes += CacheEntry.heapBytes(of: username) }
        if let password = values.password { bytes += CacheEntry.heapBytes(of: password) }
        if let error = values.lastHealthError { bytes += CacheEntry.heapBytes(of: error) }
        if let source = values.source { bytes += CacheEntry.heapBytes(of: source) }
        let fields = values.customFields
        if !fields.isEmpty {
            bytes += CacheEntry.mallocBytes(32 + fields.capacity * MemoryLayout<CustomField>.stride)
            for field in fields {
                bytes += CacheEntry.heapBytes(of: field.name) + CacheEntry.heapBytes(of: field.value)
            }
        }
        return bytes
    }
}
