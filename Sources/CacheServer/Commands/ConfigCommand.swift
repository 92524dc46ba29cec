import CacheProtocol
import NIOCore

/// CONFIG GET / SET / RESETSTAT / HELP over `ConfigParameter.all`, with Redis 7's replies and errors.
enum ConfigCommand {
    static func run(_ call: inout CommandCall) throws {
        switch call.option(1) {
        case "GET":
            guard call.count >= 3 else { throw CommandError.wrongArity("config|get") }
            try get(&call)
        case "SET":
            guard call.count >= 4, call.count % 2 == 0 else { throw CommandError.wrongArity("config|set") }
            try set(&call)
        case "RESETSTAT":
            guard call.count == 2 else { throw CommandError.wrongArity("config|resetstat") }
            call.server.resetStatistics()
            call.ok()
        case "HELP" where call.count == 2:
            let lines = [
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value>", "    Set the configuration <directive> to <value>.",
                "RESETSTAT", "    Reset statistics reported by the INFO command.",
                "HELP", "    Print this help.",
            ]
            call.out.writeRESPArrayHeader(lines.count)
            for line in lines { call.out.writeRESPSimpleString(line) }
        default:
            throw CommandError(
                "ERR unknown subcommand or wrong number of arguments for '\(call.string(1))'. Try CONFIG HELP."
            )
        }
    }

    private static func get(_ call: inout CommandCall) throws {
        var matched: [ConfigParameter] = []
        for index in 2..<call.count {
            let pattern = Array(call.string(index).lowercased().utf8)
            for parameter in ConfigParameter.all where RedisGlob.matches(pattern, parameter.name.utf8) {
                if !matched.contains(where: { $0.name == parameter.name }) { matched.append(parameter) }
            }
        }
        call.out.writeRESPMapHeader(matched.count)
        for parameter in matched {
            call.out.writeRESPBulkString(parameter.name)
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
