import Tiers

/// SET with Redis 7.0's options, and the commands Redis builds on it: SETNX, SETEX, PSETEX and GETSET.
///
/// A set replaces the whole entry with a new one (Redis's `setKey`): the new value, no expiry unless one is given
/// or KEEPTTL keeps the old one.
enum SetCommand {
    /// What to reply when the value was set, or not set because of NX or XX (ignored with GET, which replies the
    /// old value either way).
    enum Reply {
        case ok
        case null
        case integer(Int)
    }

    private enum Outcome {
        case notSet(previous: String?)
        case set(previous: String?)
    }

    /// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time | PXAT unix-ms | KEEPTTL]`.
    static func run(_ call: inout CommandCall) throws {
        let options = try StringOptions.parse(call, from: 3, for: .set)
        let expiry = try options.expiry(call, command: "set")
        try set(&call, key: call.binary(1), value: call.binary(2), options: options, expiry: expiry)
    }

    /// Sets `key` to `value` as `setGenericCommand` does.
    ///
    /// - Parameters:
    ///   - options: NX, XX and GET.
    ///   - expiry: The expiry, already checked; `.keep` keeps the current one.
    ///   - setReply: The reply when the value was set (without GET).
    ///   - abortReply: The reply when NX or XX prevented it (without GET).
    static func set(
        _ call: inout CommandCall,
        key: String,
        value: String,
        options: StringOptions,
        expiry: Expiry?,
        setReply: Reply = .ok,
        abortReply: Reply = .null
    ) throws {
        let now = call.cache.now()
        var fresh = try call.newEntry(key: key, proxyURL: value, now: now)
        if let expiry, expiry != .keep {
            fresh.setExpiry(at: expiry.expiresAt(now: now), now: now)
        }
        if !options.nx, !options.xx, !options.get, expiry != .keep, !fresh.isExpired(at: now) {
            call.cache.put(fresh)
            write(setReply, to: &call)
            return
        }
        let entry = fresh
        let outcome = try call.tier { () throws(TieredCacheError) in
            try call.cache.update(key, mode: call.mode) { current -> Outcome in
                let previous = current?.proxyURL
                if options.nx, current != nil { return .notSet(previous: previous) }
                if options.xx, current == nil { return .notSet(previous: previous) }
                var replacement = entry
                if expiry == .keep, let current {
                    replacement.setExpiry(at: current.expiresAt, now: now)
                }
                // An expiry already past stores nothing (Redis sets the key, then expires it on the next access).
                current = replacement.isExpired(at: now) ? nil : replacement
                return .set(previous: previous)
            }
        }
        switch outcome {
        case .notSet(let previous), .set(let previous):
            if options.get {
                if let previous { call.out.writeRESPBulkString(previous) } else { call.out.writeRESPNull() }
            } else if case .set = outcome {
                write(setReply, to: &call)
            } else {
                write(abortReply, to: &call)
            }
        }
    }

    private static func write(_ reply: Reply, to call: inout CommandCall) {
        switch reply {
        case .ok: call.ok()
        case .null: call.out.writeRESPNull()
        case .integer(let value): call.out.writeRESPInteger(value)
        }
    }
}
