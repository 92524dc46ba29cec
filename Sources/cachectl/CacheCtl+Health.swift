import ArgumentParser
import CacheProtocol

extension CacheCtl {
    /// The result of one health check, as `HEALTH` takes it.
    enum HealthOutcome: String, ExpressibleByArgument, CaseIterable {
        case ok
        case fail
    }

    /// `cachectl health KEY ok|fail [...]`: reports a health check on an entry.
    struct Health: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "health",
            abstract: "Report a health check; prints the entry's new status.",
            discussion: """
                Prints healthy, unhealthy (or another status), or removed when the failure threshold took the \
                entry out of the cache. Exits 1 when the key is not cached.
                """
        )

        @OptionGroup var options: ClientOptions

        @Argument(help: "The cache key.")
        var key: String

        @Argument(help: "The check's outcome: ok or fail.")
        var outcome: HealthOutcome

        @Option(name: .long, help: ArgumentHelp("The check's response time in milliseconds.", valueName: "ms"))
        var responseMs: Double?

        @Option(name: .long, help: ArgumentHelp("The error the check saw.", valueName: "text"))
        var error: String?

        @Option(name: .long, help: ArgumentHelp("The URL the check fetched.", valueName: "url"))
        var checkUrl: String?

        func validate() throws {
            if let responseMs, !(responseMs.isFinite && responseMs >= 0) {
                throw ValidationError("--response-ms must be a number >= 0")
            }
        }

        /// `HEALTH key ok|fail [response_ms] [error] [check_url]`: the optional arguments are positional, so one
        /// left out before a given one is sent as an empty string.
        var command: [String] {
            var tail = [responseMs.map(Self.number) ?? "", error ?? "", checkUrl ?? ""]
            while tail.last == "" {
                tail.removeLast()
            }
            return ["HEALTH", key, outcome.rawValue] + tail
        }

        func execute(_ connection: Connection) throws(CacheCtlError) {
            let reply = try connection.call(command).checked()
            guard !reply.isNil else { throw .notFound(key) }
            guard let status = reply.string else { throw .unexpectedReply(to: "HEALTH", reply) }
            emit(status, json: .object([("key", .string(key)), ("status", .string(status))]))
        }

        private static func number(_ value: Double) -> String {
            value == value.rounded() && value < 1e15 ? String(Int64(value)) : String(value)
        }
    }

    /// `cachectl history KEY [--count N]`: the entry's recent health checks.
    struct History: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "history",
            abstract: "Print an entry's health-check history, one check a line.",
            discussion: """
                Plain output has tab-separated columns: check time (UTC), status, response time in ms, error, \
                check URL; '-' marks an absent value. Exits 1 when the key is not cached and has no history.
                """
        )

        @OptionGroup var options: ClientOptions

        @Argument(help: "The cache key.")
        var key: String

        @Option(name: .long, help: "At most this many checks (the server's default when absent).")
        var count: Int?

        func validate() throws {
            if let count, count <= 0 {
                throw ValidationError("--count must be > 0, got \(count)")
            }
        }

        /// The names of the five values of one history record, in reply order.
        static let columns = ["check_time", "status", "response_time_ms", "error", "check_url"]

        func execute(_ connection: Connection) throws(CacheCtlError) {
            let replies = try connection.pipeline([
                ["EXISTS", key], ["HISTORY", key] + (count.map { [String($0)] } ?? []),
            ])
            let reply = try replies[1].checked()
            guard !reply.isNil else { throw .notFound(key) }
            let history = try reply.elements(for: "HISTORY")
            // The server answers an empty history for a key it does not hold; only then is it "not found".
            if history.isEmpty, case .integer(0) = replies[0] {
                throw .notFound(key)
            }
            var lines: [String] = []
            var records: [JSONValue] = []
            for record in history {
                let values = try record.elements(for: "HISTORY")
                guard values.count == Self.columns.count, values.allSatisfy({ $0.isNil || $0.string != nil }) else {
                    throw .unexpectedReply(to: "HISTORY", reply)
                }
                let texts = values.map(\.string)
                let members = zip(Self.columns, texts).map { name, text in
                    (name, text.map { EntryFields.json(name: name, value: $0) } ?? JSONValue.null)
                }
                records.append(.object(members))
                var columns = texts.map { $0.flatMap { $0.isEmpty ? nil : $0 } ?? "-" }
                if let time = texts[0].flatMap(Double.init) {
                    columns[0] = Timestamp.iso8601(time)
                }
                lines.append(columns.joined(separator: "\t"))
            }
            if options.json {
                Console.output(JSONValue.array(records).jsonText)
            } else if !lines.isEmpty {
                Console.output(lines.joined(separator: "\n"))
            }
        }
    }
}
