import BinaryText
import CacheProtocol
import NIOCore
import Tiers

/// One execution of a command: its arguments, where its reply goes, and what it may touch.
///
/// A command reads and checks everything first and writes its reply last: when it throws, the dispatcher discards
/// whatever it wrote and replies the error instead (or retries it off the event loop for `wouldBlock`).
struct CommandCall {
    /// The arguments, the command name first.
    let arguments: [ByteBuffer]
    /// Where the reply goes, in the connection's protocol.
    var out: RESPReplyWriter
    /// Whether disk tiers may be read.
    let mode: IOMode
    let server: ServerContext
    let session: ClientSession
    /// Set by QUIT: close the connection once the reply is written.
    var closeAfterReply = false

    var cache: TieredCache { server.cache }

    var count: Int { arguments.count }

    /// Argument `index` as text (UTF-8, invalid bytes replaced): for names, options and messages, never for keys,
    /// values or fields.
    func string(_ index: Int) -> String {
        String(buffer: arguments[index])
    }

    /// Argument `index` as the String that stands for its bytes, losslessly (``BinaryText``): for keys, values and
    /// fields, so every byte a client sends comes back unchanged and distinct keys stay distinct.
    func binary(_ index: Int) -> String {
        BinaryText.string(from: arguments[index].readableBytesView)
    }

    /// Argument `index` uppercased, for option names.
    func option(_ index: Int) -> String {
        String(buffer: arguments[index]).uppercased()
    }

    /// Argument `index` as a signed 64-bit integer, Redis's `string2ll` rules.
    func integer(_ index: Int, error: CommandError = .notInteger) throws -> Int {
        guard let value = RedisNumber.parseInteger(arguments[index].readableBytesView) else { throw error }
        return value
    }

    /// Argument `index` as a finite double.
    func double(_ index: Int) throws -> Double {
        guard let value = RedisNumber.parseDouble(arguments[index].readableBytesView) else {
            throw CommandError.notFloat
        }
        return value
    }

    /// Runs a cache call, turning its errors into replies (`wouldBlock` passes through for the dispatcher).
    func tier<R>(_ body: () throws(TieredCacheError) -> R) throws -> R {
        do {
            return try body()
        } catch .wouldBlock {
            throw TieredCacheError.wouldBlock
        } catch {
            throw CommandError(error)
        }
    }

    mutating func ok() {
        out.writeRESPSimpleString("OK")
    }
}
