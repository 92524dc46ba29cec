import CacheProtocol
import FuzzSupport
import NIOCore

@testable import CacheServer

/// libFuzzer's entry point for the command layer.
///
/// The input is what one client sends. Its requests are parsed with the server's limits and run as the connection
/// handler runs them: inline with the server's event-loop mode (`.localReads` by default), again with `.mayBlock` when that would block, and with `.mayBlock`
/// at once for whole-cache commands when disk tiers exist. Every request must produce exactly one well-formed reply,
/// EXEC one element per queued command, and nothing may trap.
///
/// - Parameters:
///   - data: The input bytes.
///   - size: How many.
/// - Returns: 0 (libFuzzer's "keep going").
@_cdecl("LLVMFuzzerTestOneInput")
public func commandFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (server, clock) = FuzzServer.forInput()
    guard let session = server.clients.register(peer: "fuzz", now: server.cache.now()) else {
        fatalError("a session was not unregistered")
    }
    defer { server.clients.unregister(session) }
    var runner = RequestRunner(server: server, session: session)
    if server.cache.hasDiskTiers {
        // The disk variants share one cache between inputs: start each from an empty one.
        runner.run([ByteBuffer(string: "FLUSHALL")])
    }
    var limits = RESPRequestParser.Limits()
    limits.maxInlineLength = server.configuration.maxInlineLength
    limits.maxBulkLength = server.configuration.maxBulkLength
    limits.maxMultibulkLength = server.configuration.maxArguments
    var parser = RESPRequestParser(limits: limits)
    var buffer = ByteBuffer(bytes: UnsafeRawBufferPointer(start: data, count: size))
    while true {
        let request: RESPRequest?
        do {
            request = try parser.next(&buffer)
        } catch {
            break  // the handler replies the error and closes
        }
        guard let request else { break }
        if runner.run(request.arguments) == .close { break }
        // Let entries age between requests so TTLs run out within one input.
        clock?.advance(by: 0.5)
    }
    return 0
}
