import Tiers

/// What the hash commands share: reading the entry, naming fields, and changing an entry that may not exist yet.
enum HashCommands {
    /// Reads the entry of argument 1 as a cache hit.
    static func get(_ call: CommandCall) throws -> CacheEntry? {
        let key = call.binary(1)
        return try call.tier { () throws(TieredCacheError) in try call.cache.get(key, mode: call.mode) }
    }

    /// Reads the entry of argument 1 without counting a hit.
    static func peek(_ call: CommandCall) throws -> CacheEntry? {
        let key = call.binary(1)
        return try call.tier { () throws(TieredCacheError) in try call.cache.peek(key, mode: call.mode) }
    }

    /// Argument `index` as a field name: a schema field (ignoring ASCII case) or a custom field.
    static func field(_ call: CommandCall, _ index: Int) -> CacheEntry.FieldName {
        CacheEntry.FieldName(call.binary(index))
    }

    /// The field names at `from`, `from + step`, ...
    static func fields(_ call: CommandCall, from: Int, step: Int) -> [CacheEntry.FieldName] {
        stride(from: from, to: call.count, by: step).map { field(call, $0) }
    }

    /// The bounds on custom fields (`--max-custom-fields`, `--max-custom-field-size`).
    static func limits(_ call: CommandCall) -> CustomFieldLimits {
        call.cache.configuration.customFieldLimits
    }

    /// Changes the entry of argument 1, making it first when it does not exist, as Redis makes a hash.
    ///
    /// A new entry's string value (`proxy_url`) is empty until a field sets it, and it never expires unless `body`
    /// gives it an expiry (`ttl_seconds`, `expires_at`), as a Redis hash. When `body` throws, nothing is changed or
    /// made.
    ///
    /// - Parameter body: Changes the entry; its second argument says whether the entry is new.
    static func change<R>(
        _ call: CommandCall,
        _ body: (inout CacheEntry, _ isNew: Bool) throws(TieredCacheError) -> R
    ) throws -> R {
        let key = call.binary(1)
        let cache = call.cache
        let now = cache.now()
        return try call.tier { () throws(TieredCacheError) in
            try cache.update(key, mode: call.mode) { entry throws(TieredCacheError) -> R in
                var changed = entry ?? CacheEntry(key: key, proxyURL: "", now: now, ttlSeconds: nil)
                let result = try body(&changed, entry == nil)
                entry = changed
                return result
            }
        }
    }

    /// HSET/HMSET: sets the pairs from argument 2 on; returns how many fields were unset before (every distinct
    /// field of a new entry). Over a bound or with a bad value, throws and changes nothing.
    static func set(_ call: CommandCall, name: String) throws -> Int {
        guard call.count % 2 == 0 else { throw CommandError.wrongArity(name) }
        let pairs = stride(from: 2, to: call.count, by: 2).map { (field(call, $0), call.binary($0 + 1)) }
        let now = call.cache.now()
        let limits = limits(call)
        return try change(call) { entry, isNew throws(TieredCacheError) -> Int in
            var added = 0
            var named = Set<[UInt8]>()
            for (field, value) in pairs {
                let wasUnset = try entry.set(field, to: value, now: now, limits: limits)
                if isNew ? named.insert(Array(field.text.utf8)).inserted : wasUnset {
                    added += 1
                }
            }
            return added
        }
    }
}
