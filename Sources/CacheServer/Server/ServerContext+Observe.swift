import NIOCore

// What the dispatcher records of each command: commandstats, errorstats, SLOWLOG and LATENCY.

extension ServerContext {
    /// Records a command that ran: its time, whether its reply (written at `mark` of `reply`) is an error, and,
    /// when slow enough, a SLOWLOG entry and a latency sample.
    func observe(
        _ spec: CommandSpec,
        _ arguments: [ByteBuffer],
        session: ClientSession,
        since started: NIODeadline,
        reply: ByteBuffer,
        at mark: Int
    ) {
        let nanoseconds = Int(max(0, (NIODeadline.now() - started).nanoseconds))
        let counters = commandStatistics.counters(for: spec, arguments: arguments)
        if let code = Self.errorCode(reply, at: mark) {
            commandStatistics.countError(code: code)
            if Self.isRejection(reply, at: mark) {
                // A subcommand's arity or an unknown subcommand: refused before running, as Redis counts it.
                counters?.rejected.add(1, ordering: .relaxed)
                return
            }
            counters?.failed.add(1, ordering: .relaxed)
        }
        counters?.calls.add(1, ordering: .relaxed)
        counters?.nanoseconds.add(nanoseconds, ordering: .relaxed)
        let microseconds = nanoseconds / 1000
        let milliseconds = microseconds / 1000
        let wantsSlowLog = spec.name != "exec" && slowLog.wants(microseconds: microseconds)
        let wantsLatency = latency.wants(milliseconds: milliseconds)
        guard wantsSlowLog || wantsLatency else { return }
        let timestamp = Int(cache.now())
        if wantsSlowLog {
            slowLog.record(
                arguments,
                microseconds: microseconds,
                timestamp: timestamp,
                peer: session.peer,
                clientName: session.info.name
            )
        }
        if wantsLatency {
            let event = spec.flags.contains(.fast) ? "fast-command" : "command"
            latency.record(event, milliseconds: milliseconds, timestamp: timestamp)
        }
    }

    /// Counts a call refused before it ran: for its number of arguments (`ERR`), or because the client has not
    /// authenticated (`NOAUTH`, which is what an operator watches for access attempts).
    func countRejected(_ spec: CommandSpec, _ arguments: [ByteBuffer], code: String = "ERR") {
        commandStatistics.counters(for: spec, arguments: arguments)?.rejected.add(1, ordering: .relaxed)
        commandStatistics.countError(code: code)
    }

    /// The error replies Redis gives before running a command (it counts those calls as rejected, not failed).
    private static let rejections = ["-ERR wrong number of arguments for ", "-ERR unknown subcommand "]

    /// Whether the error reply at `mark` is one Redis gives before running the command.
    static func isRejection(_ reply: ByteBuffer, at mark: Int) -> Bool {
        rejections.contains { prefix in
            reply.getBytes(at: mark, length: min(prefix.utf8.count, reply.writerIndex - mark))
                .map { $0.elementsEqual(prefix.utf8) } ?? false
        }
    }

    /// The code of an error reply (`ERR`, `WRONGTYPE`...) written at `mark`, or nil if the reply is no error.
    static func errorCode(_ reply: ByteBuffer, at mark: Int) -> String? {
        guard reply.writerIndex > mark, reply.getInteger(at: mark, as: UInt8.self) == UInt8(ascii: "-") else {
            return nil
        }
        let available = min(reply.writerIndex - mark - 1, 64)
        guard let bytes = reply.getBytes(at: mark + 1, length: available) else { return nil }
        let code = bytes.prefix { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }
        return code.isEmpty ? "ERR" : String(decoding: code, as: UTF8.self)
    }
}
