import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// MONITOR: every command the server runs, with its time and client, written to every monitoring connection.
///
/// Lines have Redis's form, `+1764038400.123456 [0 unix:/run/cachesrvd.sock] "SET" "k" "v"`, with each argument
/// quoted and escaped as Redis's `sdscatrepr` does, and AUTH's and HELLO AUTH's credentials (and any credential
/// field value, as the slow log hides them) shown as `"(redacted)"`. While nobody monitors, a command costs one
/// atomic load.
final class MonitorFeed: Sendable {
    /// Where a monitor's lines go: writes one line and returns false when the monitor cannot keep up (its channel
    /// stopped being writable), so the feed drops it, as Redis disconnects a client over its output buffer limit.
    typealias Sink = @Sendable (ByteBuffer) -> Bool

    private let sinks = NIOLockedValueBox([Int: Sink]())
    private let count = Synchronization.Atomic<Int>(0)
    private let socketPath: String

    init(socketPath: String) {
        self.socketPath = socketPath
    }

    func add(session id: Int, sink: @escaping Sink) {
        sinks.withLockedValue { sinks in
            if sinks.updateValue(sink, forKey: id) == nil { count.add(1, ordering: .relaxed) }
        }
    }

    func remove(session id: Int) {
        sinks.withLockedValue { sinks in
            if sinks.removeValue(forKey: id) != nil { count.subtract(1, ordering: .relaxed) }
        }
    }

    var monitorCount: Int { count.load(ordering: .relaxed) }

    /// Feeds one command that ran at `time` (Unix seconds) to every monitor, the one that ran it included, as
    /// Redis does.
    /// Sends the command to every MONITOR client; `time` is read only when there is one (a clock read per command
    /// was a measurable share of a pipelined GET).
    func feed(_ arguments: [ByteBuffer], time: @autoclosure () -> Double) {
        guard count.load(ordering: .relaxed) > 0 else { return }
        let targets = sinks.withLockedValue { $0 }
        let line = Self.line(arguments, time: time(), socketPath: socketPath)
        for (id, sink) in targets where !sink(line) {
            remove(session: id)
        }
    }

    /// One monitor line, CRLF included.
    static func line(_ arguments: [ByteBuffer], time: Double, socketPath: String) -> ByteBuffer {
        var line = ByteBuffer()
        let seconds = Int(time.rounded(.down))
        let micros = min(999_999, Int(((time - Double(seconds)) * 1_000_000).rounded()))
        let fraction = String(micros)
        line.writeString("+\(seconds).\(String(repeating: "0", count: 6 - fraction.utf8.count))\(fraction) ")
        line.writeString("[0 unix:\(socketPath)]")
        let secret = SlowLog.secretPositions(arguments)
        for (index, argument) in arguments.enumerated() {
            line.writeString(" ")
            if secret.contains(index) {
                line.writeString("\"(redacted)\"")
            } else {
                writeQuoted(argument.readableBytesView, into: &line)
            }
        }
        line.writeString("\r\n")
        return line
    }

    /// Redis's `sdscatrepr`: double quotes, `\\`, `\"`, `\n`, `\r`, `\t`, `\a`, `\b`, and `\xHH` for any other
    /// byte that is not printable ASCII.
    static func writeQuoted(_ bytes: some Collection<UInt8>, into line: inout ByteBuffer) {
        line.writeInteger(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): line.writeString("\\\\")
            case UInt8(ascii: "\""): line.writeString("\\\"")
            case UInt8(ascii: "\n"): line.writeString("\\n")
            case UInt8(ascii: "\r"): line.writeString("\\r")
            case UInt8(ascii: "\t"): line.writeString("\\t")
            case 7: line.writeString("\\a")
            case 8: line.writeString("\\b")
            case 0x20...0x7E: line.writeInteger(byte)
            default:
                let hex = Array("0123456789abcdef".utf8)
                line.writeBytes([UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            }
        }
        line.writeInteger(UInt8(ascii: "\""))
    }
}
