import CacheProtocol
import NIOCore
import Tiers

extension CommandTable {
    static let serverCommands: [CommandSpec] = [
        CommandSpec(
            "info",
            arity: -1,
            flags: [.readonly, .wholeCache],
            group: "server",
            syntax: "[section ...]",
            summary: "Server, clients, memory, persistence, stats, cache and keyspace figures."
        ) { call in
            let sections = (1..<call.count).map { call.string($0) }
            call.out.writeRESPVerbatimString(ServerInfo.report(call.server, sections: sections))
        },
        CommandSpec(
            "dbsize",
            arity: 1,
            flags: [.readonly, .wholeCache],
            group: "server",
            summary: "The number of live keys."
        ) { call in
            call.out.writeRESPInteger(try call.tier { () throws(TieredCacheError) in try call.cache.count() })
        },
        CommandSpec(
            "flushall",
            arity: -1,
            flags: [.write, .wholeCache, .bulk],
            group: "server",
            syntax: "[ASYNC | SYNC]",
            summary: "Removes every entry from every tier."
        ) { call in try flush(&call) },
        CommandSpec(
            "flushdb",
            arity: -1,
            flags: [.write, .wholeCache, .bulk],
            group: "server",
            syntax: "[ASYNC | SYNC]",
            summary: "The same as FLUSHALL (there is one database)."
        ) { call in try flush(&call) },
        CommandSpec(
            "config",
            arity: -2,
            flags: [.admin],
            group: "server",
            syntax: "GET parameter [parameter ...] | SET parameter value [parameter value ...] | RESETSTAT",
            summary: "Reads settings, changes the ones that may change while running, resets the statistics.",
            subcommands: [("get", -3), ("set", -4), ("resetstat", 2), ("help", 2)]
        ) { call in try ConfigCommand.run(&call) },
        CommandSpec(
            "command",
            arity: -1,
            flags: [.connection],
            group: "server",
            syntax: "[COUNT | LIST | INFO [name ...] | DOCS [name ...] | GETKEYS command [arg ...] | HELP]",
            summary: "Describes the commands, from the one table that drives dispatch.",
            subcommands: [("count", 2), ("list", -2), ("info", -2), ("docs", -2), ("getkeys", -4), ("help", 2)]
        ) { call in try CommandCommand.run(&call) },
    ]

    private static func flush(_ call: inout CommandCall) throws {
        guard call.count <= 2 else { throw CommandError.syntax }
        if call.count == 2, !["ASYNC", "SYNC"].contains(call.option(1)) { throw CommandError.syntax }
        // Watched keys that exist are changed by the flush (Redis's touchAllWatchedKeysInDb); absent ones are not.
        let watched = call.server.watches.allWatchedKeys
        let existing = try watched.filter { key in
            try call.tier { () throws(TieredCacheError) in try call.cache.peek(key, mode: call.mode) } != nil
        }
        _ = try call.tier { () throws(TieredCacheError) in try call.cache.removeAll() }
        // A WATCH that arrived while the tiers were flushed may have seen its key before it went: touch it too.
        let registeredMeanwhile = Set(call.server.watches.allWatchedKeys).subtracting(watched)
        call.server.watches.touch(existing + registeredMeanwhile)
        call.ok()
    }
}
