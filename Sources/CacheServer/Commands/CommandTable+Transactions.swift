import CacheProtocol
import NIOCore
import Tiers

extension CommandTable {
    /// MULTI/EXEC/DISCARD and WATCH/UNWATCH, as in Redis: EXEC runs the queued commands while no other command
    /// runs (`TransactionGate`), and aborts with a null reply when a watched key changed since WATCH.
    static let transactionCommands: [CommandSpec] = [
        CommandSpec(
            "multi",
            arity: 1,
            flags: [.fast, .transactionControl],
            group: "transactions",
            summary: "Starts queuing commands for EXEC."
        ) { call in
            try call.session.state.beginTransaction()
            call.ok()
        },
        CommandSpec(
            "exec",
            arity: 1,
            flags: [.write, .transactionControl, .isolated],
            group: "transactions",
            summary: "Runs the queued commands in order, isolated from other clients; null if a watched key changed."
        ) { call in try Transactions.exec(&call) },
        CommandSpec(
            "discard",
            arity: 1,
            flags: [.fast, .transactionControl],
            group: "transactions",
            summary: "Drops the queued commands and unwatches every key."
        ) { call in
            let keys = try call.session.state.discardTransaction()
            call.server.watches.unwatch(keys.map(\.key), session: call.session.id)
            call.ok()
        },
        CommandSpec(
            "watch",
            arity: -2,
            flags: [.fast, .readonly, .transactionControl],
            keys: (1, -1, 1),
            group: "transactions",
            syntax: "key [key ...]",
            summary: "Makes the next EXEC abort if any of these keys changes (or expires) before it."
        ) { call in try Transactions.watch(&call) },
        CommandSpec(
            "unwatch",
            arity: 1,
            flags: [.fast],
            group: "transactions",
            summary: "Forgets every watched key."
        ) { call in
            let keys = call.session.state.unwatchAll()
            call.server.watches.unwatch(keys.map(\.key), session: call.session.id)
            call.ok()
        },
    ]
}

enum Transactions {
    static func watch(_ call: inout CommandCall) throws {
        guard !call.session.state.inTransaction else { throw CommandError("ERR WATCH inside MULTI is not allowed") }
        let names = (1..<call.count).map { call.binary($0) }
        // Registered before the keys are read: a change in between marks the session dirty rather than being lost.
        let added = call.server.watches.watch(names, session: call.session.id)
        let now = call.cache.now()
        var keys: [ConnectionState.WatchedKey] = []
        do {
            for key in names {
                let entry = try call.tier { () throws(TieredCacheError) in try call.cache.peek(key, mode: call.mode) }
                keys.append(.init(key: key, expiresAt: entry.flatMap { $0.isExpired(at: now) ? nil : $0.expiresAt }))
            }
        } catch {
            // Nothing was watched: take back what this call registered (a retry off the loop registers again).
            call.server.watches.forget(added, session: call.session.id)
            throw error
        }
        try call.session.state.watch(keys)
        call.ok()
    }

    static func exec(_ call: inout CommandCall) throws {
        let server = call.server
        let session = call.session
        switch session.state.endTransaction() {
        case .notInTransaction:
            throw CommandError("ERR EXEC without MULTI")
        case .abortedByErrors:
            server.watches.unwatch(session.state.unwatchAll().map(\.key), session: session.id)
            throw CommandError("EXECABORT Transaction discarded because of previous errors.")
        case .run(let queued, let watched):
            let mode = call.mode
            // The gate is held alone for all of it (`CommandFlags.isolated`): nothing of another client runs until
            // the last queued command has replied.
            let now = server.cache.now()
            let expired = watched.contains { key in key.expiresAt.map { now >= $0 } ?? false }
            let dirty = expired || server.watches.isDirty(session: session.id)
            server.watches.unwatch(session.state.unwatchAll().map(\.key), session: session.id)
            if dirty {
                call.out.writeRESPNullArray()
                return
            }
            call.out.writeRESPArrayHeader(queued.count)
            for arguments in queued {
                let (result, _) = server.execute(
                    arguments,
                    spec: server.commands.lookup(arguments[0]),
                    session: session,
                    mode: mode,
                    into: &call.out.buffer,
                    insideExec: true
                )
                if result == .wouldBlock {
                    // Not reachable: an EXEC with keyed commands runs off the loop when disk tiers exist.
                    call.out.writeRESPError("ERR command needs disk access inside MULTI")
                }
            }
        }
    }
}
