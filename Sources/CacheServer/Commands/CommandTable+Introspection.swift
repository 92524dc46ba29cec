import Tiers

extension CommandTable {
    /// OBJECT, MEMORY, TIME and LASTSAVE, as Redis 7.0 answers them.
    static let introspectionCommands: [CommandSpec] = [
        CommandSpec(
            "object",
            arity: -2,
            flags: [.readonly],
            keys: (2, 2, 1),
            group: "keyspace",
            syntax: "ENCODING key | FREQ key | IDLETIME key | REFCOUNT key | HELP",
            summary: "How Redis would hold the entry's value; its access frequency (lfu) or idle seconds (lru, fifo).",
            subcommands: [("encoding", 3), ("freq", 3), ("idletime", 3), ("refcount", 3), ("help", 2)]
        ) { call in try ObjectCommand.run(&call) },
        CommandSpec(
            "memory",
            arity: -2,
            flags: [.readonly],
            keys: (2, 2, 1),
            group: "server",
            syntax: "USAGE key [SAMPLES count] | DOCTOR | MALLOC-STATS | PURGE | HELP",
            summary: "An estimate of the bytes an entry takes in memory (nil when absent).",
            subcommands: [("usage", -3), ("doctor", 2), ("malloc-stats", 2), ("purge", 2), ("help", 2)]
        ) { call in try MemoryCommand.run(&call) },
        CommandSpec(
            "time",
            arity: 1,
            flags: [.readonly, .fast, .connection],
            group: "server",
            summary: "The server's clock: Unix seconds and microseconds, as two bulk strings."
        ) { call in
            let now = call.cache.now()
            let seconds = now.rounded(.down)
            let microseconds = min(999_999, max(0, Int(((now - seconds) * 1_000_000).rounded(.down))))
            call.out.writeRESPArrayHeader(2)
            call.out.writeRESPBulkString(String(Int(seconds)))
            call.out.writeRESPBulkString(String(microseconds))
        },
        CommandSpec(
            "lastsave",
            arity: 1,
            flags: [.readonly, .fast, .connection],
            group: "server",
            summary: "Unix time of the last commit of a disk tier, or of the server's start when none committed."
        ) { call in
            call.out.writeRESPInteger(call.server.lastSave(call.cache.statistics()))
        },
    ]
}

/// OBJECT ENCODING, FREQ, IDLETIME, REFCOUNT and HELP.
enum ObjectCommand {
    static func run(_ call: inout CommandCall) throws {
        let subcommand = call.option(1)
        switch subcommand {
        case "HELP":
            Subcommand.help(&call, help)
            return
        case "ENCODING", "FREQ", "IDLETIME", "REFCOUNT":
            break  // each takes one key; dispatch checked the arity from the table
        default:
            throw Subcommand.unknown(call)
        }
        let key = call.binary(2)
        // Redis looks the key up without touching it (LOOKUP_NOTOUCH).
        let entry = try call.tier { () throws(TieredCacheError) in try call.cache.peek(key, mode: call.mode) }
        guard let entry else {
            call.out.writeRESPNull()
            return
        }
        let now = call.cache.now()
        let lfu = call.cache.configuration.evictionPolicy == .lfu
        switch subcommand {
        case "ENCODING":
            call.out.writeRESPBulkString(entry.redisEncoding.name)
        case "REFCOUNT":
            call.out.writeRESPInteger(entry.redisEncoding.isSharedInteger ? Int(Int32.max) : 1)
        case "IDLETIME":
            guard !lfu else {
                throw CommandError(
                    "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching "
                        + "between policies at runtime LRU and LFU data will take some time to adjust."
                )
            }
            call.out.writeRESPInteger(entry.idleSeconds(now: now))
        default:
            guard lfu else {
                throw CommandError(
                    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when "
                        + "switching between policies at runtime LRU and LFU data will take some time to adjust."
                )
            }
            call.out.writeRESPInteger(entry.logarithmicFrequency(now: now))
        }
    }

    static let help = [
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
    ]
}

/// MEMORY USAGE, DOCTOR, MALLOC-STATS, PURGE and HELP.
enum MemoryCommand {
    static func run(_ call: inout CommandCall) throws {
        switch call.option(1) {
        case "HELP":
            Subcommand.help(&call, help)
        case "USAGE":
            try usage(&call)
        case "DOCTOR":
            call.out.writeRESPVerbatimString(
                "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this "
                    + "base.\n"
            )
        case "MALLOC-STATS":
            // What Redis answers when built with the C library's allocator, as this server is.
            call.out.writeRESPBulkString("Stats not supported for the current allocator")
        case "PURGE":
            call.ok()
        default:
            throw Subcommand.unknown(call)
        }
    }

    private static func usage(_ call: inout CommandCall) throws {
        var index = 3
        while index < call.count {
            // SAMPLES bounds how much of a nested value Redis inspects; an entry has none, so it is only checked.
            guard call.option(index) == "SAMPLES", index + 1 < call.count else { throw CommandError.syntax }
            guard try call.integer(index + 1) >= 0 else { throw CommandError.syntax }
            index += 2
        }
        let key = call.binary(2)
        let entry = try call.tier { () throws(TieredCacheError) in try call.cache.peek(key, mode: call.mode) }
        if let entry { call.out.writeRESPInteger(entry.estimatedBytes) } else { call.out.writeRESPNull() }
    }

    /// Redis's help without STATS, which this server does not answer (INFO memory has its figures).
    static let help = [
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
    ]
}
