import BinaryText
import CacheProtocol
import NIOCore
import Tiers

extension CommandTable {
    /// The hash commands: an entry's fields are its schema fields (validated) and its custom fields (opaque).
    static let hashCommands: [CommandSpec] =
        hashWriteCommands + hashReadCommands + hashNumberCommands + [hrandfield]

    private static let hashWriteCommands: [CommandSpec] = [
        CommandSpec(
            "hset",
            arity: -4,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "hash",
            syntax: "key field value [field value ...]",
            summary:
                "Sets schema fields (validated) and custom fields (kept as given); a new key becomes an entry with an "
                + "empty proxy_url. Replies how many fields were unset before."
        ) { call in
            let added = try HashCommands.set(call, name: "hset")
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
            _ = try HashCommands.set(call, name: "hmset")
            call.ok()
        },
        CommandSpec(
            "hsetnx",
            arity: 4,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "hash",
            syntax: "key field value",
            summary: "Sets the field only if it is unset: 1 if it was set now, 0 if it already had a value."
        ) { call in
            let field = HashCommands.field(call, 2)
            let value = call.binary(3)
            let now = call.cache.now()
            let limits = HashCommands.limits(call)
            let set = try HashCommands.change(call) { entry, isNew throws(TieredCacheError) -> Bool in
                guard isNew || entry.value(of: field) == nil else { return false }
                try entry.set(field, to: value, now: now, limits: limits)
                return true
            }
            call.out.writeRESPInteger(set ? 1 : 0)
        },
        CommandSpec(
            "hdel",
            arity: -3,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "hash",
            syntax: "key field [field ...]",
            summary:
                "Removes custom fields and unsets optional schema fields (credentials, last_health_error, ...); "
                + "replies how many were set. A hash left empty (no custom field, empty proxy_url) is removed."
        ) { call in
            let fields = HashCommands.fields(call, from: 2, step: 1)
            let key = call.binary(1)
            let removed = try call.tier { () throws(TieredCacheError) in
                try call.cache.update(key, mode: call.mode) { entry throws(TieredCacheError) -> Int in
                    guard var changed = entry else { return 0 }
                    var removed = 0
                    for field in fields {
                        if try changed.unset(field) { removed += 1 }
                    }
                    // As Redis removes a hash whose last field is deleted.
                    entry = changed.isEmptyHash ? nil : changed
                    return removed
                }
            }
            call.out.writeRESPInteger(removed)
        },
    ]

    private static let hashReadCommands: [CommandSpec] = [
        CommandSpec(
            "hget",
            arity: 3,
            flags: [.readonly, .fast],
            keys: (1, 1, 1),
            group: "hash",
            syntax: "key field",
            summary: "One field of the entry (nil when absent or unset). Counts as a cache hit."
        ) { call in
            let field = HashCommands.field(call, 2)
            if let value = try HashCommands.get(call)?.value(of: field) {
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
            for field in HashCommands.fields(call, from: 2, step: 1) {
                if let value = entry?.value(of: field) {
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
            summary:
                "Every set field as field/value pairs: schema fields in canonical order, then custom fields in "
                + "insertion order. Counts as a cache hit."
        ) { call in
            let fields = try HashCommands.get(call)?.hashView ?? []
            call.out.writeRESPMapHeader(fields.count)
            for (name, value) in fields {
                call.out.writeRESPBulkString(name)
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
            summary: "The names of the entry's set fields, in HGETALL's order."
        ) { call in
            let fields = try HashCommands.get(call)?.hashView ?? []
            call.out.writeRESPArrayHeader(fields.count)
            for (name, _) in fields { call.out.writeRESPBulkString(name) }
        },
        CommandSpec(
            "hvals",
            arity: 2,
            flags: [.readonly],
            keys: (1, 1, 1),
            group: "hash",
            syntax: "key",
            summary: "The values of the entry's set fields, in HGETALL's order."
        ) { call in
            let fields = try HashCommands.get(call)?.hashView ?? []
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
            summary: "How many fields of the entry are set, schema and custom (0 when absent)."
        ) { call in
            call.out.writeRESPInteger(try HashCommands.peek(call)?.hashView.count ?? 0)
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
            let field = HashCommands.field(call, 2)
            let isSet = try HashCommands.peek(call)?.value(of: field) != nil
            call.out.writeRESPInteger(isSet ? 1 : 0)
        },
        CommandSpec(
            "hstrlen",
            arity: 3,
            flags: [.readonly, .fast],
            keys: (1, 1, 1),
            group: "hash",
            syntax: "key field",
            summary: "The length in bytes of the field's value (0 when absent or unset)."
        ) { call in
            let field = HashCommands.field(call, 2)
            let value = try HashCommands.peek(call)?.value(of: field)
            call.out.writeRESPInteger(value.map(BinaryText.byteCount(of:)) ?? 0)
        },
    ]
}
