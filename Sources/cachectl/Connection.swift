import CacheProtocol
import LocalSocket
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A blocking client connection to cachesrvd over a Unix socket.
///
/// Commands are encoded into an output buffer with `enqueue`, written with `flush`, and their replies read back in
/// order with `readReply`; `call` does the three for one command. Pipelining is enqueueing many commands before one
/// flush. A read that waits longer than the timeout fails with exit 75.
///
/// Used from one thread only (cachectl has no other), so it is not `Sendable`.
final class Connection {
    /// The socket path, for messages.
    let path: String
    private let descriptor: Int32
    private let timeout: Double
    private var input: ByteBuffer
    private var output: ByteBuffer
    private var parser = RESPReplyParser()
    /// Replies owed for commands already enqueued.
    private(set) var pendingReplies = 0

    /// Connects to the server listening on `path`.
    ///
    /// - Parameters:
    ///   - path: The server's Unix socket; at most 107 bytes (the kernel's `sun_path` less its NUL).
    ///   - timeout: Seconds a send or a read may block; 0 blocks forever.
    ///   - serverUIDs: The users the socket file and the listening server may belong to.
    /// - Throws: `CacheCtlError` with exit 64 for a path that does not fit, 69 when the connect fails, 77 when the
    ///   socket file or the server belongs to another user (nothing is sent then).
    init(path: String, timeout: Double, serverUIDs: Set<uid_t>) throws(CacheCtlError) {
        self.path = path
        self.timeout = timeout
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let pathBytes = Array(path.utf8)
        guard !pathBytes.isEmpty, !pathBytes.contains(0) else {
            throw CacheCtlError(.usage, "invalid socket path: \"\(path)\"")
        }
        guard pathBytes.count < capacity else {
            throw CacheCtlError(
                .usage,
                "socket path is \(pathBytes.count) bytes, longer than the \(capacity - 1) a Unix socket address "
                    + "holds: \(path)"
            )
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }

        #if os(Linux)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else {
            throw CacheCtlError(.unavailable, "cannot create a socket: \(Console.describe(errno: errno))")
        }
        #if canImport(Darwin)
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        if timeout > 0 {
            var interval = timeval()
            interval.tv_sec = .init(timeout.rounded(.down))
            interval.tv_usec = .init((timeout - timeout.rounded(.down)) * 1_000_000)
            let size = socklen_t(MemoryLayout<timeval>.size)
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &interval, size)
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &interval, size)
        }
        let status = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                connect(fd, socketAddress, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if status != 0 {
            let code = errno
            close(fd)
            throw Self.connectError(path: path, errno: code)
        }
        if let problem = Self.ownershipProblem(path: path, descriptor: fd, expected: serverUIDs) {
            close(fd)
            throw CacheCtlError(.untrustedServer, problem + "; nothing was sent (see --server-uid)")
        }
        self.descriptor = fd
        self.input = ByteBufferAllocator().buffer(capacity: 64 * 1024)
        self.output = ByteBufferAllocator().buffer(capacity: 16 * 1024)
    }

    deinit {
        close(descriptor)
    }

    /// Encodes one command into the output buffer; nothing is sent until `flush`.
    func enqueue(_ arguments: [String]) {
        output.writeRESPCommand(arguments)
        pendingReplies += 1
    }

    /// Sends the commands enqueued so far.
    ///
    /// - Throws: `CacheCtlError`: exit 69 when the server closed the connection, 75 on a send timeout.
    func flush() throws(CacheCtlError) {
        while output.readableBytes > 0 {
            var failure: Int32 = 0
            let sent = output.withUnsafeReadableBytes { bytes -> Int in
                let result = send(descriptor, bytes.baseAddress!, bytes.count, Self.sendFlags)
                if result < 0 {
                    failure = errno
                }
                return result
            }
            if sent < 0 {
                if failure == EINTR {
                    continue
                }
                throw ioFailure(failure, sending: true)
            }
            output.moveReaderIndex(forwardBy: sent)
        }
        output.clear()
    }

    /// Reads the next reply, in the order the commands were enqueued. Flushes first if anything is unsent.
    ///
    /// - Throws: `CacheCtlError`: exit 69 when the server closes the connection, 75 on timeout, 76 on a malformed
    ///   reply. An error *reply* (`-ERR ...`) is returned as `.error`, not thrown.
    func readReply() throws(CacheCtlError) -> RESPValue {
        if output.readableBytes > 0 {
            try flush()
        }
        while true {
            do {
                if let reply = try parser.next(&input) {
                    pendingReplies -= 1
                    return reply
                }
            } catch {
                throw CacheCtlError(.protocolError, "malformed reply from the server: \(error.message)")
            }
            try receive()
        }
    }

    /// Sends one command and returns its reply.
    func call(_ arguments: [String]) throws(CacheCtlError) -> RESPValue {
        enqueue(arguments)
        return try readReply()
    }

    /// Sends `commands` in one write and returns their replies, in order.
    func pipeline(_ commands: [[String]]) throws(CacheCtlError) -> [RESPValue] {
        for command in commands {
            enqueue(command)
        }
        try flush()
        var replies: [RESPValue] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            replies.append(try readReply())
        }
        return replies
    }

    private func receive() throws(CacheCtlError) {
        if input.readerIndex > 0, input.readerIndex >= input.readableBytes {
            input.discardReadBytes()
        }
        while true {
            var failure: Int32 = 0
            let received = input.writeWithUnsafeMutableBytes(minimumWritableBytes: 64 * 1024) { buffer -> Int in
                let result = recv(descriptor, buffer.baseAddress!, buffer.count, 0)
                if result < 0 {
                    failure = errno
                    return 0
                }
                return result
            }
            if received > 0 {
                return
            }
            if failure == 0 {
                throw CacheCtlError(.unavailable, "the server at \(path) closed the connection")
            }
            if failure != EINTR {
                throw ioFailure(failure, sending: false)
            }
        }
    }

    private func ioFailure(_ code: Int32, sending: Bool) -> CacheCtlError {
        if code == EAGAIN || code == EWOULDBLOCK {
            return CacheCtlError(.timeout, "the server at \(path) did not answer within \(Self.seconds(timeout)) s")
        }
        if code == EPIPE || code == ECONNRESET {
            return CacheCtlError(.unavailable, "the server at \(path) closed the connection")
        }
        let action = sending ? "sending to" : "reading from"
        return CacheCtlError(.unavailable, "\(action) \(path) failed: \(Console.describe(errno: code))")
    }

    /// Why the server at the other end cannot be trusted, or nil: the socket file and the listening process
    /// (SO_PEERCRED, which the kernel vouches for) must both belong to an expected user.
    private static func ownershipProblem(path: String, descriptor: Int32, expected: Set<uid_t>) -> String? {
        var info = stat()
        if lstat(path, &info) == 0, !expected.contains(info.st_uid) {
            return "the socket \(path) belongs to uid \(info.st_uid), not to the expected server user"
        }
        guard let peer = PeerCredentials.of(descriptor: descriptor) else {
            return "cannot tell who listens on \(path) (no SO_PEERCRED)"
        }
        guard expected.contains(peer.uid) else {
            return "the server on \(path) runs as uid \(peer.uid) (pid \(peer.pid)), not as the expected user"
        }
        return nil
    }

    private static func connectError(path: String, errno code: Int32) -> CacheCtlError {
        let hint = "is cachesrvd running? Start it, or point --socket / CACHESRVD_SOCKET at its socket"
        switch code {
        case ENOENT:
            return CacheCtlError(.unavailable, "no server socket at \(path) (\(hint))")
        case ECONNREFUSED:
            return CacheCtlError(.unavailable, "nothing is listening on \(path) (\(hint))")
        case EAGAIN, EWOULDBLOCK:
            return CacheCtlError(.timeout, "the server at \(path) did not accept the connection in time")
        default:
            return CacheCtlError(
                .unavailable,
                "cannot connect to \(path): \(Console.describe(errno: code)) (\(hint))"
            )
        }
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    #if os(Linux)
    private static let sendFlags = Int32(MSG_NOSIGNAL)
    #else
    private static let sendFlags: Int32 = 0
    #endif
}
