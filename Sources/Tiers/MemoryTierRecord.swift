/// An entry as L1 holds it: `CacheEntry`'s fields, with the key and the proxy URL in one heap block instead of two
/// `String`s.
///
/// A Swift `String` holds up to 15 UTF-8 bytes inline; a longer one (a `key:NNNNNNNNNNNN` key, any proxy URL) is
/// a heap object of its own: a 32-byte header, the bytes and a terminator, 64 bytes of malloc for a 16-byte key or a
/// 20-byte URL. Here both sit, one after the other, in one `MemoryTierText` (a 16-byte object header and the bytes:
/// 64 bytes for that key and URL together), and the two lengths in the record. L1 hands out `CacheEntry`s made from
/// the record (`entry`), so the rest of the cache never sees this form.
///
/// A free slot's record has no text (`isFree`).
struct MemoryTierRecord {
    /// The key's bytes, then the proxy URL's; nil in a free slot.
    private var text: MemoryTierText? = nil
    private var fetchTime: Double = 0
    private var lastAccessed: Double = 0
    private var accessCount = 0
    private var ttlSeconds = 0
    private var expiry: Double = 0
    private var rare: CacheEntry.RareFields? = nil
    private var keyLength: UInt32 = 0
    private var urlLength: UInt32 = 0
    private var sourceCode: UInt16 = 0
    private var healthStatus = HealthStatus.unknown
    /// `evicted_from_l1`, and whether the record is newer than the disk tiers' copies; one byte for both keeps the
    /// node at 88 bytes.
    private var flags: Flags = []

    struct Flags: OptionSet {
        let rawValue: UInt8
        static let evictedFromL1 = Flags(rawValue: 1)
        /// The disk tiers may hold older fields or access figures than this record: it changed (a write, a hit, a
        /// promotion from disk) since it was last written through. The shutdown writes through only such records.
        static let newerThanDisk = Flags(rawValue: 2)
    }

    /// See `Flags.newerThanDisk`.
    var isNewerThanDisk: Bool { flags.contains(.newerThanDisk) }

    /// The record of a free slot.
    static var free: MemoryTierRecord { MemoryTierRecord() }

    private init() {}

    /// The record of `entry`.
    init(_ entry: CacheEntry) {
        store(entry)
    }

    /// Whether the slot is free.
    var isFree: Bool { text == nil }

    /// How often the entry was used (the lfu order reads it without making the entry).
    var uses: Int { accessCount }

    /// The entry held.
    var entry: CacheEntry {
        entry(key: text!.string(from: 0, count: Int(keyLength)))
    }

    /// The entry held, given its key (which `holds`): the key's `String` is the caller's instead of a copy made from
    /// the record's bytes, which for a key of more than 15 bytes is an allocation (a hit on such a key made one).
    func entry(key: String) -> CacheEntry {
        let keyLength = Int(keyLength)
        return CacheEntry(
            key: key,
            proxyURL: text!.string(from: keyLength, count: Int(urlLength)),
            fetchTime: fetchTime,
            lastAccessed: lastAccessed,
            accessCount: accessCount,
            ttlSeconds: ttlSeconds,
            expiry: expiry,
            rare: rare,
            sourceCode: sourceCode,
            healthStatus: healthStatus,
            evictedFromL1: flags.contains(.evictedFromL1)
        )
    }

    /// The key held (without making the rest of the entry).
    var key: String {
        text!.string(from: 0, count: Int(keyLength))
    }

    /// Whether the record holds `key`, compared by UTF-8 bytes, as the shards are chosen (`MemoryTier.shardIndex`).
    /// Keys from clients are `BinaryText` strings, for which that is `String`'s `==`: two of them are canonically
    /// equivalent only when their bytes are equal.
    func holds(_ key: String) -> Bool {
        text?.bytesEqual(key, from: 0, count: Int(keyLength)) ?? false
    }

    /// Holds `entry` from now on; the text block is kept when the key and URL bytes did not change (a hit, a change
    /// of a count or a time), and made anew otherwise.
    mutating func store(_ entry: CacheEntry) {
        if let text, !text.holds(entry.key, entry.proxyURL, keyLength: Int(keyLength), urlLength: Int(urlLength)) {
            self.text = nil
        }
        if text == nil {
            text = MemoryTierText.make(entry.key, entry.proxyURL)
            keyLength = UInt32(entry.key.utf8.count)
            urlLength = UInt32(entry.proxyURL.utf8.count)
        }
        fetchTime = entry.fetchTime
        lastAccessed = entry.lastAccessed
        accessCount = entry.accessCount
        ttlSeconds = entry.ttlSeconds
        expiry = entry.expiry
        rare = entry.rare
        sourceCode = entry.sourceCode
        healthStatus = entry.healthStatus
        flags = entry.evictedFromL1 ? [.evictedFromL1, .newerThanDisk] : .newerThanDisk
    }

    /// The disk tiers were given this record as it is (a write-through of it).
    mutating func markWrittenThrough() {
        flags.remove(.newerThanDisk)
    }

    /// Whether the entry is expired at `now`, as `CacheEntry.isExpired(at:)`.
    func isExpired(at now: Double) -> Bool {
        expiry.bitPattern != CacheEntry.neverExpiresBits && now >= expiry
    }

    /// `CacheEntry.estimatedBytes` of the entry held, without making it.
    var estimatedBytes: Int {
        CacheEntry.estimatedBytes(keyLength: Int(keyLength), urlLength: Int(urlLength), rare: rare)
    }

    /// Counts a hit at `now` in place: `access_count` + 1, `last_accessed = now`.
    mutating func recordHit(at now: Double) {
        accessCount += 1
        lastAccessed = now
        flags.insert(.newerThanDisk)
    }
}

extension CacheEntry {
    /// An entry from its stored fields (L1's records).
    init(
        key: String,
        proxyURL: String,
        fetchTime: Double,
        lastAccessed: Double,
        accessCount: Int,
        ttlSeconds: Int,
        expiry: Double,
        rare: RareFields?,
        sourceCode: UInt16,
        healthStatus: HealthStatus,
        evictedFromL1: Bool
    ) {
        self.key = key
        self.proxyURL = proxyURL
        self.fetchTime = fetchTime
        self.lastAccessed = lastAccessed
        self.accessCount = accessCount
        self.ttlSeconds = ttlSeconds
        self.expiry = expiry
        self.rare = rare
        self.sourceCode = sourceCode
        self.healthStatus = healthStatus
        self.evictedFromL1 = evictedFromL1
    }
}
