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

/// Where a request runs.
enum Placement: Equatable {
    /// On the connection's event loop, memory only; retried off the loop if it turns out to need the disk.
    case eventLoop
    /// On the connection's serial queue, off the loop, disk allowed.
    case blocking
    /// On the bulk lane, one at a time (whole-cache work, or many keys).
    case bulk
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

    /// `execute` with the command already looked up (nil: unknown). `insideExec` is set for the commands an EXEC
    /// runs: they run under the EXEC's exclusive hold of the gate.
    func execute(
        _ arguments: [ByteBuffer],
        spec: CommandSpec?,
        session: ClientSession,
        mode: IOMode,
        into out: inout ByteBuffer,
        insideExec: Bool = false
    ) -> (result: ExecutionResult, wrote: Bool) {
        defer { session.recordCommand(Self.commandName(spec, arguments), at: cache.now()) }
        switch session.state.receive(spec, arguments: arguments, locked: isLocked(session)) {
        case .reject(var message):
            if let spec, spec.flags.contains([.isolated, .transactionControl]) {
                // A refused EXEC ends the transaction: Redis replies EXECABORT with the reason.
                watches.unwatch(session.state.abortTransaction().map(\.key), session: session.id)
                let reason = message.hasPrefix("ERR ") ? message.dropFirst(4) : Substring(message)
                message = "EXECABORT Transaction discarded because of: \(reason)"
            }
            out.writeRESPError(message)
            let code = String(message.prefix { $0 != " " })
            if let spec { countRejected(spec, arguments, code: code) } else { commandStatistics.countError(code: code) }
            return (.replied, false)
        case .queue:
            out.writeRESPSimpleString("QUEUED")
            return (.replied, false)
        case .run:
            break
        }
        guard let spec else { return (.replied, false) }  // receive rejects unknown commands
        if insideExec {
            return run(spec, arguments, session: session, mode: mode, into: &out)
        }
        if spec.flags.contains(.isolated) {
            return gate.exclusive { run(spec, arguments, session: session, mode: mode, into: &out) }
        }
        return gate.shared { run(spec, arguments, session: session, mode: mode, into: &out) }
    }

    private func run(
        _ spec: CommandSpec,
        _ arguments: [ByteBuffer],
        session: ClientSession,
        mode: IOMode,
        into out: inout ByteBuffer
    ) -> (result: ExecutionResult, wrote: Bool) {
        let mark = out.writerIndex
        var call = CommandCall(
            arguments: arguments,
            out: RESPReplyWriter(buffer: ByteBuffer(), version: session.state.protocolVersion),
            mode: mode,
            server: self,
            session: session
        )
        swap(&call.out.buffer, &out)
        var result = ExecutionResult.replied
        var refused = false
        let started = NIODeadline.now()
        do {
            if spec.flags.contains(.write), let refusal = cache.writeRefusal() {
                // Wrote nothing: the error is not held for durability (under --fsync always it would wait for L3).
                refused = true
                throw CommandError("IOERR " + refusal)
            }
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
            return (result, false)
        }
        if !spec.flags.contains(.admin) {
            monitors.feed(arguments, time: cache.now())
        }
        observe(spec, arguments, session: session, since: started, reply: out, at: mark)
        return (result, spec.flags.contains(.write) && !refused)
    }

    /// Whether the client must authenticate before anything but AUTH, HELLO and QUIT: it has not, and a password is
    /// required (a reload that removes the password frees clients that were waiting, as in Redis).
    func isLocked(_ session: ClientSession) -> Bool {
        !session.state.authenticated && access.requiresPassword
    }

    /// Where a request runs, from the command table alone: a command that scans the whole cache, or names more
    /// than one key, runs whole off the event loop when there are disk tiers (so a retry never repeats half of
    /// it), on the bulk lane when it is long (`CommandFlags.bulk`, or more than `bulkCommandKeys` keys); an EXEC
    /// runs where the most demanding of its queued commands would; anything else starts on the event loop.
    /// A request that is only queued (inside MULTI) or refused (a client that must authenticate first) stays on
    /// the loop.
    func placement(of spec: CommandSpec?, arguments: [ByteBuffer], session: ClientSession) -> Placement {
        guard cache.hasDiskTiers, let spec, !isLocked(session), spec.accepts(argumentCount: arguments.count) else {
            return .eventLoop
        }
        if session.state.inTransaction {
            guard spec.flags.contains(.transactionControl) else { return .eventLoop }  // it is only queued
        }
        if spec.flags.contains([.isolated, .transactionControl]), let queued = session.state.transaction?.queued {
            var keys = 0
            var placement = Placement.eventLoop
            for command in queued {
                guard let queuedSpec = commands.lookup(command[0]) else { continue }
                let count = queuedSpec.keyCount(argumentCount: command.count)
                keys += count
                if queuedSpec.flags.contains(.bulk) { return .bulk }
                if queuedSpec.flags.contains(.blindWrite) { continue }
                if count > 0 || queuedSpec.flags.contains(.wholeCache) { placement = .blocking }
            }
            return keys > live.bulkCommandKeys ? .bulk : placement
        }
        let keys = spec.keyCount(argumentCount: arguments.count)
        if spec.flags.contains(.blindWrite) { return .eventLoop }
        if spec.flags.contains(.bulk) || keys > live.bulkCommandKeys { return .bulk }
        if spec.flags.contains(.wholeCache) || keys > 1 { return .blocking }
        return .eventLoop
    }

    /// The name CLIENT LIST shows in `cmd`: lowercase, with the subcommand of a container command
    /// (`client|list`), `NULL` for an unknown command.
    static func commandName(_ spec: CommandSpec?, _ arguments: [ByteBuffer]) -> String {
        guard let spec else { return "NULL" }
        guard arguments.count > 1, let subcommand = spec.subcommand(arguments[1]) else { return spec.name }
        return spec.name + "|" + subcommand.name
    }
}
