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
                call.out.writeRESPMapHeader(3)
                call.out.writeRESPBulkString("summary")
                call.out.writeRESPBulkString(spec.summary)
                call.out.writeRESPBulkString("since")
                call.out.writeRESPBulkString(ServerInfo.version)
                call.out.writeRESPBulkString("group")
                call.out.writeRESPBulkString(spec.group)
            }
        default:
            throw CommandError(
                "ERR unknown subcommand or wrong number of arguments for '\(call.string(1))'. Try COMMAND HELP."
            )
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
