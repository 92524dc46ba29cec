import CacheProtocol
import NIOCore

extension CommandTable {
    static let observabilityCommands: [CommandSpec] = [
        CommandSpec(
            "slowlog",
            arity: -2,
            flags: [.admin],
            group: "server",
            syntax: "GET [count] | LEN | RESET | HELP",
            summary: "Commands slower than slowlog-log-slower-than microseconds, newest first, secrets redacted.",
            subcommands: [("get", -2), ("len", 2), ("reset", 2), ("help", 2)]
        ) { call in try SlowLogCommand.run(&call) },
        CommandSpec(
            "latency",
            arity: -2,
            flags: [.admin],
            group: "server",
            syntax: "LATEST | HISTORY event | RESET [event ...] | HELP",
            summary: "Latency samples at or above latency-monitor-threshold milliseconds (0: off), by event.",
            subcommands: [("latest", 2), ("history", 3), ("reset", -2), ("help", 2)]
        ) { call in try LatencyCommand.run(&call) },
    ]
}

/// Redis 7's errors for a container command's subcommands.
enum Subcommand {
    static func unknown(_ call: CommandCall) -> CommandError {
        CommandError(
            "ERR unknown subcommand '\(call.string(1).prefix(128))'. Try \(call.string(0).uppercased()) HELP."
        )
    }

    static func help(_ call: inout CommandCall, _ lines: [String]) {
        let header = "\(call.string(0).uppercased()) <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
        let all = [header] + lines + ["HELP", "    Prints this help."]
        call.out.writeRESPArrayHeader(all.count)
        for line in all {
            call.out.writeRESPSimpleString(line)
        }
    }
}

/// SLOWLOG GET / LEN / RESET / HELP, as Redis 7.0.
enum SlowLogCommand {
    static func run(_ call: inout CommandCall) throws {
        let slowLog = call.server.slowLog
        switch call.option(1) {
        case "GET":
            guard call.count <= 3 else { throw CommandError.wrongArity("slowlog|get") }
            var count: Int? = 10
            if call.count == 3 {
                // Redis replies the same text for a count that is no integer.
                let invalid = CommandError("ERR count should be greater than or equal to -1")
                let value = try call.integer(2, error: invalid)
                guard value >= -1 else { throw invalid }
                count = value == -1 ? nil : value
            }
            let entries = slowLog.newest(count)
            call.out.writeRESPArrayHeader(entries.count)
            for entry in entries {
                call.out.writeRESPArrayHeader(6)
                call.out.writeRESPInteger(entry.id)
                call.out.writeRESPInteger(entry.timestamp)
                call.out.writeRESPInteger(entry.microseconds)
                call.out.writeRESPArrayHeader(entry.arguments.count)
                for argument in entry.arguments {
                    call.out.writeRESPBulkString(argument)
                }
                call.out.writeRESPBulkString(entry.peer)
                call.out.writeRESPBulkString(entry.clientName)
            }
        case "LEN":
            call.out.writeRESPInteger(slowLog.count)
        case "RESET":
            slowLog.reset()
            call.ok()
        case "HELP":
            Subcommand.help(
                &call,
                [
                    "GET [<count>]",
                    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                    "    Entries are made of:",
                    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                    "    client name",
                    "LEN",
                    "    Return the length of the slowlog.",
                    "RESET",
                    "    Reset the slowlog.",
                ]
            )
        default:
            throw Subcommand.unknown(call)
        }
    }
}

/// LATENCY LATEST / HISTORY / RESET / HELP, as Redis 7.0.
enum LatencyCommand {
    static func run(_ call: inout CommandCall) throws {
        let monitor = call.server.latency
        switch call.option(1) {
        case "LATEST":
            let latest = monitor.latest
            call.out.writeRESPArrayHeader(latest.count)
            for event in latest {
                call.out.writeRESPArrayHeader(4)
                call.out.writeRESPBulkString(event.event)
                call.out.writeRESPInteger(event.timestamp)
                call.out.writeRESPInteger(event.latest)
                call.out.writeRESPInteger(event.max)
            }
        case "HISTORY":
            let samples = monitor.history(call.string(2))
            call.out.writeRESPArrayHeader(samples.count)
            for sample in samples {
                call.out.writeRESPArrayHeader(2)
                call.out.writeRESPInteger(sample.timestamp)
                call.out.writeRESPInteger(sample.milliseconds)
            }
        case "RESET":
            call.out.writeRESPInteger(monitor.reset((2..<call.count).map { call.string($0) }))
        case "HELP":
            Subcommand.help(
                &call,
                [
                    "HISTORY <event>",
                    "    Return time-latency samples for the <event> class.",
                    "LATEST",
                    "    Return the latest latency samples for all events.",
                    "RESET [<event> ...]",
                    "    Reset latency data of one or more <event> classes.",
                    "    (default: reset all data for all event classes)",
                ]
            )
        default:
            throw Subcommand.unknown(call)
        }
    }
}
