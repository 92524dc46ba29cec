import CacheProtocol
import FuzzSupport
import NIOCore

@testable import CacheServer

/// Runs requests against a server the way `ConnectionHandler` does, and checks each reply.
struct RequestRunner {
    let server: ServerContext
    let session: ClientSession
    /// The replies written so far; each request's reply is checked as soon as it is written.
    private var out = ByteBuffer()

    init(server: ServerContext, session: ClientSession) {
        self.server = server
        self.session = session
    }

    /// Runs one request and checks that it wrote exactly one well-formed reply.
    ///
    /// - Parameter arguments: The command name and its arguments.
    /// - Returns: What the command asked of the connection.
    @discardableResult
    mutating func run(_ arguments: [ByteBuffer]) -> ExecutionResult {
        let spec = server.commands.lookup(arguments[0])
        let queuedBefore = spec?.name == "exec" ? session.state.transaction?.queued.count : nil
        let mark = out.writerIndex
        var result: ExecutionResult
        if server.placement(of: spec, arguments: arguments, session: session) != .eventLoop {
            result = server.execute(arguments, spec: spec, session: session, mode: .mayBlock, into: &out).result
        } else {
            let mode = server.eventLoopMode
            result = server.execute(arguments, spec: spec, session: session, mode: mode, into: &out).result
            if result == .wouldBlock {
                fuzzCheck(server.cache.hasDiskTiers, "a memory-only cache asked for the disk")
                fuzzCheck(out.writerIndex == mark, "a command that would block wrote a reply")
                result = server.execute(arguments, spec: spec, session: session, mode: .mayBlock, into: &out).result
            }
        }
        fuzzCheck(result != .wouldBlock, "a command run with .mayBlock asked to block")
        checkOneReply(from: mark, for: arguments, queued: queuedBefore)
        // Keep the buffer small: only the latest reply matters.
        out.clear()
        return result
    }

    /// The bytes written since `mark` are one complete RESP reply and nothing else.
    private func checkOneReply(from mark: Int, for arguments: [ByteBuffer], queued: Int?) {
        let name = String(buffer: arguments[0]).prefix(32)
        var reply = out.getSlice(at: mark, length: out.writerIndex - mark)!
        var parser = RESPReplyParser()
        let value: RESPValue?
        do {
            value = try parser.next(&reply)
        } catch {
            fuzzCheck(false, "\(name): malformed reply (\(error)): \(String(buffer: reply).prefix(200))")
            return
        }
        fuzzCheck(value != nil, "\(name): no reply, or an incomplete one: \(String(buffer: reply).prefix(200))")
        fuzzCheck(reply.readableBytes == 0, "\(name): more than one reply: \(String(buffer: reply).prefix(200))")
        if let queued, case .array(let elements?) = value {
            fuzzCheck(elements.count == queued, "EXEC of \(queued) commands replied \(elements.count) elements")
        }
        if let value { Self.checkErrorCodes(value, name) }
    }

    /// Every error, also inside EXEC's array, starts with an upper-case code (`ERR`, `WRONGTYPE`, ...): clients
    /// such as redis-py pick the exception class from it.
    private static func checkErrorCodes(_ value: RESPValue, _ name: Substring) {
        switch value {
        case .error(let message):
            let code = message.prefix { $0 != " " }
            fuzzCheck(
                !code.isEmpty && code.utf8.allSatisfy { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) },
                "\(name): an error without an upper-case code: -\(message.prefix(200))"
            )
        case .array(let elements?):
            for element in elements { checkErrorCodes(element, name) }
        default:
            break
        }
    }
}
