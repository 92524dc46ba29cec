import CacheProtocol
import NIOCore
import Tiers

extension CommandTable {
    static let keyspaceCommands: [CommandSpec] = [
        CommandSpec(
            "del",
            arity: -2,
            flags: [.write],
            keys: (1, -1, 1),
            group: "keyspace",
            syntax: "key [key ...]",
            summary: "Removes entries from every tier; replies how many existed."
        ) { call in try KeyspaceCommands.delete(&call) },
        CommandSpec(
            "unlink",
            arity: -2,
            flags: [.write, .fast],
            keys: (1, -1, 1),
            group: "keyspace",
            syntax: "key [key ...]",
            summary: "The same as DEL."
        ) { call in try KeyspaceCommands.delete(&call) },
        CommandSpec(
            "exists",
            arity: -2,
            flags: [.readonly, .fast],
            keys: (1, -1, 1),
            group: "keyspace",
            syntax: "key [key ...]",
            summary: "How many of the keys exist (a key named twice counts twice). Not a cache hit."
        ) { call in
            var found = 0
            for index in 1..<call.count {
                let key = call.binary(index)
                if try call.tier({ () throws(TieredCacheError) in try call.cache.peek(key, mode: call.mode) }) != nil {
                    found += 1
                }
            }
            call.out.writeRESPInteger(found)
        },
        CommandSpec(
            "type",
            arity: 2,
            flags: [.readonly, .fast],
            keys: (1, 1, 1),
            group: "keyspace",
            syntax: "key",
            summary: "`hash` for an entry (its fields), `none` when absent."
        ) { call in
            let key = call.binary(1)
            let entry = try call.tier { () throws(TieredCacheError) in try call.cache.peek(key, mode: call.mode) }
            call.out.writeRESPSimpleString(entry == nil ? "none" : "hash")
        },
        CommandSpec(
            "expire",
            arity: -3,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "keyspace",
            syntax: "key seconds [NX | XX | GT | LT]",
            summary: "Sets the entry's TTL; a TTL in the past removes it."
        ) { call in try KeyspaceCommands.expire(&call, unitMilliseconds: 1000, name: "expire") },
        CommandSpec(
            "pexpire",
            arity: -3,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "keyspace",
            syntax: "key milliseconds [NX | XX | GT | LT]",
            summary: "EXPIRE in milliseconds."
        ) { call in try KeyspaceCommands.expire(&call, unitMilliseconds: 1, name: "pexpire") },
        CommandSpec(
            "ttl",
            arity: 2,
            flags: [.readonly, .fast],
            keys: (1, 1, 1),
            group: "keyspace",
            syntax: "key",
            summary: "Seconds left: -2 when absent, -1 when the entry never expires."
        ) { call in try KeyspaceCommands.ttl(&call, milliseconds: false) },
        CommandSpec(
            "pttl",
            arity: 2,
            flags: [.readonly, .fast],
            keys: (1, 1, 1),
            group: "keyspace",
            syntax: "key",
            summary: "TTL in milliseconds."
        ) { call in try KeyspaceCommands.ttl(&call, milliseconds: true) },
        CommandSpec(
            "persist",
            arity: 2,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "keyspace",
            syntax: "key",
            summary: "Removes the entry's expiry; 1 if it had one."
        ) { call in
            let key = call.binary(1)
            let changed = try call.tier { () throws(TieredCacheError) in
                try call.cache.update(key, mode: call.mode) { entry -> Bool in
                    guard entry?.expiresAt != nil else { return false }
                    entry!.expiresAt = nil
                    entry!.ttlSeconds = 0
                    return true
                }
            }
            call.out.writeRESPInteger(changed ? 1 : 0)
        },
        CommandSpec(
            "keys",
            arity: 2,
            flags: [.readonly, .wholeCache, .bulk],
            group: "keyspace",
            syntax: "pattern",
            summary: "Every key matching the glob pattern (prefer SCAN on big caches)."
        ) { call in
            let pattern = Array(call.arguments[1].readableBytesView)
            let keys = try call.tier { () throws(TieredCacheError) in try call.cache.allKeys() }
            // A lone "*" matches every key, the empty one too (as Redis short-cuts it).
            let matching = pattern == [UInt8(ascii: "*")] ? keys : keys.filter { RedisGlob.matches(pattern, $0.utf8) }
            call.out.writeRESPArrayHeader(matching.count)
            for key in matching { call.out.writeRESPBulkString(key) }
        },
        CommandSpec(
            "scan",
            arity: -2,
            flags: [.readonly, .wholeCache, .bulk],
            group: "keyspace",
            syntax: "cursor [MATCH pattern] [COUNT count] [TYPE type]",
            summary: "Iterates the keys; a key present for the whole iteration is returned at least once."
        ) { call in try KeyspaceCommands.scan(&call) },
    ]
}

