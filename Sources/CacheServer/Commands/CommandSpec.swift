import NIOCore
import Synchronization

/// Properties of a command that dispatch, `COMMAND` and the docs read.
struct CommandFlags: OptionSet, Sendable {
    let rawValue: UInt32

    /// Changes the cache (replies wait for durability under `--fsync always`).
    static let write = CommandFlags(rawValue: 1 << 0)
    /// Only reads.
    static let readonly = CommandFlags(rawValue: 1 << 1)
    /// Constant time and memory only.
    static let fast = CommandFlags(rawValue: 1 << 2)
    /// Touches every tier (KEYS, SCAN, FLUSHALL, CLEANUP...): runs off the event loop when disk tiers exist.
    static let wholeCache = CommandFlags(rawValue: 1 << 3)
    /// Server administration.
    static let admin = CommandFlags(rawValue: 1 << 4)
    /// Allowed while a MULTI is open without being queued.
    static let transactionControl = CommandFlags(rawValue: 1 << 5)
    /// Connection handling; never touches the cache.
    static let connection = CommandFlags(rawValue: 1 << 6)
    /// Long work over the whole cache (KEYS, SCAN, FLUSHALL, CLEANUP): runs on the bulk lane, one at a time.
    static let bulk = CommandFlags(rawValue: 1 << 8)
    /// Runs before the client authenticated (AUTH, HELLO, QUIT).
    static let noAuth = CommandFlags(rawValue: 1 << 7)
    /// Runs while no other command runs, holding the transaction gate alone: EXEC, and the commands that read and
    /// write two keys (RENAME, RENAMENX, COPY), so they are one step for every other client, as in Redis.
    static let isolated = CommandFlags(rawValue: 1 << 9)
    /// Refused inside MULTI (MONITOR), as Redis's `no-multi`.
    static let noMulti = CommandFlags(rawValue: 1 << 10)
    /// Writes whole entries without reading any tier (MSET): never needs the disk, so it runs on the event loop
    /// whatever its number of keys.
    static let blindWrite = CommandFlags(rawValue: 1 << 11)

    /// The names `COMMAND INFO` prints.
    var names: [String] {
        var names: [String] = []
        if contains(.write) { names.append("write") }
        if contains(.readonly) { names.append("readonly") }
        if contains(.admin) { names.append("admin") }
        if contains(.fast) { names.append("fast") }
        if contains(.connection) { names.append("loading") }
        if contains(.noAuth) { names.append("no_auth") }
        if contains(.noMulti) { names.append("no_multi") }
        return names
    }

    /// The names the command reference prints: ours, including how the command is scheduled.
    var documentationNames: [String] {
        var names: [String] = []
        if contains(.write) { names.append("write") }
        if contains(.readonly) { names.append("readonly") }
        if contains(.fast) { names.append("fast") }
        if contains(.wholeCache) { names.append("whole-cache") }
        if contains(.bulk) { names.append("bulk") }
        if contains(.admin) { names.append("admin") }
        if contains(.connection) { names.append("connection") }
        if contains(.transactionControl) { names.append("transaction-control") }
        if contains(.noAuth) { names.append("no-auth") }
        if contains(.isolated) { names.append("isolated") }
        if contains(.noMulti) { names.append("no-multi") }
        if contains(.blindWrite) { names.append("blind-write") }
        return names
    }
}

/// A subcommand of a container command (CLIENT LIST, CONFIG GET, ...): its name and its arity, counted with the
/// container's name as Redis counts it (`client|setname` has arity 3).
struct SubcommandSpec: Sendable {
    let name: String
    let arity: Int

    func accepts(argumentCount count: Int) -> Bool {
        arity >= 0 ? count == arity : count >= -arity
    }
}

/// One command, declared once: dispatch, arity errors, `COMMAND` output and the docs all come from it.
final class CommandSpec: Sendable {
    /// Lowercase name, as Redis prints it.
    let name: String
    /// A number no other spec of this process has, dense from 0 in the order specs are made: what INFO
    /// commandstats finds a command's counters by (`CommandStatistics`), without hashing its name on every call.
    let serial: Int
    /// Redis's convention: positive is the exact argument count including the name, negative the minimum.
    let arity: Int
    let flags: CommandFlags
    /// Key positions for `COMMAND INFO`: first, last (-1 = last argument), step; 0,0,0 for none.
    let firstKey: Int
    let lastKey: Int
    let keyStep: Int
    /// The documentation group ("string", "hash", "keyspace", "connection", "server", "cache", "transactions").
    let group: String
    /// Usage after the name, e.g. `key value [EX seconds]`.
    let syntax: String
    /// One line of what it does.
    let summary: String
    /// The subcommands of a container command; dispatch checks their names and arities before the command runs,
    /// and INFO commandstats counts them apart, as Redis 7 does.
    let subcommands: [SubcommandSpec]
    let run: @Sendable (inout CommandCall) throws -> Void

    /// How many keys a call with `argumentCount` arguments (its name included) names, from the key positions.
    func keyCount(argumentCount: Int) -> Int {
        guard firstKey > 0, keyStep > 0, argumentCount > firstKey else { return 0 }
        let last = lastKey < 0 ? argumentCount + lastKey : min(lastKey, argumentCount - 1)
        return last < firstKey ? 0 : (last - firstKey) / keyStep + 1
    }

    /// The argument indexes of the keys a call with `argumentCount` arguments names (WATCH touches, COMMAND
    /// GETKEYS).
    func keyPositions(argumentCount: Int) -> StrideTo<Int> {
        let count = keyCount(argumentCount: argumentCount)
        return stride(from: firstKey, to: firstKey + count * max(keyStep, 1), by: max(keyStep, 1))
    }

    init(
        _ name: String,
        arity: Int,
        flags: CommandFlags,
        keys: (Int, Int, Int) = (0, 0, 0),
        group: String,
        syntax: String = "",
        summary: String,
        subcommands: [(String, Int)] = [],
        run: @escaping @Sendable (inout CommandCall) throws -> Void
    ) {
        self.subcommands = subcommands.map { SubcommandSpec(name: $0.0, arity: $0.1) }
        self.name = name
        self.serial = Self.serials.add(1, ordering: .relaxed).oldValue
        self.arity = arity
        self.flags = flags
        self.firstKey = keys.0
        self.lastKey = keys.1
        self.keyStep = keys.2
        self.group = group
        self.syntax = syntax
        self.summary = summary
        self.run = run
    }

    /// The next spec's `serial`.
    private static let serials = Atomic<Int>(0)

    /// The subcommand named by `argument` (any case), nil when there is none such.
    func subcommand(_ argument: ByteBuffer) -> SubcommandSpec? {
        guard !subcommands.isEmpty, argument.readableBytes <= 32 else { return nil }
        let name = String(buffer: argument).lowercased()
        return subcommands.first { $0.name == name }
    }

    /// Whether `count` arguments (with the name) satisfy the arity.
    func accepts(argumentCount count: Int) -> Bool {
        arity >= 0 ? count == arity : count >= -arity
    }
}
