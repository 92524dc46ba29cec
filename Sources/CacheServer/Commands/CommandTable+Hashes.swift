import CacheProtocol
import NIOCore
import Tiers

extension CommandTable {
    static let hashCommands: [CommandSpec] = [
        CommandSpec(
            "hset",
            arity: -4,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "hash",
            syntax: "key field value [field value ...]",
            summary: "Sets entry fields (a new entry needs proxy_url); replies how many fields were unset before."
        ) { call in
            let added = try HashCommands.set(&call, name: "hset")
            call.out.writeRESPInteger(added)
        },
        CommandSpec(
            "hmset",
            arity: -4,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "hash",
            syntax: "key field value [field value ...]",
            summary: "HSET replying OK."
        ) { call in
            _ = try HashCommands.set(&call, name: "hmset")
            call.ok()
        },
        CommandSpec(
            "hget",
            arity: 3,
            flags: [.readonly, .fast],
            keys: (1, 1, 1),
            group: "hash",
            syntax: "key field",
            summary: "One field of the entry (nil when absent or unset). Counts as a cache hit."
        ) { call in
            let field = CacheEntry.Field(name: call.arguments[2].readableBytesView)
            let entry = try HashCommands.get(call)
            if let field, let value = entry?.value(of: field) {
                call.out.writeRESPBulkString(value)
            } else {
                call.out.writeRESPNull()
            }
        },
        CommandSpec(
            "hmget",
            arity: -3,
            flags: [.readonly, .fast],
            keys: (1, 1, 1),
            group: "hash",
            syntax: "key field [field ...]",
            summary: "Several fields of the entry."
        ) { call in
            let entry = try HashCommands.get(call)
            call.out.writeRESPArrayHeader(call.count - 2)
            for index in 2..<call.count {
                if let field = CacheEntry.Field(name: call.arguments[index].readableBytesView),
                    let value = entry?.value(of: field)
                {
                    call.out.writeRESPBulkString(value)
                } else {
                    call.out.writeRESPNull()
                }
            }
        },
        CommandSpec(
            "hgetall",
            arity: 2,
            flags: [.readonly],
            keys: (1, 1, 1),
            group: "hash",
            syntax: "key",
            summary: "Every set field of the entry, as field/value pairs. Counts as a cache hit."
        ) { call in
            let fields = try HashCommands.get(call)?.fieldValues ?? []
            call.out.writeRESPMapHeader(fields.count)
            for (field, value) in fields {
                call.out.writeRESPBulkString(field.rawValue)
                call.out.writeRESPBulkString(value)
            }
        },
        CommandSpec(
            "hkeys",
            arity: 2,
            flags: [.readonly],
            keys: (1, 1, 1),
            group: "hash",
            syntax: "key",
            summary: "The names of the entry's set fields."
        ) { call in
            let fields = try HashCommands.get(call)?.fieldValues ?? []
            call.out.writeRESPArrayHeader(fields.count)
            for (field, _) in fields { call.out.writeRESPBulkString(field.rawValue) }
        },
        CommandSpec(
            "hvals",
            arity: 2,
            flags: [.readonly],
            keys: (1, 1, 1),
            group: "hash",
            syntax: "key",
            summary: "The values of the entry's set fields."
        ) { call in
            let fields = try HashCommands.get(call)?.fieldValues ?? []
            call.out.writeRESPArrayHeader(fields.count)
            for (_, value) in fields { call.out.writeRESPBulkString(value) }
        },
        CommandSpec(
            "hlen",
            arity: 2,
            flags: [.readonly, .fast],
            keys: (1, 1, 1),
            group: "hash",
            syntax: "key",
            summary: "How many fields of the entry are set (0 when absent)."
        ) { call in
            let key = call.binary(1)
            let entry = try call.tier { () throws(TieredCacheError) in try call.cache.peek(key, mode: call.mode) }
            call.out.writeRESPInteger(entry?.fieldValues.count ?? 0)
        },
        CommandSpec(
            "hexists",
            arity: 3,
            flags: [.readonly, .fast],
            keys: (1, 1, 1),
            group: "hash",
            syntax: "key field",
            summary: "1 if the entry exists and the field is set."
        ) { call in
            let key = call.binary(1)
            let field = CacheEntry.Field(name: call.arguments[2].readableBytesView)
            let entry = try call.tier { () throws(TieredCacheError) in try call.cache.peek(key, mode: call.mode) }
            let isSet = field.flatMap { entry?.value(of: $0) } != nil
            call.out.writeRESPInteger(isSet ? 1 : 0)
        },
        CommandSpec(
            "hdel",
            arity: -3,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "hash",
            syntax: "key field [field ...]",
            summary: "Unsets optional fields (credentials, last_health_error, ...); replies how many were set."
        ) { call in
            let fields = try HashCommands.fields(call, from: 2, step: 1)
            let key = call.binary(1)
            let removed = try call.tier { () throws(TieredCacheError) in
                try call.cache.update(key, mode: call.mode) { entry throws(TieredCacheError) -> Int in
                    guard var changed = entry else { return 0 }
                    var removed = 0
                    for field in fields {
                        if try changed.unset(field) { removed += 1 }
                    }
                    entry = changed
                    return removed
                }
            }
            call.out.writeRESPInteger(removed)
        },
    ]
}

enum HashCommands {
    /// Reads the entry of argument 1 as a cache hit.
    static func get(_ call: CommandCall) throws -> CacheEntry? {
        let key = call.binary(1)
        return try call.tier { () throws(TieredCacheError) in try call.cache.get(key, mode: call.mode) }
    }

    /// The field names at `from`, `from + step`, ...; an unknown name is an error.
    static func fields(_ call: CommandCall, from: Int, step: Int) throws -> [CacheEntry.Field] {
        try stride(from: from, to: call.count, by: step).map { index in
            guard let field = CacheEntry.Field(name: call.arguments[index].readableBytesView) else {
                throw CommandError("ERR unknown field '\(call.string(index))'")
            }
            return field
        }
    }

    /// HSET/HMSET: sets the pairs from argument 2 on; returns how many fields were unset before.
    static func set(_ call: inout CommandCall, name: String) throws -> Int {
        guard call.count % 2 == 0 else { throw CommandError.wrongArity(name) }
        let fields = try fields(call, from: 2, step: 2)
        let values = stride(from: 3, to: call.count, by: 2).map { call.binary($0) }
        let pairs = Array(zip(fields, values))
        let key = call.binary(1)
        let now = call.cache.now()
        let cache = call.cache
        return try call.tier { () throws(TieredCacheError) in
            try cache.update(key, mode: call.mode) { entry throws(TieredCacheError) -> Int in
                var changed: CacheEntry
                if let entry {
                    changed = entry
                } else {
                    guard let url = pairs.last(where: { $0.0 == .proxyURL })?.1 else {
                        throw .invalid("a new entry needs a proxy_url field")
                    }
                    changed = CacheEntry(key: key, proxyURL: url, now: now, ttlSeconds: nil)
                }
                var added = Set<CacheEntry.Field>()
                for (field, value) in pairs {
                    if entry == nil || entry?.value(of: field) == nil { added.insert(field) }
                    try changed.set(field, to: value, now: now)
                }
                entry = changed
                return added.count
            }
        }
    }
}
