/// Walks the whole key space with `SCAN` (never `KEYS`, which would stall the server on a big cache).
enum KeyScanner {
    /// The `COUNT` hint sent with every `SCAN`.
    static let pageSize = 1000

    /// Calls `body` with each page of keys, each key once even when `SCAN` returns it twice.
    ///
    /// - Parameters:
    ///   - connection: The connection to scan over.
    ///   - pattern: A glob for `MATCH`, or nil for every key.
    ///   - body: Receives the new keys of each page, in reply order (pages may be empty).
    static func scan(
        _ connection: Connection,
        matching pattern: String?,
        _ body: ([String]) throws(CacheCtlError) -> Void
    ) throws(CacheCtlError) {
        var seen = Set<String>()
        var cursor = "0"
        repeat {
            var command = ["SCAN", cursor]
            if let pattern {
                command += ["MATCH", pattern]
            }
            command += ["COUNT", String(pageSize)]
            let reply = try connection.call(command)
            let parts = try reply.elements(for: "SCAN")
            guard parts.count == 2, let next = parts[0].string else {
                throw .unexpectedReply(to: "SCAN", reply)
            }
            var page: [String] = []
            for element in try parts[1].elements(for: "SCAN") {
                guard let key = element.string else { throw .unexpectedReply(to: "SCAN", reply) }
                if seen.insert(key).inserted {
                    page.append(key)
                }
            }
            try body(page)
            cursor = next
        } while cursor != "0"
    }

    /// Every key (matching `pattern` when given), each once, in scan order.
    static func allKeys(_ connection: Connection, matching pattern: String? = nil) throws(CacheCtlError) -> [String] {
        var keys: [String] = []
        try scan(connection, matching: pattern) { (page: [String]) throws(CacheCtlError) in
            keys += page
        }
        return keys
    }
}
