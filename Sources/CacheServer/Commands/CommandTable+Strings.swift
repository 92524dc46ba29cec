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
                "Replaces the entry with a new one for this proxy URL, kept until deleted unless an expiry is given."
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
            flags: [.write, .blindWrite],
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
