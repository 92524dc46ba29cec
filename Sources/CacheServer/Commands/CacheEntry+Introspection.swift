import BinaryText
import Tiers

/// How Redis 7.0 would hold a string value (`tryObjectEncoding`), for OBJECT ENCODING and REFCOUNT.
struct RedisEncoding: Equatable {
    /// "int", "embstr" or "raw".
    let name: String
    /// An integer from 0 to 9999: Redis answers with one of its shared integer objects (refcount INT_MAX) when
    /// maxmemory is 0, as it is here.
    let isSharedInteger: Bool

    /// The longest string Redis embeds in its object header (`OBJ_ENCODING_EMBSTR_SIZE_LIMIT`).
    static let embeddedLimit = 44
    /// Redis's shared integers are 0 to `sharedIntegers - 1` (`OBJ_SHARED_INTEGERS`).
    static let sharedIntegers = 10_000

    init(value bytes: [UInt8]) {
        if bytes.count <= 20, let number = RedisNumber.parseInteger(bytes) {
            name = "int"
            isSharedInteger = number >= 0 && number < Self.sharedIntegers
        } else {
            name = bytes.count <= Self.embeddedLimit ? "embstr" : "raw"
            isSharedInteger = false
        }
    }
}

extension CacheEntry {
    /// The Redis type the entry shows (TYPE, SCAN TYPE, redis-cli --bigkeys): `hash` when it has custom fields
    /// (a Redis hash, or a proxy with attributes of its own), else `string` (its value is `proxy_url`; the schema
    /// fields are the cache's record of it, readable with the hash commands either way).
    var redisType: String {
        customFields.isEmpty ? "string" : "hash"
    }

    /// The fields the hash commands list (HGETALL, HKEYS, HVALS, HLEN, HRANDFIELD): a proxy (an entry with a
    /// `proxy_url`) shows its whole record, the schema fields the cache keeps in canonical order and then its
    /// custom fields; a plain Redis hash (made by HSET, no `proxy_url`) shows only the fields a client set, as
    /// Redis would. Either kind still answers HGET of a schema field by name.
    var hashView: [(name: String, value: String)] {
        proxyURL.isEmpty ? customFields.map { ($0.name, $0.value) } : allFieldValues
    }

    /// A hash whose last custom field was removed and that holds no string value: Redis would have no key left.
    var isEmptyHash: Bool {
        customFields.isEmpty && proxyURL.isEmpty
    }

    /// The encoding Redis would give the entry's string value.
    var redisEncoding: RedisEncoding {
        RedisEncoding(value: BinaryText.bytes(of: proxyURL))
    }

    /// Whole seconds since the entry was last read or written (OBJECT IDLETIME).
    func idleSeconds(now: Double) -> Int {
        max(0, Int((now - lastAccessed).rounded(.down)))
    }

    /// Redis's logarithmic access counter (OBJECT FREQ) as it would stand after `accessCount` reads, with
    /// Redis's defaults (lfu-log-factor 10, lfu-decay-time 1 minute): a new value starts at 5; going from
    /// `5 + n` to `5 + n + 1` takes `10n + 1` reads on average, so `n` is the largest with `5n² - 4n` reads
    /// or fewer; then it loses one per whole minute idle, and stays within 0...255.
    func logarithmicFrequency(now: Double) -> Int {
        let initial = 5
        let reads = accessCount
        var steps = 0
        while initial + steps < 255, 5 * (steps + 1) * (steps + 1) - 4 * (steps + 1) <= reads { steps += 1 }
        let idleMinutes = idleSeconds(now: now) / 60
        return max(0, initial + steps - idleMinutes)
    }
}
