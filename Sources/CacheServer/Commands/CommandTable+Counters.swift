import BinaryText
import Tiers

extension CommandTable {
    /// INCR, INCRBY, DECR, DECRBY and INCRBYFLOAT: arithmetic on the entry's value, as Redis 7.0 does it.
    static let counterCommands: [CommandSpec] = [
        CommandSpec(
            "incr",
            arity: 2,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "string",
            syntax: "key",
            summary: "Adds 1 to the integer value (a missing key counts as 0 and is created); keeps the expiry."
        ) { call in try CounterCommands.increment(&call, by: 1) },
        CommandSpec(
            "incrby",
            arity: 3,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "string",
            syntax: "key increment",
            summary: "Adds the increment to the integer value."
        ) { call in
            let increment = try call.integer(2)
            try CounterCommands.increment(&call, by: increment)
        },
        CommandSpec(
            "decr",
            arity: 2,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "string",
            syntax: "key",
            summary: "Subtracts 1 from the integer value."
        ) { call in try CounterCommands.increment(&call, by: -1) },
        CommandSpec(
            "decrby",
            arity: 3,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "string",
            syntax: "key decrement",
            summary: "Subtracts the decrement from the integer value."
        ) { call in
            let decrement = try call.integer(2)
            guard decrement != Int(Int64.min) else { throw CommandError("ERR decrement would overflow") }
            try CounterCommands.increment(&call, by: -decrement)
        },
        CommandSpec(
            "incrbyfloat",
            arity: 3,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "string",
            syntax: "key increment",
            summary: "Adds the increment to the value in long double precision; replies the new value as text."
        ) { call in try CounterCommands.incrementFloat(&call) },
    ]
}

/// The arithmetic of the counter commands. The value stays the entry's string value (`proxy_url`), written as
/// Redis writes it; every other field of the entry, its expiry included, stays as it was.
enum CounterCommands {
    static let overflow = CommandError("ERR increment or decrement would overflow")
    static let notFinite = CommandError("ERR increment would produce NaN or Infinity")

    /// INCR, INCRBY, DECR and DECRBY: adds `amount` to the value read as a signed 64-bit integer (`string2ll`).
    static func increment(_ call: inout CommandCall, by amount: Int) throws {
        let result = try change(&call) { value -> Result<String, CommandError> in
            let current: Int
            if let value {
                // Escaped bytes are never digits, so the UTF-8 of the lossless text parses as the bytes would.
                guard let parsed = RedisNumber.parseInteger(value.utf8) else { return .failure(.notInteger) }
                current = parsed
            } else {
                current = 0
            }
            let (sum, overflowed) = current.addingReportingOverflow(amount)
            return overflowed ? .failure(overflow) : .success(String(sum))
        }
        call.out.writeRESPInteger(Int(result)!)
    }

    /// INCRBYFLOAT: adds the increment in `long double`, as `incrbyfloatCommand` does.
    static func incrementFloat(_ call: inout CommandCall) throws {
        guard let increment = RedisLongDouble.parse(call.arguments[2].readableBytesView) else {
            throw CommandError.notFloat
        }
        let result = try change(&call) { value -> Result<String, CommandError> in
            var current: RedisLongDouble.Value = 0
            if let value {
                guard let parsed = RedisLongDouble.parse(BinaryText.bytes(of: value)) else {
                    return .failure(.notFloat)
                }
                current = parsed
            }
            let sum = current + increment
            guard sum.isFinite else { return .failure(notFinite) }
            return .success(RedisLongDouble.format(sum))
        }
        call.out.writeRESPBulkString(result)
    }

    /// Replaces the value of argument 1's key by what `compute` makes of it (nil for a missing key, which is then
    /// created and never expires); returns the new value. A failure changes nothing and is thrown.
    private static func change(
        _ call: inout CommandCall,
        _ compute: (String?) -> Result<String, CommandError>
    ) throws -> String {
        let key = call.binary(1)
        let now = call.cache.now()
        let fresh = try call.newEntry(key: key, proxyURL: "", now: now)
        let result = try call.tier { () throws(TieredCacheError) in
            try call.cache.update(key, mode: call.mode) { entry -> Result<String, CommandError> in
                let result = compute(entry?.proxyURL)
                if case .success(let value) = result {
                    if entry == nil { entry = fresh }
                    entry!.proxyURL = value
                }
                return result
            }
        }
        return try result.get()
    }
}
