import Tiers

extension CommandTable {
    /// RENAME, RENAMENX and COPY, as Redis 7.0 with one database.
    static let renameCommands: [CommandSpec] = [
        CommandSpec(
            "rename",
            arity: 3,
            flags: [.write, .isolated],
            keys: (1, 2, 1),
            group: "keyspace",
            syntax: "key newkey",
            summary: "Moves the entry (every field and its TTL) to newkey, replacing what was there."
        ) { call in try RenameCommands.rename(&call, onlyIfAbsent: false) },
        CommandSpec(
            "renamenx",
            arity: 3,
            flags: [.write, .fast, .isolated],
            keys: (1, 2, 1),
            group: "keyspace",
            syntax: "key newkey",
            summary: "RENAME only when newkey does not exist; 1 if moved."
        ) { call in try RenameCommands.rename(&call, onlyIfAbsent: true) },
        CommandSpec(
            "copy",
            arity: -3,
            flags: [.write, .isolated],
            keys: (1, 2, 1),
            group: "keyspace",
            syntax: "source destination [DB destination-db] [REPLACE]",
            summary: "Copies the entry (every field and its TTL) to destination; 1 if copied. Only DB 0 exists."
        ) { call in try RenameCommands.copy(&call) },
    ]
}

/// RENAME, RENAMENX and COPY.
///
/// Each runs as reads and writes of single keys (every tier is written through by each), in Redis's order:
/// the destination is written before the source is removed, so no moment exists where the entry is in neither.
/// The two keys are not locked together: a client writing the source while it is renamed may see its write
/// dropped with the source.
enum RenameCommands {
    static func rename(_ call: inout CommandCall, onlyIfAbsent: Bool) throws {
        let source = call.binary(1)
        let destination = call.binary(2)
        let entry = try call.tier { () throws(TieredCacheError) in
            try call.cache.update(source, mode: call.mode) { entry in entry }
        }
        guard let entry else { throw CommandError("ERR no such key") }
        if source == destination {
            if onlyIfAbsent { call.out.writeRESPInteger(0) } else { call.ok() }
            return
        }
        let moved = try call.tier { () throws(TieredCacheError) in
            try call.cache.update(destination, mode: call.mode) { current -> Bool in
                if onlyIfAbsent, current != nil { return false }
                var renamed = entry
                renamed.key = destination
                current = renamed
                return true
            }
        }
        if moved {
            _ = try call.tier { () throws(TieredCacheError) in try call.cache.delete(source, mode: call.mode) }
        }
        if onlyIfAbsent { call.out.writeRESPInteger(moved ? 1 : 0) } else { call.ok() }
    }

    static func copy(_ call: inout CommandCall) throws {
        var replace = false
        var index = 3
        while index < call.count {
            if call.option(index) == "REPLACE" {
                replace = true
            } else if call.option(index) == "DB", index + 1 < call.count {
                // Redis reads an int, then selects the database: only 0 exists here.
                let database = try call.integer(index + 1)
                guard database >= Int(Int32.min), database <= Int(Int32.max) else {
                    throw CommandError("ERR value is out of range, value must between -2147483648 and 2147483647")
                }
                guard database == 0 else { throw CommandError("ERR DB index is out of range") }
                index += 1
            } else {
                throw CommandError.syntax
            }
            index += 1
        }
        let source = call.binary(1)
        let destination = call.binary(2)
        guard source != destination else { throw CommandError("ERR source and destination objects are the same") }
        let entry = try call.tier { () throws(TieredCacheError) in
            try call.cache.update(source, mode: call.mode) { entry in entry }
        }
        guard let entry else {
            call.out.writeRESPInteger(0)
            return
        }
        let now = call.cache.now()
        let copied = try call.tier { () throws(TieredCacheError) in
            try call.cache.update(destination, mode: call.mode) { current -> Bool in
                if current != nil, !replace { return false }
                current = entry.copy(as: destination, now: now)
                return true
            }
        }
        call.out.writeRESPInteger(copied ? 1 : 0)
    }
}

extension CacheEntry {
    /// A copy of this entry under `key`: the same proxy, fields and expiry, with the access figures of a new
    /// value (Redis's COPY makes a new object, so its idle time and frequency start afresh).
    func copy(as key: String, now: Double) -> CacheEntry {
        var copy = self
        copy.key = key
        copy.accessCount = 0
        copy.lastAccessed = now
        copy.evictedFromL1 = false
        return copy
    }
}
