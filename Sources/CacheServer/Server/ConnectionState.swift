import CacheProtocol
import NIOCore

/// What one connection remembers between its commands, as one value: the protocol it speaks, whether it
/// authenticated, its open transaction, the keys it watches and whether it is a monitor.
///
/// It changes only through its events (a request arrives, MULTI, EXEC, WATCH, AUTH, HELLO, MONITOR...), each of
/// which returns what the connection must do; it does no I/O, so every transition is tested on its own.
struct ConnectionState: Sendable {
    /// A key watched by WATCH, with what it looked like then: a key that was live and has since expired counts as
    /// changed (Redis 7.0), one that was already expired does not.
    struct WatchedKey: Sendable, Equatable {
        var key: String
        /// The key's expiry time when it was watched, if it had one and was live.
        var expiresAt: Double?
    }

    /// The commands queued since MULTI.
    struct Transaction: Sendable {
        var queued: [[ByteBuffer]] = []
        /// A command was refused while queuing (unknown, wrong arity, NOAUTH): EXEC must abort.
        var failed = false
    }

    /// What to do with a request.
    enum Dispatch: Equatable {
        /// Reply this error (its code first); an open transaction is marked failed.
        case reject(String)
        /// Queue it in the open transaction and reply QUEUED.
        case queue
        /// Run it now.
        case run
    }

    /// What EXEC does.
    enum ExecDecision: Equatable {
        case notInTransaction
        /// A command was refused while queuing: EXECABORT.
        case abortedByErrors
        /// Run these, unless a watched key changed (the caller checks `watched`, then calls `unwatchAll`).
        case run([[ByteBuffer]], watched: [WatchedKey])
    }

    private(set) var protocolVersion = RESPVersion.resp2
    private(set) var authenticated: Bool
    private(set) var transaction: Transaction?
    private(set) var watched: [WatchedKey] = []
    private(set) var isMonitor = false

    init(authenticated: Bool) {
        self.authenticated = authenticated
    }

    var inTransaction: Bool { transaction != nil }

    /// A request arrived. `spec` is nil for an unknown command; `locked` says the server requires a password this
    /// connection has not given.
    mutating func receive(_ spec: CommandSpec?, arguments: [ByteBuffer], locked: Bool) -> Dispatch {
        let decision: Dispatch
        if let spec {
            if !spec.accepts(argumentCount: arguments.count) {
                decision = .reject(CommandError.wrongArity(spec.name).message)
            } else if let problem = Self.subcommandProblem(spec, arguments) {
                decision = .reject(problem)
            } else if locked, !spec.flags.contains(.noAuth) {
                decision = .reject("NOAUTH Authentication required.")
            } else if transaction != nil, spec.flags.contains(.noMulti) {
                decision = .reject("ERR Command not allowed inside a transaction")
            } else if transaction != nil, !spec.flags.contains(.transactionControl) {
                transaction!.queued.append(arguments)
                return .queue
            } else {
                return .run
            }
        } else {
            decision = .reject(Self.unknownCommandMessage(arguments))
        }
        transaction?.failed = true
        return decision
    }

    /// Redis's rejection of a container command's subcommand: unknown, or with the wrong number of arguments.
    static func subcommandProblem(_ spec: CommandSpec, _ arguments: [ByteBuffer]) -> String? {
        guard !spec.subcommands.isEmpty, arguments.count > 1 else { return nil }
        guard let subcommand = spec.subcommand(arguments[1]) else {
            let given = String(buffer: arguments[1]).prefix(128)
            return "ERR unknown subcommand '\(given)'. Try \(spec.name.uppercased()) HELP."
        }
        guard subcommand.accepts(argumentCount: arguments.count) else {
            return CommandError.wrongArity(spec.name + "|" + subcommand.name).message
        }
        return nil
    }

    /// MULTI.
    mutating func beginTransaction() throws(CommandError) {
        guard transaction == nil else { throw CommandError("ERR MULTI calls can not be nested") }
        transaction = Transaction()
    }

    /// EXEC: ends the transaction and says what to run.
    mutating func endTransaction() -> ExecDecision {
        guard let transaction else { return .notInTransaction }
        self.transaction = nil
        if transaction.failed {
            return .abortedByErrors
        }
        return .run(transaction.queued, watched: watched)
    }

    /// An EXEC refused before it ran (wrong arity, NOAUTH): the transaction, if any, is discarded and every key
    /// unwatched, as Redis's `execCommandAbort` does; returns the keys to unregister.
    mutating func abortTransaction() -> [WatchedKey] {
        transaction = nil
        return unwatchAll()
    }

    /// DISCARD: drops the transaction; returns the watched keys, which it also forgets.
    mutating func discardTransaction() throws(CommandError) -> [WatchedKey] {
        guard transaction != nil else { throw CommandError("ERR DISCARD without MULTI") }
        transaction = nil
        return unwatchAll()
    }

    /// WATCH: adds keys (a key already watched is kept once, with its first snapshot).
    mutating func watch(_ keys: [WatchedKey]) throws(CommandError) {
        guard transaction == nil else { throw CommandError("ERR WATCH inside MULTI is not allowed") }
        for key in keys where !watched.contains(where: { $0.key == key.key }) {
            watched.append(key)
        }
    }

    /// UNWATCH, EXEC, DISCARD and the end of the connection: forgets every watched key and returns them.
    mutating func unwatchAll() -> [WatchedKey] {
        defer { watched = [] }
        return watched
    }

    /// AUTH or HELLO ... AUTH succeeded.
    mutating func authenticate() {
        authenticated = true
    }

    /// HELLO <protover>.
    mutating func switchProtocol(to version: RESPVersion) {
        protocolVersion = version
    }

    /// MONITOR: from now on the connection is fed every command the server runs.
    mutating func startMonitoring() {
        isMonitor = true
    }

    /// Redis's text: `unknown command 'X', with args beginning with: 'a' 'b' `. Each word ends at a NUL byte, as
    /// Redis's C formatting ends it.
    static func unknownCommandMessage(_ arguments: [ByteBuffer]) -> String {
        func text(_ argument: ByteBuffer) -> String {
            String(decoding: argument.readableBytesView.prefix { $0 != 0 }, as: UTF8.self)
        }
        var message = "ERR unknown command '\(text(arguments[0]).prefix(128))', with args beginning with: "
        var budget = 128
        for argument in arguments.dropFirst() where budget > 0 {
            let text = String(text(argument).prefix(budget))
            budget -= text.count
            message += "'\(text)' "
        }
        return message
    }
}
