import Foundation
import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// Where the daemon's log lines go, and at which level: standard error, or `--log-file`, which SIGHUP and SIGUSR1
/// reopen (after logrotate moved it away) and whose level a reload can change.
final class LogOutput: Sendable {
    private struct State {
        var level: Logger.Level
        var path: String?
        var descriptor: Int32
    }

    private let state: NIOLockedValueBox<State>

    /// - Throws: `ConfigFileError` when the log file cannot be opened.
    init(level: Logger.Level, path: String?) throws {
        let descriptor = try path.map(Self.open) ?? STDERR_FILENO
        state = NIOLockedValueBox(State(level: level, path: path, descriptor: descriptor))
    }

    var level: Logger.Level { state.withLockedValue { $0.level } }

    /// Changes the level only (CONFIG SET loglevel).
    func setLevel(_ level: Logger.Level) {
        state.withLockedValue { $0.level = level }
    }

    /// Applies a reloaded level and path, and reopens the file (a rotated file is replaced by a new one).
    ///
    /// - Throws: `ConfigFileError` when the new file cannot be opened; the old destination stays in use then.
    func reopen(level: Logger.Level, path: String?) throws {
        let descriptor = try path.map(Self.open) ?? STDERR_FILENO
        let old = state.withLockedValue { state -> Int32 in
            let old = state.descriptor
            state = State(level: level, path: path, descriptor: descriptor)
            return old
        }
        if old != STDERR_FILENO, old != descriptor { close(old) }
    }

    /// Writes one whole line with one `write`, so concurrent lines never interleave (O_APPEND).
    func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        state.withLockedValue { state in
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = Glibc.write(state.descriptor, raw.baseAddress! + offset, raw.count - offset)
                    if written < 0, errno == EINTR { continue }
                    guard written > 0 else { return }
                    offset += written
                }
            }
        }
    }

    private static func open(_ path: String) throws -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw ConfigFileError("cannot open the log file \(path): \(String(cString: strerror(errno)))")
        }
        return fd
    }
}

/// A swift-log handler writing `timestamp level label: [metadata] message` lines to a `LogOutput`, whose level it
/// follows (so a reload changes the level of every logger at once).
struct LogOutputHandler: LogHandler {
    let label: String
    let output: LogOutput
    var metadata: Logger.Metadata = [:]

    var logLevel: Logger.Level {
        get { output.level }
        set {}  // the level is the output's, changed by a reload
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let rendered =
            merged.isEmpty
            ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        output.write("\(Self.timestamp()) \(event.level) \(label):\(rendered) \(event.message)")
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var time = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &time)
        let millis = now.tv_nsec / 1_000_000
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(time.tm_year + 1900, 4))-\(pad(time.tm_mon + 1, 2))-\(pad(time.tm_mday, 2))T"
            + "\(pad(time.tm_hour, 2)):\(pad(time.tm_min, 2)):\(pad(time.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }
}
