import BinaryText
import Tiers

extension CommandTable {
    /// APPEND, STRLEN, GETRANGE (and its old name SUBSTR) and SETRANGE: the entry's value as bytes.
    static let stringEditCommands: [CommandSpec] = [
        CommandSpec(
            "append",
            arity: 3,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "string",
            syntax: "key value",
            summary: "Appends to the value (a missing key is created); replies the new length in bytes."
        ) { call in try StringEditCommands.append(&call) },
        CommandSpec(
            "strlen",
            arity: 2,
            flags: [.readonly, .fast],
            keys: (1, 1, 1),
            group: "string",
            syntax: "key",
            summary: "The value's length in bytes, 0 when absent. Not a cache hit."
        ) { call in
            let key = call.binary(1)
            let entry = try call.tier { () throws(TieredCacheError) in try call.cache.peek(key, mode: call.mode) }
            call.out.writeRESPInteger(entry.map { BinaryText.byteCount(of: $0.proxyURL) } ?? 0)
        },
        CommandSpec(
            "getrange",
            arity: 4,
            flags: [.readonly],
            keys: (1, 1, 1),
            group: "string",
            syntax: "key start end",
            summary: "The bytes of the value from start to end, inclusive (negative counts from the end)."
        ) { call in try StringEditCommands.getRange(&call) },
        CommandSpec(
            "substr",
            arity: 4,
            flags: [.readonly],
            keys: (1, 1, 1),
            group: "string",
            syntax: "key start end",
            summary: "GETRANGE's old name."
        ) { call in try StringEditCommands.getRange(&call) },
        CommandSpec(
            "setrange",
            arity: 4,
            flags: [.write],
            keys: (1, 1, 1),
            group: "string",
            syntax: "key offset value",
            summary: "Overwrites the value from the byte offset on, padding with zero bytes; replies the new length."
        ) { call in try StringEditCommands.setRange(&call) },
    ]
}

/// The byte-wise string commands. Lengths and offsets count bytes, whatever the value holds; every other field of
/// the entry, its expiry included, stays as it was.
enum StringEditCommands {
    /// Redis's `checkStringLength`.
    static let tooLong = CommandError("ERR string exceeds maximum allowed size (proto-max-bulk-len)")

    static func append(_ call: inout CommandCall) throws {
        let key = call.binary(1)
        let addition = call.binary(2)
        let limit = call.server.configuration.maxBulkLength
        let now = call.cache.now()
        let fresh = try call.newEntry(key: key, proxyURL: addition, now: now)
        let result = try call.tier { () throws(TieredCacheError) in
            try call.cache.update(key, mode: call.mode) { entry -> Result<Int, CommandError> in
                guard let current = entry else {
                    entry = fresh
                    return .success(BinaryText.byteCount(of: addition))
                }
                let added = BinaryText.bytes(of: addition)
                if added.isEmpty { return .success(BinaryText.byteCount(of: current.proxyURL)) }
                let bytes = BinaryText.bytes(of: current.proxyURL) + added
                guard bytes.count <= limit else { return .failure(tooLong) }
                entry!.proxyURL = BinaryText.string(from: bytes)
                return .success(bytes.count)
            }
        }
        call.out.writeRESPInteger(try result.get())
    }

    static func getRange(_ call: inout CommandCall) throws {
        let start = try call.integer(2)
        let end = try call.integer(3)
        let key = call.binary(1)
        let entry = try call.tier { () throws(TieredCacheError) in try call.cache.get(key, mode: call.mode) }
        guard let entry else {
            call.out.writeRESPBulkString(bytes: [UInt8]())
            return
        }
        let bytes = BinaryText.bytes(of: entry.proxyURL)
        call.out.writeRESPBulkString(bytes: bytes[byteRange(count: bytes.count, start: start, end: end)])
    }

    /// The bytes GETRANGE replies of a value of `count` bytes, with `getrangeCommand`'s index rules: negative
    /// indexes count from the end, both are clamped to the value, and an empty range when start > end.
    static func byteRange(count: Int, start: Int, end: Int) -> Range<Int> {
        if start < 0, end < 0, start > end { return 0..<0 }
        var start = start < 0 ? count + start : start
        var end = end < 0 ? count + end : end
        start = max(start, 0)
        end = max(end, 0)
        if end >= count { end = count - 1 }
        guard start <= end, count > 0 else { return 0..<0 }
        return start..<(end + 1)
    }

    static func setRange(_ call: inout CommandCall) throws {
        let offset = try call.integer(2)
        guard offset >= 0 else { throw CommandError("ERR offset is out of range") }
        let key = call.binary(1)
        let patch = Array(call.arguments[3].readableBytesView)
        let limit = call.server.configuration.maxBulkLength
        let (newEnd, overflowed) = offset.addingReportingOverflow(patch.count)
        let fits = !overflowed && newEnd <= limit
        let now = call.cache.now()
        let fresh = try call.newEntry(key: key, proxyURL: "", now: now)
        let result = try call.tier { () throws(TieredCacheError) in
            try call.cache.update(key, mode: call.mode) { entry -> Result<Int, CommandError> in
                let current = entry.map { BinaryText.bytes(of: $0.proxyURL) }
                // Setting nothing changes nothing, and creates nothing.
                if patch.isEmpty { return .success(current?.count ?? 0) }
                guard fits else { return .failure(tooLong) }
                var bytes = current ?? []
                if bytes.count < newEnd { bytes.append(contentsOf: repeatElement(0, count: newEnd - bytes.count)) }
                bytes.replaceSubrange(offset..<newEnd, with: patch)
                if entry == nil { entry = fresh }
                entry!.proxyURL = BinaryText.string(from: bytes)
                return .success(bytes.count)
            }
        }
        call.out.writeRESPInteger(try result.get())
    }
}
