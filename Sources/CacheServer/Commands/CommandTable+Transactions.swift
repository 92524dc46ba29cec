import CacheProtocol
import NIOCore
import Tiers

extension CommandTable {
    /// MULTI/EXEC queue commands and run them back to back with one array reply. Unlike Redis, other clients'
    /// commands may interleave with an EXEC: it batches, it does not isolate.
    static let transactionCommands: [CommandSpec] = [
        CommandSpec(
            "multi",
            arity: 1,
            flags: [.fast, .transactionControl],
            group: "transactions",
            summary: "Starts queuing commands for EXEC."
        ) { call in
            guard call.session.transaction == nil else { throw CommandError("ERR MULTI calls can not be nested") }
            call.session.transaction = []
            call.session.transactionFailed = false
            call.ok()
        },
        CommandSpec(
            "exec",
            arity: 1,
            flags: [.write, .transactionControl, .wholeCache],
            group: "transactions",
            summary: "Runs the queued commands in order; replies an array of their replies."
        ) { call in
            guard let queued = call.session.transaction else { throw CommandError("ERR EXEC without MULTI") }
            call.session.transaction = nil
            if call.session.transactionFailed {
                call.session.transactionFailed = false
                throw CommandError("EXECABORT Transaction discarded because of previous errors.")
            }
            call.out.writeRESPArrayHeader(queued.count)
            let server = call.server
            let session = call.session
            let mode = call.mode
            for arguments in queued {
                let (result, _) = server.execute(arguments, session: session, mode: mode, into: &call.out.buffer)
                if result == .wouldBlock {
                    // Only reachable without disk access allowed; EXEC runs off the loop when disk tiers exist.
                    call.out.writeRESPError("ERR command needs disk access inside MULTI")
                }
            }
        },
        CommandSpec(
            "discard",
            arity: 1,
            flags: [.fast, .transactionControl],
            group: "transactions",
            summary: "Drops the queued commands."
        ) { call in
            guard call.session.transaction != nil else { throw CommandError("ERR DISCARD without MULTI") }
            call.session.transaction = nil
            call.session.transactionFailed = false
            call.ok()
        },
    ]
}
