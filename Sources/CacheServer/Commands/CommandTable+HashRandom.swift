import CacheProtocol
import NIOCore
import Tiers

extension CommandTable {
    /// HRANDFIELD, as Redis 7.0 answers it (RESP2's flat field/value list WITHVALUES).
    static let hrandfield = CommandSpec(
        "hrandfield",
        arity: -2,
        flags: [.readonly],
        keys: (1, 1, 1),
        group: "hash",
        syntax: "key [count [WITHVALUES]]",
        summary:
            "Random fields of the entry: one (nil when absent), or count distinct ones (negative: -count, repeats "
            + "allowed; at most max-arguments)."
    ) { call in
        guard call.count >= 3 else {
            let fields = try HashCommands.peek(call)?.hashView ?? []
            if let chosen = fields.randomElement() {
                call.out.writeRESPBulkString(chosen.name)
            } else {
                call.out.writeRESPNull()
            }
            return
        }
        let count = try call.integer(2)
        guard count != Int.min else {
            throw CommandError(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
            )
        }
        guard call.count == 3 || (call.count == 4 && call.option(3) == "WITHVALUES") else {
            throw CommandError.syntax
        }
        let withValues = call.count == 4
        if withValues, count < -(Int.max / 2) || count > Int.max / 2 {
            throw CommandError("ERR value is out of range")
        }
        // A negative count repeats fields: bound the reply as requests are bounded.
        guard count >= -call.server.configuration.maxArguments else {
            throw CommandError("ERR value is out of range")
        }
        let fields = try HashCommands.peek(call)?.hashView ?? []
        let chosen: [(name: String, value: String)]
        if count == 0 || fields.isEmpty {
            chosen = []
        } else if count < 0 {
            chosen = (0..<(-count)).map { _ in fields.randomElement()! }
        } else if count >= fields.count {
            chosen = fields
        } else {
            chosen = Array(fields.shuffled().prefix(count))
        }
        // RESP3 pairs each field with its value in an array of two, as Redis 7 does; RESP2 flattens them.
        let pairs = withValues && call.out.version == .resp3
        call.out.writeRESPArrayHeader(withValues && !pairs ? chosen.count * 2 : chosen.count)
        for (name, value) in chosen {
            if pairs { call.out.writeRESPArrayHeader(2) }
            call.out.writeRESPBulkString(name)
            if withValues { call.out.writeRESPBulkString(value) }
        }
    }
}
