import CacheProtocol
import NIOCore

/// CLIENT subcommands, as Redis 7 answers them.
enum ClientCommand {
    static func run(_ call: inout CommandCall) throws {
        let sub = call.option(1)
        switch (sub, call.count) {
        case ("ID", 2):
            call.out.writeRESPInteger(call.session.id)
        case ("GETNAME", 2):
            let name = call.session.info.name
            if name.isEmpty { call.out.writeRESPNull() } else { call.out.writeRESPBulkString(name) }
        case ("SETNAME", 3):
            let name = call.string(2)
            guard ClientName.isValid(name) || name.isEmpty else { throw ClientName.invalid }
            call.session.updateInfo { $0.name = name }
            call.ok()
        case ("SETINFO", 4):
            let value = call.string(3)
            guard value.utf8.allSatisfy({ $0 >= 32 && $0 < 127 && $0 != 32 }) else {
                throw CommandError("ERR \(call.string(2)) cannot contain spaces, newlines or special characters.")
            }
            switch call.option(2) {
            case "LIB-NAME": call.session.updateInfo { $0.libraryName = value }
            case "LIB-VER": call.session.updateInfo { $0.libraryVersion = value }
            default: throw CommandError("ERR Unrecognized option '\(call.string(2))'")
            }
            call.ok()
        case ("LIST", _):
            let sessions = try listed(call)
            let now = call.server.cache.now()
            let lines = sessions.map { session in
                describe(
                    session,
                    now: now,
                    server: call.server,
                    running: session === call.session ? "client|list" : nil
                )
                    + "\n"
            }
            call.out.writeRESPVerbatimString(lines.joined())
        case ("INFO", 2):
            let line = describe(call.session, now: call.server.cache.now(), server: call.server, running: "client|info")
            call.out.writeRESPVerbatimString(line + "\n")
        case ("KILL", 3...):
            try kill(&call)
        case ("NO-EVICT", 3), ("NO-TOUCH", 3):
            let on: Bool
            switch call.option(2) {
            case "ON": on = true
            case "OFF": on = false
            default: throw CommandError.syntax
            }
            // Accepted and shown in CLIENT LIST; the cache evicts and counts accesses by its own rules.
            call.session.updateInfo { info in
                if sub == "NO-EVICT" { info.noEvict = on } else { info.noTouch = on }
            }
            call.ok()
        case ("HELP", 2):
            Subcommand.help(
                &call,
                [
                    "GETNAME", "    Return the name of the current connection.",
                    "ID", "    Return the ID of the current connection.",
                    "INFO", "    Return information about the current client connection.",
                    "KILL <ip:port>", "    Kill connection made from <ip:port>.",
                    "KILL <option> <value> [<option> <value> [...]]",
                    "    Kill connections. Options are:",
                    "    * ADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made from the specified address",
                    "    * LADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made to specified local address",
                    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Kill connections by type.",
                    "    * USER <username>", "      Kill connections authenticated by <username>.",
                    "    * SKIPME (YES|NO)", "      Skip killing current connection (default: yes).",
                    "    * ID <client-id>", "      Kill connections by client id.",
                    "LIST [options ...]", "    Return information about client connections. Options:",
                    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Return clients of specified type.",
                    "    * ID <client-id> [<client-id> ...]", "      Return clients of specified IDs only.",
                    "NO-EVICT (ON|OFF)", "    Accepted; the cache evicts by its own policy.",
                    "NO-TOUCH (ON|OFF)", "    Accepted; the cache counts accesses by its own rules.",
                    "SETNAME <name>", "    Assign the name <name> to the current connection.",
                    "SETINFO <LIB-NAME|LIB-VER> <value>", "    Set client library name or version.",
                ]
            )
        default:
            throw CommandError(
                "ERR unknown subcommand or wrong number of arguments for '\(call.string(1))'. Try CLIENT HELP."
            )
        }
    }

