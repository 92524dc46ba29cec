import ArgumentParser

extension CacheCtl {
    /// `cachectl keys [PATTERN]` (alias `scan`): lists keys with `SCAN`, one a line.
    struct Keys: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "keys",
            abstract: "List keys (matching a glob pattern), one a line.",
            discussion: """
                Iterates SCAN with MATCH and COUNT 1000, never KEYS, so a big cache is listed without stalling the \
                server; keys appear page by page. With --json, one array of all keys.
                """,
            aliases: ["scan"]
        )

        @OptionGroup var options: ClientOptions

        @Argument(help: "A Redis glob pattern such as 'a*' or 'h?llo' (default: every key).")
        var pattern: String?

        func execute(_ connection: Connection) throws(CacheCtlError) {
            if options.json {
                let keys = try KeyScanner.allKeys(connection, matching: pattern)
                Console.output(JSONValue.array(keys.map { .string($0) }).jsonText)
                return
            }
            try KeyScanner.scan(connection, matching: pattern) { (page: [String]) throws(CacheCtlError) in
                if !page.isEmpty {
                    Console.output(page.joined(separator: "\n"))
                }
            }
        }
    }

    /// `cachectl clear`: removes every entry from every tier.
    struct Clear: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "clear",
            abstract: "Remove every entry from every tier; prints how many there were.",
            discussion: """
                Sends DBSIZE and FLUSHALL in one write and prints DBSIZE's count (entries added by other clients \
                between the two are removed but not counted). Asks for no confirmation.
                """
        )

        @OptionGroup var options: ClientOptions

        func execute(_ connection: Connection) throws(CacheCtlError) {
            let replies = try connection.pipeline([["DBSIZE"], ["FLUSHALL"]])
            _ = try replies[1].checked()
            if case .integer(let count) = replies[0] {
                emit(String(count), json: .object([("cleared", .integer(count))]))
            } else {
                emit("OK", json: .object([("cleared", .null)]))
            }
        }
    }

    /// `cachectl cleanup`: removes expired entries now.
    struct Cleanup: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "cleanup",
            abstract: "Remove expired entries from every tier now; prints how many."
        )

        @OptionGroup var options: ClientOptions

        func execute(_ connection: Connection) throws(CacheCtlError) {
            let removed = try connection.call(["CLEANUP"]).integer(for: "CLEANUP")
            emit(String(removed), json: .object([("removed", .integer(removed))]))
        }
    }
}
