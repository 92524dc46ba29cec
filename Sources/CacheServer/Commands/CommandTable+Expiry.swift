import Tiers

extension CommandTable {
    /// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, TTL, PTTL, EXPIRETIME, PEXPIRETIME and PERSIST, as Redis 7.0.
    static let expiryCommands: [CommandSpec] = [
        CommandSpec(
            "expire",
            arity: -3,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "keyspace",
            syntax: "key seconds [NX | XX | GT | LT]",
            summary: "Sets the entry's TTL; a TTL in the past removes it."
        ) { call in try ExpiryCommands.expire(&call, unit: .seconds, absolute: false) },
        CommandSpec(
            "pexpire",
            arity: -3,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "keyspace",
            syntax: "key milliseconds [NX | XX | GT | LT]",
            summary: "EXPIRE in milliseconds."
        ) { call in try ExpiryCommands.expire(&call, unit: .milliseconds, absolute: false) },
        CommandSpec(
            "expireat",
            arity: -3,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "keyspace",
            syntax: "key unix-time-seconds [NX | XX | GT | LT]",
            summary: "Sets when the entry expires, Unix seconds; a time in the past removes it."
        ) { call in try ExpiryCommands.expire(&call, unit: .seconds, absolute: true) },
        CommandSpec(
            "pexpireat",
            arity: -3,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "keyspace",
            syntax: "key unix-time-milliseconds [NX | XX | GT | LT]",
            summary: "EXPIREAT in Unix milliseconds."
        ) { call in try ExpiryCommands.expire(&call, unit: .milliseconds, absolute: true) },
        CommandSpec(
            "ttl",
            arity: 2,
            flags: [.readonly, .fast],
            keys: (1, 1, 1),
            group: "keyspace",
            syntax: "key",
            summary: "Seconds left: -2 when absent, -1 when the entry never expires."
        ) { call in try ExpiryCommands.ttl(&call, milliseconds: false, absolute: false) },
        CommandSpec(
            "pttl",
            arity: 2,
            flags: [.readonly, .fast],
            keys: (1, 1, 1),
            group: "keyspace",
            syntax: "key",
            summary: "TTL in milliseconds."
        ) { call in try ExpiryCommands.ttl(&call, milliseconds: true, absolute: false) },
        CommandSpec(
            "expiretime",
            arity: 2,
            flags: [.readonly, .fast],
            keys: (1, 1, 1),
            group: "keyspace",
            syntax: "key",
            summary: "When the entry expires, Unix seconds: -2 when absent, -1 when it never expires."
        ) { call in try ExpiryCommands.ttl(&call, milliseconds: false, absolute: true) },
        CommandSpec(
            "pexpiretime",
            arity: 2,
            flags: [.readonly, .fast],
            keys: (1, 1, 1),
            group: "keyspace",
            syntax: "key",
            summary: "EXPIRETIME in Unix milliseconds."
        ) { call in try ExpiryCommands.ttl(&call, milliseconds: true, absolute: true) },
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
    ]
}

/// The expiry commands, following Redis 7.0's `expireGenericCommand` and `ttlGenericCommand` step by step.
enum ExpiryCommands {
    enum Unit {
        case seconds
        case milliseconds
    }

    /// EXPIRE's NX, XX, GT and LT.
    struct Conditions {
        var nx = false
        var xx = false
        var gt = false
        var lt = false

        /// Parses the options from argument 3 on, with Redis's errors and in its order (before the amount).
        init(_ call: CommandCall) throws {
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
        }

        /// Whether the new expiry may replace `current` (nil: the key has none, which GT and LT take as an
        /// infinite TTL). Times compare in whole milliseconds, as Redis keeps them, so `SET k v EX 200` then
        /// `EXPIRE k 200 GT` within the same millisecond is not greater.
        func allow(_ new: Double, replacing current: Double?) -> Bool {
            if nx, current != nil { return false }
            if xx, current == nil { return false }
            let newMilliseconds = (new * 1000).rounded(.down)
            let currentMilliseconds = current.map { ($0 * 1000).rounded(.down) }
            if gt, currentMilliseconds == nil || newMilliseconds <= currentMilliseconds! { return false }
            if lt, let currentMilliseconds, newMilliseconds >= currentMilliseconds { return false }
            return true
        }
    }

    /// EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT: 1 when the expiry was set (or the key removed, for a time in the
    /// past), 0 when the key is absent or a condition failed.
    ///
    /// An amount is an error exactly when Redis's would overflow 64-bit milliseconds. Redis accepts expiry times
    /// up to the year 292 million; an entry's times stop at `CacheEntry.latestTime` (the year 5138), so a later
    /// time is stored as that one: the entry still outlives every reader.
    static func expire(_ call: inout CommandCall, unit: Unit, absolute: Bool) throws {
        let conditions = try Conditions(call)
        let name = call.string(0).lowercased()
        var when = try call.integer(2)
        if unit == .seconds {
            guard when <= Int.max / 1000, when >= Int.min / 1000 else { throw CommandError.invalidExpire(name) }
            when *= 1000
        }
        let now = call.cache.now()
        let base = absolute ? 0 : Int((now * 1000).rounded(.down))
        guard when <= Int.max - base else { throw CommandError.invalidExpire(name) }
        // The new expiry in seconds; a relative one keeps the clock's sub-millisecond part.
        let newExpiry = absolute ? Double(when) / 1000 : now + Double(when) / 1000
        let inPast = absolute ? newExpiry <= now : when <= 0
        let key = call.binary(1)
        let changed = try call.tier { () throws(TieredCacheError) in
            try call.cache.update(key, mode: call.mode) { entry -> Bool in
                guard let current = entry else { return false }
                guard conditions.allow(newExpiry, replacing: current.expiresAt) else { return false }
                if inPast {
                    entry = nil
                } else {
                    entry!.setExpiry(at: min(newExpiry, CacheEntry.latestTime), now: now)
                }
                return true
            }
        }
        call.out.writeRESPInteger(changed ? 1 : 0)
    }

    /// TTL, PTTL (time left) and EXPIRETIME, PEXPIRETIME (the Unix time): -2 when absent, -1 without expiry;
    /// seconds are rounded from milliseconds as Redis does (`(ms + 500) / 1000`).
    static func ttl(_ call: inout CommandCall, milliseconds: Bool, absolute: Bool) throws {
        let key = call.binary(1)
        let entry = try call.tier { () throws(TieredCacheError) in try call.cache.peek(key, mode: call.mode) }
        guard let entry else {
            call.out.writeRESPInteger(-2)
            return
        }
        let now = call.cache.now()
        guard let left = entry.millisecondsLeft(now: now), let expiresAt = entry.expiresAt else {
            call.out.writeRESPInteger(-1)
            return
        }
        let value = absolute ? max(0, Int((expiresAt * 1000).rounded())) : left
        call.out.writeRESPInteger(milliseconds ? value : (value + 500) / 1000)
    }
}