    /// CLIENT LIST's filters: `TYPE normal|master|replica|pubsub`, `ID id [id ...]`.
    private static func listed(_ call: CommandCall) throws -> [ClientSession] {
        let sessions = call.server.clients.sessions
        guard call.count > 2 else { return sessions }
        switch call.option(2) {
        case "TYPE" where call.count == 4:
            switch call.option(3) {
            case "NORMAL": return sessions
            case "MASTER", "REPLICA", "SLAVE", "PUBSUB": return []
            default: throw CommandError("ERR Unknown client type '\(call.string(3))'")
            }
        case "ID" where call.count >= 4:
            var ids = Set<Int>()
            for index in 3..<call.count {
                guard let id = RedisNumber.parseInteger(call.arguments[index].readableBytesView), id > 0 else {
                    throw CommandError("ERR Invalid client ID")
                }
                ids.insert(id)
            }
            return sessions.filter { ids.contains($0.id) }
        default:
            throw CommandError.syntax
        }
    }

    /// CLIENT KILL: the old form (an address; OK or "No such client") and the filter form (a count).
    private static func kill(_ call: inout CommandCall) throws {
        let address = "\(call.server.configuration.socketPath):0"
        let sessions = call.server.clients.sessions
        if call.count == 3 {
            guard call.string(2) == address, let victim = sessions.first else {
                throw CommandError("ERR No such client")
            }
            // Every client of a Unix socket has the socket's address, as in Redis: the old form kills one.
            close(victim, call: &call)
            call.ok()
            return
        }
        guard call.count % 2 == 0 else { throw CommandError.syntax }
        var matching = sessions
        var skipMe = true
        for index in stride(from: 2, to: call.count, by: 2) {
            let value = call.string(index + 1)
            switch call.option(index) {
            case "ID":
                guard let id = RedisNumber.parseInteger(call.arguments[index + 1].readableBytesView), id > 0 else {
                    throw CommandError("ERR client-id should be greater than 0")
                }
                matching = matching.filter { $0.id == id }
            case "TYPE":
                switch value.uppercased() {
                case "NORMAL": break
                case "MASTER", "REPLICA", "SLAVE", "PUBSUB": matching = []
                default: throw CommandError("ERR Unknown client type '\(value)'")
                }
            case "USER":
                guard value == "default" else { throw CommandError("ERR No such user '\(value)'") }
            case "ADDR", "LADDR":
                if value != address { matching = [] }
            case "SKIPME":
                switch value.uppercased() {
                case "YES": skipMe = true
                case "NO": skipMe = false
                default: throw CommandError.syntax
                }
            default:
                throw CommandError.syntax
            }
        }
        if skipMe { matching.removeAll { $0.id == call.session.id } }
        for victim in matching { close(victim, call: &call) }
        call.out.writeRESPInteger(matching.count)
    }

    /// Closes a client; the caller itself after its reply is written.
    private static func close(_ victim: ClientSession, call: inout CommandCall) {
        if victim.id == call.session.id {
            call.closeAfterReply = true
        } else {
            // Gone from CLIENT LIST at once, as Redis frees another client synchronously; the socket closes on its
            // own event loop.
            _ = victim.kill()
            call.server.clients.unregister(victim)
        }
    }

    /// One line of CLIENT LIST / CLIENT INFO with Redis 7's fields. Figures this server does not keep per client
    /// (buffer sizes, memory) are 0; `fd` is -1 (the socket is NIO's). `running` is the command the client runs
    /// now, for the caller itself (the others show their last one).
    static func describe(_ session: ClientSession, now: Double, server: ServerContext, running: String? = nil) -> String
    {
        let info = session.info
        let age = Int(max(0, now - session.connectedAt))
        let idle = running == nil ? Int(max(0, now - info.lastCommandAt)) : 0
        let command = running ?? (info.lastCommand.isEmpty ? "NULL" : info.lastCommand)
        var flags = ""
        if info.isMonitor { flags += "O" }
        if info.queuedCommands != nil { flags += "x" }
        if info.watchedKeys > 0, server.watches.isDirty(session: session.id) { flags += "d" }
        flags += "U"
        if info.noEvict { flags += "e" }
        if info.noTouch { flags += "T" }
        let address = "\(server.configuration.socketPath):0"
        return "id=\(session.id) addr=\(address) laddr=\(address) fd=-1 name=\(info.name) age=\(age) idle=\(idle) "
            + "flags=\(flags) db=0 sub=0 psub=0 ssub=0 multi=\(info.queuedCommands ?? -1) qbuf=0 qbuf-free=0 "
            + "argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r "
            + "cmd=\(command) user=default redir=-1 "
            + "resp=\(info.protocolVersion) lib-name=\(info.libraryName) lib-ver=\(info.libraryVersion)"
    }
}
