import BinaryText

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's standard streams, used without Foundation.
///
/// Standard output goes through `print` (buffered by the Swift runtime, flushed at exit); standard error is written
/// unbuffered with `write(2)`, so messages and progress appear at once.
enum Console {
    /// Writes `text` and a newline to stdout: the bytes it stands for (``BinaryText``), so a value of any bytes is
    /// printed exactly as the server holds it.
    static func output(_ text: String) {
        var bytes = BinaryText.bytes(of: text)
        if let utf8 = String(validating: bytes, as: UTF8.self) {
            print(utf8)
            return
        }
        // Not text: flush what print buffered, then write the bytes themselves.
        fflush(nil)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { writeAll($0, to: 1) }
    }

    /// Writes `message` and a newline to stderr, prefixed with `cachectl: `.
    static func error(_ message: String) {
        writeError("cachectl: \(message)\n")
    }

    /// Writes `text` to stderr as is (no newline added).
    static func writeError(_ text: String) {
        var text = text
        text.withUTF8 { writeAll(UnsafeRawBufferPointer($0), to: 2) }
    }

    /// Writes all of `bytes` to `descriptor` (retrying after EINTR; giving up on any other error).
    private static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }

    /// Whether stderr is a terminal (progress lines are drawn only then).
    static var stderrIsTerminal: Bool {
        isatty(2) == 1
    }

    /// The C library's text for an `errno` value, e.g. "No such file or directory".
    static func describe(errno code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }

    /// The value of environment variable `name`, or nil when unset.
    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}
