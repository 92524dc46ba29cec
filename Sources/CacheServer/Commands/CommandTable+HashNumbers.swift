import CacheProtocol
import NIOCore
import Tiers

extension CommandTable {
    /// HINCRBY and HINCRBYFLOAT, as Redis 7.0 answers them: a custom field holds any text; a numeric schema field
    /// (a count, a time, the 0/1 flag) keeps its validation; a text schema field is "not an integer/float".
    static let hashNumberCommands: [CommandSpec] = [
        CommandSpec(
            "hincrby",
            arity: 4,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "hash",
            syntax: "key field increment",
            summary:
                "Adds an integer to a field (an unset one counts as 0) and replies the sum; schema fields keep their "
                + "validation. A new key becomes an entry."
        ) { call in
            let field = HashCommands.field(call, 2)
            let increment = try call.integer(3)
            let now = call.cache.now()
            let limits = HashCommands.limits(call)
            let sum = try HashCommands.change(call) { entry, _ throws(TieredCacheError) -> Int in
                var value = 0
                if let text = try HashNumbers.text(of: field, in: entry, error: HashNumbers.notInteger) {
                    guard let parsed = RedisNumber.parseInteger(text.utf8) else { throw HashNumbers.notInteger }
                    value = parsed
                }
                let (sum, overflow) = value.addingReportingOverflow(increment)
                guard !overflow else { throw .invalid("increment or decrement would overflow") }
                try entry.set(field, to: String(sum), now: now, limits: limits)
                return sum
            }
            call.out.writeRESPInteger(sum)
        },
        CommandSpec(
            "hincrbyfloat",
            arity: 4,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "hash",
            syntax: "key field increment",
            summary:
                "Adds a number to a field (an unset one counts as 0) and replies the sum as Redis formats it; schema "
                + "fields keep their validation. A new key becomes an entry."
        ) { call in
            let field = HashCommands.field(call, 2)
            guard let increment = RedisLongDouble.parse(call.arguments[3].readableBytesView) else {
                throw CommandError.notFloat
            }
            guard increment.isFinite else { throw CommandError("ERR value is NaN or Infinity") }
            let now = call.cache.now()
            let limits = HashCommands.limits(call)
            let sum = try HashCommands.change(call) { entry, _ throws(TieredCacheError) -> String in
                var value: RedisLongDouble.Value = 0
                if let text = try HashNumbers.text(of: field, in: entry, error: HashNumbers.notFloat) {
                    guard let parsed = RedisLongDouble.parse(text.utf8) else { throw HashNumbers.notFloat }
                    value = parsed
                }
                value += increment
                guard value.isFinite else { throw .invalid("increment would produce NaN or Infinity") }
                let text = RedisLongDouble.format(value)
                try entry.set(field, to: text, now: now, limits: limits)
                return text
            }
            call.out.writeRESPBulkString(sum)
        },
    ]
}

/// What HINCRBY and HINCRBYFLOAT share.
enum HashNumbers {
    static let notInteger = TieredCacheError.invalid("hash value is not an integer")
    static let notFloat = TieredCacheError.invalid("hash value is not a float")

    /// The field's current text, nil when unset (it then counts as 0).
    ///
    /// - Throws: `error` for a text schema field (proxy_url, source, health_status...): it never holds a number.
    static func text(
        of field: CacheEntry.FieldName,
        in entry: CacheEntry,
        error: TieredCacheError
    ) throws(TieredCacheError) -> String? {
        if case .schema(let schemaField) = field, !schemaField.isNumeric {
            throw error
        }
        return entry.value(of: field)
    }
}
