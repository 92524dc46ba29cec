import BinaryText
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
            summary: "`hash` for an entry with custom fields, `string` for any other, `none` when absent."
        ) { call in
            let key = call.binary(1)
            let entry = try call.tier { () throws(TieredCacheError) in try call.cache.peek(key, mode: call.mode) }
            call.out.writeRESPSimpleString(entry?.redisType ?? "none")
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
            let keys = try call.tier { () throws(TieredCacheError) in
                // Disk tiers list expired entries until the sweep removes them; Redis's KEYS never shows one.
                if call.cache.hasDiskTiers { _ = try call.cache.removeExpired() }
                return try call.cache.allKeys()
            }
            // A lone "*" matches every key, the empty one too (as Redis short-cuts it).
            let matching =
                pattern == [UInt8(ascii: "*")] ? keys : keys.filter { KeyspaceCommands.key($0, matches: pattern) }
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
        CommandSpec(
            "touch",
            arity: -2,
            flags: [.readonly, .fast],
            keys: (1, -1, 1),
            group: "keyspace",
            syntax: "key [key ...]",
            summary: "How many of the keys exist, counting each as an access (a key named twice counts twice)."
        ) { call in
            var found = 0
            for index in 1..<call.count {
                let key = call.binary(index)
                if try call.tier({ () throws(TieredCacheError) in try call.cache.get(key, mode: call.mode) }) != nil {
                    found += 1
                }
            }
            call.out.writeRESPInteger(found)
        },
        CommandSpec(
            "randomkey",
            arity: 1,
            flags: [.readonly, .wholeCache, .bulk],
            group: "keyspace",
            summary: "A random live key, or nil when there is none (with disk tiers it scans the largest tier)."
        ) { call in
            if call.mode != .mayBlock, call.cache.hasDiskTiers { throw TieredCacheError.wouldBlock }
            let key = try call.tier { () throws(TieredCacheError) in try call.cache.randomKey() }
            if let key { call.out.writeRESPBulkString(key) } else { call.out.writeRESPNull() }
        },
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

    static func scan(_ call: inout CommandCall) throws {
        guard let cursor = scanCursor(call.arguments[1].readableBytesView) else {
            throw CommandError("ERR invalid cursor")
        }
        var pattern: [UInt8]?
        var count = 10
        var type: String?
        var index = 2
        while index < call.count {
            guard index + 1 < call.count else { throw CommandError.syntax }
            switch call.option(index) {
            case "MATCH": pattern = Array(call.arguments[index + 1].readableBytesView)
            case "COUNT":
                count = try call.integer(index + 1)
                guard count >= 1 else { throw CommandError.syntax }
            case "TYPE": type = call.string(index + 1).lowercased()
            default: throw CommandError.syntax
            }
            index += 2
        }
        let step = try call.tier { () throws(TieredCacheError) in
            try call.cache.scan(cursor: cursor, count: min(count, 100_000))
        }
        var keys = step.keys
        if call.cache.hasDiskTiers || type != nil {
            // Disk tiers list expired entries until the sweep removes them; Redis's SCAN never returns one.
            keys = try keys.filter { key in
                let entry = try call.tier { () throws(TieredCacheError) in
                    try call.cache.peek(key, mode: call.mode)
                }
                guard let entry else { return false }
                return type.map { $0 == entry.redisType } ?? true
            }
        }
        if let pattern, pattern != [UInt8(ascii: "*")] {
            keys = keys.filter { KeyspaceCommands.key($0, matches: pattern) }
        }
        call.out.writeRESPArrayHeader(2)
        call.out.writeRESPBulkString(String(step.next))
        call.out.writeRESPArrayHeader(keys.count)
        for key in keys { call.out.writeRESPBulkString(key) }
    }

    /// Whether the bytes `key` stands for match the glob `pattern` (an escaped byte is one byte, not its scalar).
    static func key(_ key: String, matches pattern: [UInt8]) -> Bool {
        BinaryText.withBytes(of: key) { RedisGlob.matches(pattern, $0) }
    }

    /// A SCAN cursor as Redis 7.0 reads it (`strtoul`): digits with an optional sign, a negative one wrapping
    /// around, the empty string as 0; nil for leading space, other characters or a value beyond 64 bits.
    static func scanCursor<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> UInt64? {
        var digits = bytes[...]
        var negative = false
        if let sign = digits.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            digits = digits.dropFirst()
            guard !digits.isEmpty else { return nil }
        }
        var value: UInt64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return negative ? 0 &- value : value
    }
}
