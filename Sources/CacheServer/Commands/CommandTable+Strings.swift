import CacheProtocol
import NIOCore
import Tiers

extension CommandTable {
    static let stringCommands: [CommandSpec] = [
        CommandSpec(
            "set",
            arity: -3,
            flags: [.write],
            keys: (1, 1, 1),
            group: "string",
            syntax:
                "key proxy_url [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time | PXAT unix-ms | KEEPTTL]",
            summary:
                "Replaces the entry with a new one for this proxy URL; it keeps no expiry unless one is given, as in Redis."
        ) { call in try SetCommand.run(&call) },
        CommandSpec(
            "get",
            arity: 2,
            flags: [.readonly, .fast],
            keys: (1, 1, 1),
            group: "string",
            syntax: "key",
            summary: "The entry's proxy_url, or nil. Counts as a cache hit."
        ) { call in
            let key = call.binary(1)
            let entry = try call.tier { () throws(TieredCacheError) in try call.cache.get(key, mode: call.mode) }
            if let entry { call.out.writeRESPBulkString(entry.proxyURL) } else { call.out.writeRESPNull() }
        },
        CommandSpec(
            "getdel",
            arity: 2,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "string",
            syntax: "key",
            summary: "The entry's proxy_url, removing the entry from every tier."
        ) { call in
            let key = call.binary(1)
            let removed = try call.tier { () throws(TieredCacheError) in
                try call.cache.update(key, mode: call.mode) { entry -> CacheEntry? in
                    defer { entry = nil }
                    return entry
                }
            }
            if let removed { call.out.writeRESPBulkString(removed.proxyURL) } else { call.out.writeRESPNull() }
        },
        CommandSpec(
            "mset",
            arity: -3,
            flags: [.write],
            keys: (1, -1, 2),
            group: "string",
            syntax: "key proxy_url [key proxy_url ...]",
            summary: "SET of several entries."
        ) { call in
            guard call.count % 2 == 1 else { throw CommandError.wrongArity("mset") }
            let now = call.cache.now()
            var entries: [CacheEntry] = []
            entries.reserveCapacity((call.count - 1) / 2)
            for index in stride(from: 1, to: call.count, by: 2) {
                entries.append(try call.newEntry(key: call.binary(index), proxyURL: call.binary(index + 1), now: now))
            }
            for entry in entries { call.cache.put(entry) }
            call.ok()
        },
        CommandSpec(
            "mget",
            arity: -2,
            flags: [.readonly, .fast],
            keys: (1, -1, 1),
            group: "string",
            syntax: "key [key ...]",
            summary: "GET of several keys."
        ) { call in
            var urls: [String?] = []
            for index in 1..<call.count {
                let key = call.binary(index)
                urls.append(
                    try call.tier { () throws(TieredCacheError) in try call.cache.get(key, mode: call.mode) }?.proxyURL
                )
            }
            call.out.writeRESPArrayHeader(urls.count)
            for url in urls {
                if let url { call.out.writeRESPBulkString(url) } else { call.out.writeRESPNull() }
            }
        },
    ]
}

/// SET with Redis 7's options.
enum SetCommand {
    private struct Options {
        var nx = false
        var xx = false
        var get = false
        var expiry: Expiry?
    }

    private enum Outcome {
        case notSet(previous: String?)
        case set(previous: String?)
    }

    static func run(_ call: inout CommandCall) throws {
        let options = try parse(call)
        let key = call.binary(1)
        let now = call.cache.now()
        var fresh = try call.newEntry(key: key, proxyURL: call.binary(2), now: now)
        if let expiry = options.expiry, expiry != .keep {
            fresh.setExpiry(at: expiry.expiresAt(now: now), now: now)
        }
        if !options.nx, !options.xx, !options.get, options.expiry != .keep, !fresh.isExpired(at: now) {
            call.cache.put(fresh)
            call.ok()
            return
        }
        let entry = fresh
        let outcome = try call.tier { () throws(TieredCacheError) in
            try call.cache.update(key, mode: call.mode) { current -> Outcome in
                let previous = current?.proxyURL
                if options.nx, current != nil { return .notSet(previous: previous) }
                if options.xx, current == nil { return .notSet(previous: previous) }
                var replacement = entry
                if options.expiry == .keep, let current {
                    replacement.setExpiry(at: current.expiresAt, now: now)
                }
                current = replacement.isExpired(at: now) ? nil : replacement
                return .set(previous: previous)
            }
        }
        switch outcome {
        case .notSet(let previous), .set(let previous):
            if options.get {
                if let previous { call.out.writeRESPBulkString(previous) } else { call.out.writeRESPNull() }
            } else if case .set = outcome {
                call.ok()
            } else {
                call.out.writeRESPNull()
            }
        }
    }

    private static func parse(_ call: CommandCall) throws -> Options {
        var options = Options()
        var index = 3
        while index < call.count {
            let option = call.option(index)
            let hasNext = index + 1 < call.count
            switch option {
            case "NX" where !options.xx: options.nx = true
            case "XX" where !options.nx: options.xx = true
            case "GET": options.get = true
            case "KEEPTTL" where options.expiry == nil: options.expiry = .keep
            case "EX" where options.expiry == nil && hasNext:
                index += 1
                options.expiry = .relative(
                    milliseconds: try call.expiryAmount(index, unitMilliseconds: 1000, command: "set")
                )
            case "PX" where options.expiry == nil && hasNext:
                index += 1
                options.expiry = .relative(
                    milliseconds: try call.expiryAmount(index, unitMilliseconds: 1, command: "set")
                )
            case "EXAT" where options.expiry == nil && hasNext:
                index += 1
                options.expiry = .absolute(
                    milliseconds: try call.expiryAmount(index, unitMilliseconds: 1000, command: "set")
                )
            case "PXAT" where options.expiry == nil && hasNext:
                index += 1
                options.expiry = .absolute(
                    milliseconds: try call.expiryAmount(index, unitMilliseconds: 1, command: "set")
                )
            default:
                throw CommandError.syntax
            }
            index += 1
        }
        return options
    }
}
