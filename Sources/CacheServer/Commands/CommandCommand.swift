import CacheProtocol
import NIOCore

/// COMMAND, COMMAND COUNT / LIST / INFO / DOCS, all read from the command table.
enum CommandCommand {
    static func run(_ call: inout CommandCall) throws {
        let table = call.server.commands
        guard call.count > 1 else {
            call.out.writeRESPArrayHeader(table.all.count)
            for spec in table.all { writeInfo(spec, into: &call.out) }
            return
        }
        switch call.option(1) {
        case "COUNT" where call.count == 2:
            call.out.writeRESPInteger(table.all.count)
        case "LIST" where call.count == 2:
            call.out.writeRESPArrayHeader(table.all.count)
            for spec in table.all { call.out.writeRESPBulkString(spec.name) }
        case "INFO":
            let specs: [CommandSpec?] =
                call.count == 2 ? table.all : (2..<call.count).map { table.lookup(call.string($0)) }
            call.out.writeRESPArrayHeader(specs.count)
            for spec in specs {
                if let spec { writeInfo(spec, into: &call.out) } else { call.out.writeRESPNull() }
            }
        case "DOCS":
            let specs = call.count == 2 ? table.all : (2..<call.count).compactMap { table.lookup(call.string($0)) }
            call.out.writeRESPMapHeader(specs.count)
            for spec in specs {
                call.out.writeRESPBulkString(spec.name)
                writeDocs(spec, into: &call.out)
            }
        case "GETKEYS":
            guard let target = table.lookup(call.arguments[2]) else {
                throw CommandError("ERR Invalid command specified")
            }
            let arguments = Array(call.arguments[2...])
            guard target.accepts(argumentCount: arguments.count) else {
                throw CommandError("ERR Invalid number of arguments specified for command")
            }
            let positions = Array(target.keyPositions(argumentCount: arguments.count))
            guard !positions.isEmpty else { throw CommandError("ERR The command has no key arguments") }
            call.out.writeRESPArrayHeader(positions.count)
            for position in positions { call.out.writeRESPBulkString(arguments[position]) }
        case "HELP":
            Subcommand.help(
                &call,
                [
                    "(no subcommand)", "    Return details about all commands.",
                    "COUNT", "    Return the total number of commands in this server.",
                    "LIST", "    Return a list of all commands in this server.",
                    "INFO [<command-name> ...]", "    Return details about multiple commands.",
                    "DOCS [<command-name> ...]", "    Return documentation details about multiple commands.",
                    "GETKEYS <full-command>", "    Return the keys from a full command.",
                ]
            )
        default:
            throw CommandError(
                "ERR unknown subcommand or wrong number of arguments for '\(call.string(1))'. Try COMMAND HELP."
            )
        }
    }

    /// COMMAND DOCS of one command: summary, since, group, and its arguments read from the table's syntax line.
    private static func writeDocs(_ spec: CommandSpec, into out: inout RESPReplyWriter) {
        let arguments = CommandArgument.parse(spec.syntax)
        out.writeRESPMapHeader(arguments.isEmpty ? 3 : 4)
        out.writeRESPBulkString("summary")
        out.writeRESPBulkString(spec.summary)
        out.writeRESPBulkString("since")
        out.writeRESPBulkString(ServerInfo.version)
        out.writeRESPBulkString("group")
        out.writeRESPBulkString(spec.group)
        if !arguments.isEmpty {
            out.writeRESPBulkString("arguments")
            writeArguments(arguments, into: &out)
        }
    }

    private static func writeArguments(_ arguments: [CommandArgument], into out: inout RESPReplyWriter) {
        out.writeRESPArrayHeader(arguments.count)
        for argument in arguments {
            var flags: [String] = []
            if argument.optional { flags.append("optional") }
            if argument.multiple { flags.append("multiple") }
            let pairs =
                2 + (argument.token == nil ? 0 : 1) + (flags.isEmpty ? 0 : 1) + (argument.children.isEmpty ? 0 : 1)
            out.writeRESPMapHeader(pairs)
            out.writeRESPBulkString("name")
            out.writeRESPBulkString(argument.name)
            out.writeRESPBulkString("type")
            out.writeRESPBulkString(argument.kind.rawValue)
            if let token = argument.token {
                out.writeRESPBulkString("token")
                out.writeRESPBulkString(token)
            }
            if !flags.isEmpty {
                out.writeRESPBulkString("flags")
                out.writeRESPSetHeader(flags.count)
                for flag in flags { out.writeRESPSimpleString(flag) }
            }
            if !argument.children.isEmpty {
                out.writeRESPBulkString("arguments")
                writeArguments(argument.children, into: &out)
            }
        }
    }

    /// Redis 7's ten-element command info.
    private static func writeInfo(_ spec: CommandSpec, into out: inout RESPReplyWriter) {
        out.writeRESPArrayHeader(10)
        out.writeRESPBulkString(spec.name)
        out.writeRESPInteger(spec.arity)
        let flags = spec.flags.names
        out.writeRESPSetHeader(flags.count)
        for flag in flags { out.writeRESPSimpleString(flag) }
        out.writeRESPInteger(spec.firstKey)
        out.writeRESPInteger(spec.lastKey)
        out.writeRESPInteger(spec.keyStep)
        out.writeRESPSetHeader(1)
        out.writeRESPSimpleString("@" + spec.group)
        out.writeRESPArrayHeader(0)
        out.writeRESPArrayHeader(0)
        out.writeRESPArrayHeader(0)
    }
}
