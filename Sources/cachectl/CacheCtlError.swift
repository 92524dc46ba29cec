import ArgumentParser
import CacheProtocol

/// A failure that ends a cachectl command: a message for stderr and the documented exit status.
struct CacheCtlError: Error, CustomStringConvertible {
    /// The exit status the process ends with (see `ExitCode+CacheCtl`).
    var exitCode: ExitCode
    /// One line for stderr, without the `cachectl: ` prefix.
    var message: String

    var description: String { message }

    init(_ exitCode: ExitCode, _ message: String) {
        self.exitCode = exitCode
        self.message = message
    }

    /// Nothing was found for `what`; the message is printed only in plain mode.
    static func notFound(_ what: String) -> CacheCtlError {
        CacheCtlError(.notFound, "not found: \(what)")
    }

    /// The server replied `-message`.
    static func server(_ message: String) -> CacheCtlError {
        CacheCtlError(.serverError, message)
    }

    /// The reply to `command` had a shape cachectl does not understand.
    static func unexpectedReply(to command: String, _ reply: RESPValue) -> CacheCtlError {
        var shown = ReplyFormatter.redisCLI(reply).split(separator: "\n").joined(separator: " ")
        if shown.count > 200 {
            shown = String(shown.prefix(200)) + "..."
        }
        return CacheCtlError(.protocolError, "unexpected reply to \(command): \(shown)")
    }

    /// A local file failed: `path` (or "stdin"/"stdout"), what was being done, and `errno`.
    static func io(_ path: String, _ action: String, errno code: Int32) -> CacheCtlError {
        CacheCtlError(.ioError, "cannot \(action) \(path): \(Console.describe(errno: code))")
    }
}
