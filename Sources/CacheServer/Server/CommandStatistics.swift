import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// Per-command figures for INFO commandstats and error figures for INFO errorstats, as Redis 7 keeps them.
///
/// A command's counters are atomics (two event loops and the blocking queues update the same command at once);
/// error codes are rarer and sit behind a lock.
final class CommandStatistics: Sendable {
    /// The counters of one command (or one `container|subcommand`).
    final class Counters: Sendable {
        /// Calls that ran (a call queued by MULTI counts when EXEC runs it).
        let calls = Atomic<Int>(0)
        /// Time spent running them, nanoseconds.
        let nanoseconds = Atomic<Int>(0)
        /// Calls refused before they ran (wrong number of arguments).
        let rejected = Atomic<Int>(0)
        /// Calls that ran and replied an error.
        let failed = Atomic<Int>(0)
    }

    /// One line of INFO commandstats.
    struct Figures: Equatable, Sendable {
        var name: String
        var calls: Int
        var microseconds: Int
        var rejected: Int
        var failed: Int
    }

    /// The most distinct error codes kept (Redis's 128); further codes are not counted by code.
    static let maxErrorCodes = 128

    /// A command's counters, and its subcommands' when Redis reports them apart.
    private struct Entry: Sendable {
        var name: String
        var counters = Counters()
        var subcommands: [String: Counters]? = nil
    }

    /// Each command's entry at its `CommandSpec.serial` (nil for a spec of another table), so that a call finds its
    /// counters without hashing the command's name.
    private let bySerial: [Entry?]
    private let errors = NIOLockedValueBox([String: Int]())

    /// Counters for each command of `table`, and for each `container|subcommand` that Redis reports apart.
    init(table: CommandTable) {
        var bySerial = [Entry?](repeating: nil, count: (table.all.map(\.serial).max() ?? -1) + 1)
        for spec in table.all {
            var entry = Entry(name: spec.name)
            if !spec.subcommands.isEmpty {
                entry.subcommands = Dictionary(uniqueKeysWithValues: spec.subcommands.map { ($0.name, Counters()) })
            }
            bySerial[spec.serial] = entry
        }
        self.bySerial = bySerial
    }

    /// The counters a call of `spec` updates: its `container|subcommand`'s when counted apart, else its command's
    /// (nil for a spec not in the table).
    func counters(for spec: CommandSpec, arguments: [ByteBuffer]) -> Counters? {
        guard spec.serial < bySerial.count, let entry = bySerial[spec.serial] else { return nil }
        if let subcommands = entry.subcommands, arguments.count > 1, arguments[1].readableBytes <= 16,
            let sub = subcommands[String(buffer: arguments[1]).lowercased()]
        {
            return sub
        }
        return entry.counters
    }

    /// Counts an error reply by its code (the first word: `ERR`, `WRONGTYPE`, ...).
    func countError(code: String) {
        errors.withLockedValue { errors in
            if errors[code] != nil || errors.count < Self.maxErrorCodes {
                errors[code, default: 0] += 1
            }
        }
    }

    /// Every command (or `container|subcommand`) called or rejected at least once, by name.
    var figures: [Figures] {
        var all: [(String, Counters)] = []
        for case let entry? in bySerial {
            all.append((entry.name, entry.counters))
            for (sub, counters) in entry.subcommands ?? [:] {
                all.append((entry.name + "|" + sub, counters))
            }
        }
        return all.compactMap { name, counter in
            let calls = counter.calls.load(ordering: .relaxed)
            let rejected = counter.rejected.load(ordering: .relaxed)
            guard calls > 0 || rejected > 0 else { return nil }
            return Figures(
                name: name,
                calls: calls,
                microseconds: counter.nanoseconds.load(ordering: .relaxed) / 1000,
                rejected: rejected,
                failed: counter.failed.load(ordering: .relaxed)
            )
        }
        .sorted { $0.name < $1.name }
    }

    /// CONFIG RESETSTAT: every counter back to zero.
    func reset() {
        for case let entry? in bySerial {
            for counters in [entry.counters] + Array((entry.subcommands ?? [:]).values) {
                counters.calls.store(0, ordering: .relaxed)
                counters.nanoseconds.store(0, ordering: .relaxed)
                counters.rejected.store(0, ordering: .relaxed)
                counters.failed.store(0, ordering: .relaxed)
            }
        }
        errors.withLockedValue { $0.removeAll() }
    }

    /// Error replies by code.
    var errorCounts: [String: Int] {
        errors.withLockedValue { $0 }
    }

    /// INFO commandstats lines, Redis's format: `cmdstat_get:calls=2,usec=15,usec_per_call=7.50,...`.
    var infoLines: [(String, String)] {
        figures.map { figure in
            let perCall = figure.calls == 0 ? 0 : Double(figure.microseconds) / Double(figure.calls)
            return (
                "cmdstat_" + figure.name,
                "calls=\(figure.calls),usec=\(figure.microseconds),usec_per_call=\(ServerInfo.fixed(perCall, decimals: 2)),"
                    + "rejected_calls=\(figure.rejected),failed_calls=\(figure.failed)"
            )
        }
    }
}
