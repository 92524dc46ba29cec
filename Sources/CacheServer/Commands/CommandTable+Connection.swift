import CacheProtocol
import NIOCore

extension CommandTable {
    static let connectionCommands: [CommandSpec] = [
        CommandSpec(
            "ping",
            arity: -1,
            flags: [.fast, .connection],
            group: "connection",
            syntax: "[message]",
            summary: "Replies PONG, or the message."
        ) { call in
            switch call.count {
            case 1: call.out.writeRESPSimpleString("PONG")
            case 2: call.out.writeRESPBulkString(call.arguments[1])
            default: throw CommandError.wrongArity("ping")
            }
        },
        CommandSpec(
            "echo",
            arity: 2,
            flags: [.fast, .connection],
            group: "connection",
            syntax: "message",
            summary: "Replies the message."
        ) { call in
            call.out.writeRESPBulkString(call.arguments[1])
        },
        CommandSpec(
            "quit",
            arity: -1,
            flags: [.fast, .connection, .transactionControl, .noAuth],
            group: "connection",
            summary: "Replies OK and closes the connection; pipelined commands after it do not run."
        ) { call in
            call.ok()
            call.closeAfterReply = true
        },
        CommandSpec(
            "select",
            arity: 2,
            flags: [.fast, .connection],
            group: "connection",
            syntax: "index",
            summary: "Selects database 0, the only one."
        ) { call in
            let index = try call.integer(1)
            guard index == 0 else { throw CommandError("ERR DB index is out of range") }
            call.ok()
        },
        CommandSpec(
            "auth",
            arity: -2,
            flags: [.fast, .connection, .noAuth],
            group: "connection",
            syntax: "[username] password",
            summary: "Authenticates as the default user with the --requirepass-file password (Redis's semantics)."
        ) { call in
            guard call.count <= 3 else { throw CommandError("ERR syntax error") }
            if call.count == 2, !call.server.access.requiresPassword {
                throw CommandError(
                    "ERR AUTH <password> called without any password configured for the default user. "
                        + "Are you sure your configuration is correct?"
                )
            }
            let username = call.count == 3 ? call.arguments[1] : nil
            try Authentication.authenticate(&call, username: username, password: call.arguments[call.count - 1])
            call.ok()
        },
        CommandSpec(
            "hello",
            arity: -1,
            flags: [.fast, .connection, .noAuth],
            group: "connection",
            syntax: "[protover [AUTH username password] [SETNAME clientname]]",
            summary: "Handshake: switches the connection to RESP2 or RESP3 and answers the server's properties."
        ) { call in
            var index = 1
            var protocolVersion: RESPVersion?
            if call.count > 1 {
                guard let version = RedisNumber.parseInteger(call.arguments[1].readableBytesView) else {
                    throw CommandError("ERR Protocol version is not an integer or out of range")
                }
                guard let known = RESPVersion(rawValue: version) else {
                    throw CommandError("NOPROTO unsupported protocol version")
                }
                protocolVersion = known
                index = 2
            }
            var name: String?
            var credentials: (username: ByteBuffer, password: ByteBuffer)?
            while index < call.count {
                let option = call.option(index)
                if option == "AUTH", index + 2 < call.count {
                    credentials = (call.arguments[index + 1], call.arguments[index + 2])
                    index += 3
                } else if option == "SETNAME", index + 1 < call.count {
                    name = call.string(index + 1)
                    guard ClientName.isValid(name!) else { throw ClientName.invalid }
                    index += 2
                } else {
                    throw CommandError("ERR Syntax error in HELLO option '\(call.string(index))'")
                }
            }
            if let credentials {
                try Authentication.authenticate(&call, username: credentials.username, password: credentials.password)
            }
            guard !call.server.isLocked(call.session) else {
                throw CommandError(
                    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> "
                        + "AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
                        + "protocol version at the same time"
                )
            }
            if let name {
                call.session.updateInfo { $0.name = name }
            }
            if let protocolVersion {
                call.session.state.switchProtocol(to: protocolVersion)
                call.out.version = protocolVersion
            }
            call.out.writeRESPMapHeader(7)
            call.out.writeRESPBulkString("server")
            call.out.writeRESPBulkString("redis")
            call.out.writeRESPBulkString("version")
            call.out.writeRESPBulkString(ServerInfo.redisVersion)
            call.out.writeRESPBulkString("proto")
            call.out.writeRESPInteger(call.session.state.protocolVersion.rawValue)
            call.out.writeRESPBulkString("id")
            call.out.writeRESPInteger(call.session.id)
            call.out.writeRESPBulkString("mode")
            call.out.writeRESPBulkString("standalone")
            call.out.writeRESPBulkString("role")
            call.out.writeRESPBulkString("master")
            call.out.writeRESPBulkString("modules")
            call.out.writeRESPArrayHeader(0)
        },
        CommandSpec(
            "monitor",
            arity: 1,
            flags: [.admin, .noMulti, .connection],
            group: "server",
            summary: "Streams every command the server runs, with its time and client; credentials are redacted."
        ) { call in
            if !call.session.state.isMonitor, let sink = call.session.monitorLineSink {
                call.session.state.startMonitoring()
                call.server.monitors.add(session: call.session.id, sink: sink)
            }
            call.ok()
        },
        CommandSpec(
            "client",
            arity: -2,
            flags: [.connection],
            group: "connection",
            syntax:
                "ID | GETNAME | SETNAME name | SETINFO LIB-NAME|LIB-VER value | LIST [TYPE type] [ID id ...] | INFO"
                + " | KILL filter value [filter value ...] | NO-EVICT ON|OFF | NO-TOUCH ON|OFF | HELP",
            summary: "Connection introspection and naming.",
            subcommands: [
                ("id", 2), ("getname", 2), ("setname", 3), ("setinfo", 4), ("list", -2), ("info", 2), ("kill", -3),
                ("no-evict", 3), ("no-touch", 3), ("help", 2),
            ]
        ) { call in
            try ClientCommand.run(&call)
        },
    ]
}

/// AUTH and HELLO ... AUTH: Redis's default user, whose password is `--requirepass-file`'s.
enum Authentication {
    static let wrongPassword = CommandError("WRONGPASS invalid username-password pair or user is disabled.")

    /// Marks the session authenticated, or throws WRONGPASS (the session's state is left as it was).
    static func authenticate(_ call: inout CommandCall, username: ByteBuffer?, password: ByteBuffer) throws {
        guard call.server.access.authenticates(username: username, password: password) else {
            throw wrongPassword
        }
        call.session.state.authenticate()
    }
}

/// Client names follow Redis: no spaces, newlines or other special characters.
enum ClientName {
    static let invalid = CommandError("ERR Client names cannot contain spaces, newlines or special characters.")

    static func isValid(_ name: String) -> Bool {
        name.utf8.allSatisfy { $0 > 32 && $0 < 127 }
    }
}
