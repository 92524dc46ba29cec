import ArgumentParser

extension CacheCtl {
    /// `cachectl ping`: checks that the server answers.
    struct Ping: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "ping",
            abstract: "Check that the server answers (prints PONG)."
        )

        @OptionGroup var options: ClientOptions

        func execute(_ connection: Connection) throws(CacheCtlError) {
            let reply = try connection.call(["PING"]).checked()
            guard let text = reply.string else { throw .unexpectedReply(to: "PING", reply) }
            emit(text, json: .object([("reply", .string(text))]))
        }
    }

    /// `cachectl stats`: the cache's counters.
    struct Stats: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract: "Print the cache's statistics, one 'name value' line each.",
            discussion: """
                Per tier hits, misses, size, evictions by reason and hit rate (l1_hits, l2_misses, ...), then \
                promotions, demotions and overall_hit_rate, in the server's order. With --json, one object whose \
                numbers are JSON numbers.
                """
        )

        @OptionGroup var options: ClientOptions

        func execute(_ connection: Connection) throws(CacheCtlError) {
            let pairs = try connection.call(["STATS"]).pairs(for: "STATS")
            if options.json {
                Console.output(JSONValue.object(pairs.map { ($0.0, Self.json($0.1)) }).jsonText)
                return
            }
            let width = pairs.map(\.0.count).max() ?? 0
            let lines = pairs.map { name, value in
                name + String(repeating: " ", count: width - name.count + 1) + value
            }
            if !lines.isEmpty {
                Console.output(lines.joined(separator: "\n"))
            }
        }

        private static func json(_ value: String) -> JSONValue {
            if JSONValue.isNumber(value) {
                return .number(value)
            }
            switch value {
            case "true":
                return .bool(true)
            case "false":
                return .bool(false)
            default:
                return .string(value)
            }
        }
    }

    /// A cache tier, as `SIZE` names it.
    enum Tier: String, ExpressibleByArgument, CaseIterable {
        case l1
        case l2
        case l3
    }

    /// `cachectl size [TIER]`: how many entries the cache (or one tier) holds.
    struct Size: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "size",
            abstract: "Print how many entries the cache holds, or one tier (l1, l2, l3)."
        )

        @OptionGroup var options: ClientOptions

        @Argument(help: "A tier: l1, l2 or l3 (default: the whole cache).")
        var tier: Tier?

        func execute(_ connection: Connection) throws(CacheCtlError) {
            let size = try connection.call(["SIZE"] + (tier.map { [$0.rawValue] } ?? [])).integer(for: "SIZE")
            var members: [(String, JSONValue)] = [("size", .integer(size))]
            if let tier {
                members.insert(("tier", .string(tier.rawValue)), at: 0)
            }
            emit(String(size), json: .object(members))
        }
    }
}