enum KeyspaceCommands {
    static func delete(_ call: inout CommandCall) throws {
        var removed = 0
        for index in 1..<call.count {
            let key = call.binary(index)
            if try call.tier({ () throws(TieredCacheError) in try call.cache.delete(key, mode: call.mode) }) {
                removed += 1
            }
        }
        call.out.writeRESPInteger(removed)
    }

    static func expire(_ call: inout CommandCall, unitMilliseconds: Int, name: String) throws {
        let amount = try call.integer(2)
        var nx = false
        var xx = false
        var gt = false
        var lt = false
        for index in 3..<max(3, call.count) {
            switch call.option(index) {
            case "NX": nx = true
            case "XX": xx = true
            case "GT": gt = true
            case "LT": lt = true
            default: throw CommandError("ERR Unsupported option \(call.string(index))")
            }
        }
        if nx, xx || gt || lt {
            throw CommandError("ERR NX and XX, GT or LT options at the same time are not compatible")
        }
        if gt, lt { throw CommandError("ERR GT and LT options at the same time are not compatible") }
        let (ms, overflow) = amount.multipliedReportingOverflow(by: unitMilliseconds)
        // As Redis: an amount that overflows in milliseconds is an error; one in the past removes the entry.
        guard !overflow, Double(ms) / 1000 <= CacheEntry.latestTime - call.cache.now() else {
            throw CommandError.invalidExpire(name)
        }
        let key = call.binary(1)
        let now = call.cache.now()
        let newExpiry = now + Double(ms) / 1000
        let changed = try call.tier { () throws(TieredCacheError) in
            try call.cache.update(key, mode: call.mode) { entry -> Bool in
                guard let current = entry else { return false }
                let currentExpiry = current.expiresAt
                if nx, currentExpiry != nil { return false }
                if xx, currentExpiry == nil { return false }
                if gt, currentExpiry == nil || newExpiry <= currentExpiry! { return false }
                if lt, let currentExpiry, newExpiry >= currentExpiry { return false }
                if ms <= 0 {
                    entry = nil
                } else {
                    entry!.setExpiry(at: newExpiry, now: now)
                }
                return true
            }
        }
        call.out.writeRESPInteger(changed ? 1 : 0)
    }

    static func ttl(_ call: inout CommandCall, milliseconds: Bool) throws {
        let key = call.binary(1)
        let entry = try call.tier { () throws(TieredCacheError) in try call.cache.peek(key, mode: call.mode) }
        guard let entry else {
            call.out.writeRESPInteger(-2)
            return
        }
        guard let left = entry.millisecondsLeft(now: call.cache.now()) else {
            call.out.writeRESPInteger(-1)
            return
        }
        call.out.writeRESPInteger(milliseconds ? left : (left + 500) / 1000)
    }

    static func scan(_ call: inout CommandCall) throws {
        guard let cursor = UInt64(call.string(1)) else { throw CommandError("ERR invalid cursor") }
        var pattern: [UInt8]?
        var count = 10
        var typeMatches = true
        var index = 2
        while index < call.count {
            guard index + 1 < call.count else { throw CommandError.syntax }
            switch call.option(index) {
            case "MATCH": pattern = Array(call.arguments[index + 1].readableBytesView)
            case "COUNT":
                count = try call.integer(index + 1)
                guard count >= 1 else { throw CommandError.syntax }
            case "TYPE": typeMatches = call.string(index + 1).lowercased() == "hash"
            default: throw CommandError.syntax
            }
            index += 2
        }
        let step = try call.tier { () throws(TieredCacheError) in
            try call.cache.scan(cursor: cursor, count: min(count, 100_000))
        }
        var keys = typeMatches ? step.keys : []
        if let pattern, pattern != [UInt8(ascii: "*")] { keys = keys.filter { RedisGlob.matches(pattern, $0.utf8) } }
        call.out.writeRESPArrayHeader(2)
        call.out.writeRESPBulkString(String(step.next))
        call.out.writeRESPArrayHeader(keys.count)
        for key in keys { call.out.writeRESPBulkString(key) }
    }
}
