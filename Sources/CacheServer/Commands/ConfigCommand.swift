import CacheProtocol
import NIOCore

/// CONFIG GET / SET / RESETSTAT / HELP over `ConfigParameter.all`, with Redis 7's replies and errors.
enum ConfigCommand {
    static func run(_ call: inout CommandCall) throws {
        switch call.option(1) {
        case "GET":
            try get(&call)
        case "SET":
            guard call.count % 2 == 0 else { throw CommandError.syntax }
            try set(&call)
        case "RESETSTAT":
            call.server.resetStatistics()
            call.ok()
        case "HELP" where call.count == 2:
            Subcommand.help(
                &call,
                [
                    "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
                    "SET <directive> <value>", "    Set the configuration <directive> to <value>.",
                    "RESETSTAT", "    Reset statistics reported by the INFO command.",
                ]
            )
        default:
            throw CommandError(
                "ERR unknown subcommand or wrong number of arguments for '\(call.string(1))'. Try CONFIG HELP."
            )
        }
    }

    private static func get(_ call: inout CommandCall) throws {
        // A name without glob characters is answered under the name as given, as Redis 7.0 does.
        var matched: [(shown: String, parameter: ConfigParameter)] = []
        for index in 2..<call.count {
            let given = call.string(index)
            let pattern = Array(given.lowercased().utf8)
            let isPattern = pattern.contains { [UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "[")].contains($0) }
            for parameter in ConfigParameter.all where RedisGlob.matches(pattern, parameter.name.utf8) {
                if !matched.contains(where: { $0.parameter.name == parameter.name }) {
                    matched.append((isPattern ? parameter.name : given, parameter))
                }
            }
        }
        call.out.writeRESPMapHeader(matched.count)
        for (shown, parameter) in matched {
            call.out.writeRESPBulkString(shown)
            call.out.writeRESPBulkString(parameter.get(call.server))
        }
    }

    /// Checks every pair first and applies them only if all are valid, as Redis 7 does.
    private static func set(_ call: inout CommandCall) throws {
        var changes: [@Sendable (ServerContext) -> Void] = []
        var seen = Set<String>()
        for index in stride(from: 2, to: call.count, by: 2) {
            let name = call.string(index).lowercased()
            guard let parameter = ConfigParameter.all.first(where: { $0.name == name }) else {
                throw CommandError("ERR Unknown option or number of arguments for CONFIG SET - '\(call.string(index))'")
            }
            func failed(_ reason: String) -> CommandError {
                CommandError("ERR CONFIG SET failed (possibly related to argument '\(name)') - \(reason)")
            }
            guard seen.insert(name).inserted else { throw failed("duplicate parameter") }
            guard let parse = parameter.parse else { throw failed("can't set immutable config") }
            do {
                changes.append(try parse(call.server, call.string(index + 1)))
            } catch {
                throw failed(error.reason)
            }
        }
        for change in changes { change(call.server) }
        call.ok()
    }
}
