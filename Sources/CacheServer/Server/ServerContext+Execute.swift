import CacheProtocol
import NIOCore
import Tiers

/// What happened when a command ran.
enum ExecutionResult: Equatable {
    /// The reply is written.
    case replied
    /// The command needs the disk tiers: nothing was written or changed; run it again with `.mayBlock`.
    case wouldBlock
    /// The reply is written; close the connection after it (QUIT).
    case close
}

extension ServerContext {
    /// Runs one request and writes its single reply into `out`.
    ///
    /// - Returns: the result, and whether the command was a write (its reply waits for durability).
    func execute(
        _ arguments: [ByteBuffer],
        session: ClientSession,
        mode: IOMode,
        into out: inout ByteBuffer
    ) -> (result: ExecutionResult, wrote: Bool) {
        execute(arguments, spec: commands.lookup(arguments[0]), session: session, mode: mode, into: &out)
    }

    /// `execute` with the command already looked up (nil: unknown).
    func execute(
        _ arguments: [ByteBuffer],
        spec: CommandSpec?,
        session: ClientSession,
        mode: IOMode,
        into out: inout ByteBuffer
    ) -> (result: ExecutionResult, wrote: Bool) {
        guard let spec else {
            if session.transaction != nil { session.transactionFailed = true }
            out.writeRESPError(Self.unknownCommandMessage(arguments))
            commandStatistics.countError(code: "ERR")
            return (.replied, false)
        }
        guard spec.accepts(argumentCount: arguments.count) else {
            if session.transaction != nil { session.transactionFailed = true }
            out.writeRESPError(CommandError.wrongArity(spec.name).message)
            countRejected(spec, arguments)
            return (.replied, false)
        }
        if isLocked(session), !spec.flags.contains(.noAuth) {
            if session.transaction != nil { session.transactionFailed = true }
            out.writeRESPError("NOAUTH Authentication required.")
            countRejected(spec, arguments, code: "NOAUTH")
            return (.replied, false)
        }
        if session.transaction != nil, !spec.flags.contains(.transactionControl) {
            session.transaction!.append(arguments)
            out.writeRESPSimpleString("QUEUED")
            return (.replied, false)
        }
        let mark = out.writerIndex
        var call = CommandCall(
            arguments: arguments,
            out: RESPReplyWriter(buffer: ByteBuffer(), version: session.protocolVersion),
            mode: mode,
            server: self,
            session: session
        )
        swap(&call.out.buffer, &out)
        var result = ExecutionResult.replied
        let started = NIODeadline.now()
        do {
            try spec.run(&call)
            if call.closeAfterReply { result = .close }
        } catch TieredCacheError.wouldBlock {
            result = .wouldBlock
        } catch let error as CommandError {
            call.out.moveWriterIndex(to: mark)
            call.out.writeRESPError(error.message)
        } catch let error as TieredCacheError {
            call.out.moveWriterIndex(to: mark)
            call.out.writeRESPError(CommandError(error).message)
        } catch {
            call.out.moveWriterIndex(to: mark)
            call.out.writeRESPError("ERR \(error)")
        }
        swap(&call.out.buffer, &out)
        if result == .wouldBlock {
            out.moveWriterIndex(to: mark)
        } else {
            observe(spec, arguments, session: session, since: started, reply: out, at: mark)
        }
        return (result, spec.flags.contains(.write))
    }

    /// Whether the client must authenticate before anything but AUTH, HELLO and QUIT: it has not, and a password is
    /// required (a reload that removes the password frees clients that were waiting, as in Redis).
    func isLocked(_ session: ClientSession) -> Bool {
        !session.authenticated && access.requiresPassword
    }

    /// Whether a command must run off the event loop no matter what (it scans every tier). A client that must
    /// authenticate first is answered on the loop.
    func mustBlock(_ spec: CommandSpec?, session: ClientSession) -> Bool {
        guard cache.hasDiskTiers, let spec, !isLocked(session) else { return false }
        if session.transaction != nil, !spec.flags.contains(.transactionControl) {
            return false  // it is only queued
        }
        return spec.flags.contains(.wholeCache)
    }

    /// Whether a command that blocks goes to the bulk lane: a whole-cache scan or rewrite, a command naming more
    /// keys than `bulkCommandKeys` (counted from the table's key positions, not its arguments), or an EXEC whose
    /// queued commands together do.
    func isBulk(_ spec: CommandSpec?, arguments: [ByteBuffer], session: ClientSession) -> Bool {
        guard let spec else { return false }
        if spec.flags.contains(.bulk) { return true }
        let limit = configuration.bulkCommandKeys
        if spec.flags.contains(.transactionControl), let queued = session.transaction {
            let keys = queued.reduce(0) { total, command in
                total + (commands.lookup(command[0])?.keyCount(argumentCount: command.count) ?? 0)
            }
            return keys > limit
        }
        return spec.keyCount(argumentCount: arguments.count) > limit
    }

    /// Redis's text: `unknown command 'X', with args beginning with: 'a' 'b' `.
    static func unknownCommandMessage(_ arguments: [ByteBuffer]) -> String {
        var message = "ERR unknown command '\(String(buffer: arguments[0]).prefix(128))', with args beginning with: "
        var budget = 128
        for argument in arguments.dropFirst() where budget > 0 {
            let text = String(String(buffer: argument).prefix(budget))
            budget -= text.count
            message += "'\(text)' "
        }
        return message
    }
}
