import CacheProtocol
import NIOCore
import Tiers

extension CommandTable {
    static let cacheCommands: [CommandSpec] = [
        CommandSpec(
            "put",
            arity: -3,
            flags: [.write],
            keys: (1, 1, 1),
            group: "cache",
            syntax: "key proxy_url [field value ...]",
            summary: "Stores one whole entry, written through every tier (source TTL or default unless ttl_seconds)."
        ) { call in
            guard call.count % 2 == 1 else { throw CommandError.wrongArity("put") }
            let fields = HashCommands.fields(call, from: 3, step: 2)
            let now = call.cache.now()
            let limits = HashCommands.limits(call)
            var entry = try call.newEntry(key: call.binary(1), proxyURL: call.binary(2), now: now)
            for (offset, field) in fields.enumerated() {
                let value = call.binary(4 + offset * 2)
                _ = try call.tier { () throws(TieredCacheError) in
                    try entry.set(field, to: value, now: now, limits: limits)
                }
            }
            if !fields.contains(.schema(.ttlSeconds)), !fields.contains(.schema(.expiresAt)) {
                entry.applyDefaultTTL(of: call.cache, now: now)
            }
            call.cache.put(entry)
            call.ok()
        },
        CommandSpec(
            "health",
            arity: -3,
            flags: [.write],
            keys: (1, 1, 1),
            group: "cache",
            syntax: "key ok|fail [response_ms] [error] [check_url]",
            summary: "Records a health check: the new status, `removed` at the failure threshold, nil if absent."
        ) { call in
            guard call.count <= 6 else { throw CommandError.wrongArity("health") }
            let ok: Bool
            switch call.option(2) {
            case "OK": ok = true
            case "FAIL": ok = false
            default: throw CommandError("ERR health result must be 'ok' or 'fail'")
            }
            var report = HealthReport(ok: ok)
            if call.count > 3, call.arguments[3].readableBytes > 0 {
                guard let ms = RedisNumber.parseDouble(call.arguments[3].readableBytesView), ms >= 0 else {
                    throw CommandError("ERR response_ms must be a non-negative number")
                }
                report.responseTimeMs = ms
            }
            if call.count > 4, call.arguments[4].readableBytes > 0 { report.error = call.binary(4) }
            if call.count > 5, call.arguments[5].readableBytes > 0 { report.checkURL = call.binary(5) }
            let key = call.binary(1)
            let outcome = try call.tier { () throws(TieredCacheError) in
                try call.cache.reportHealth(key, report, mode: call.mode)
            }
            switch outcome {
            case .notFound: call.out.writeRESPNull()
            case .updated(let status, _): call.out.writeRESPSimpleString(status.rawValue)
            case .removed: call.out.writeRESPSimpleString("removed")
            }
        },
        CommandSpec(
            "history",
            arity: -2,
            flags: [.readonly, .wholeCache],
            keys: (1, 1, 1),
            group: "cache",
            syntax: "key [count]",
            summary:
                "The newest health checks (default 10), newest first: [check_time, status, response_ms, error, url]."
        ) { call in
            guard call.count <= 3 else { throw CommandError.wrongArity("history") }
            let limit = call.count == 3 ? try call.integer(2) : 10
            guard limit >= 0 else { throw CommandError.notInteger }
            let key = call.binary(1)
            let records = try call.tier { () throws(TieredCacheError) in try call.cache.history(key, limit: limit) }
            call.out.writeRESPArrayHeader(records.count)
            for record in records {
                call.out.writeRESPArrayHeader(5)
                call.out.writeRESPBulkString(FieldText.time(record.checkTime))
                call.out.writeRESPBulkString(record.status.rawValue)
                call.out.writeOptionalBulk(record.responseTimeMs.map(FieldText.number))
                call.out.writeOptionalBulk(record.errorMessage)
                call.out.writeOptionalBulk(record.checkURL)
            }
        },
        CommandSpec(
            "cleanup",
            arity: 1,
            flags: [.write, .wholeCache, .bulk],
            group: "cache",
            summary: "Removes expired entries from every tier; replies how many."
        ) { call in
            let removed = try call.tier { () throws(TieredCacheError) in try call.cache.removeExpired() }
            call.out.writeRESPInteger(removed)
        },
        CommandSpec(
            "stats",
            arity: 1,
            flags: [.readonly, .wholeCache],
            group: "cache",
            summary: "Per-tier figures as name/value pairs (hits, misses, size, evictions, hit rate, ...)."
        ) { call in
            let pairs =
                CacheFigures.pairs(call.cache.statistics()) + CacheFigures.coherencePairs(call.cache.coherenceFigures)
            call.out.writeRESPMapHeader(pairs.count)
            for (name, value) in pairs {
                call.out.writeRESPBulkString(name)
                call.out.writeRESPBulkString(value)
            }
        },
        CommandSpec(
            "size",
            arity: -1,
            flags: [.readonly, .wholeCache],
            group: "cache",
            syntax: "[l1 | l2 | l3]",
            summary: "Entries in one tier, or live keys in the cache."
        ) { call in
            guard call.count <= 2 else { throw CommandError.wrongArity("size") }
            let size: Int
            if call.count == 2 {
                guard let tier = TierID(rawValue: call.string(1).lowercased()) else {
                    throw CommandError("ERR unknown tier '\(call.string(1))' (expected l1, l2 or l3)")
                }
                size = try call.tier { () throws(TieredCacheError) in try call.cache.size(of: tier) }
            } else {
                size = try call.tier { () throws(TieredCacheError) in try call.cache.count() }
            }
            call.out.writeRESPInteger(size)
        },
    ]
}

extension RESPReplyWriter {
    mutating func writeOptionalBulk(_ value: String?) {
        if let value { writeRESPBulkString(value) } else { writeRESPNull() }
    }
}

/// How numbers are shown in replies.
enum FieldText {
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    static func time(_ value: Double) -> String { number(value) }

    static func rate(_ value: Double) -> String {
        let scaled = (value * 10_000).rounded() / 10_000
        return String(scaled)
    }
}
