import CacheProtocol
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A blocking Unix-socket client that sends raw bytes and reads RESP replies, for end-to-end tests.
///
/// `@unchecked Sendable`: a test uses a client from one thread at a time, except that one thread may send while
/// another reads (the pipelining test); sending touches only the file descriptor, reading owns the buffer and parser.
final class RawClient: @unchecked Sendable {
    private let fd: Int32
    private var buffer = ByteBuffer()
    private var parser = RESPReplyParser()

    init(path: String, timeoutSeconds: Int = 30) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawClientError.io("socket: \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw RawClientError.io("connect: \(errno)")
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { throw RawClientError.io("send: \(errno)") }
            offset += written
        }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Half-closes: no more requests, replies still come (as `nc` does at the end of its input).
    func shutdownWrite() {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// Sends one command as multibulk and reads its reply.
    func command(_ arguments: [String]) throws -> RESPValue {
        var out = ByteBuffer()
        out.writeRESPCommand(arguments)
        try send(Array(out.readableBytesView))
        return try readReply()
    }

    /// Sends one command of arbitrary bytes as multibulk and reads its reply.
    func command(bytes arguments: [[UInt8]]) throws -> RESPValue {
        var out: [UInt8] = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            out += Array("$\(argument.count)\r\n".utf8) + argument + [13, 10]
        }
        try send(out)
        return try readReply()
    }

    /// Reads the next reply; throws `.closed` if the server closed the connection first.
    func readReply() throws -> RESPValue {
        while true {
            if let value = try parser.next(&buffer) { return value }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { throw RawClientError.closed }
            guard count > 0 else { throw RawClientError.io("recv: \(errno)") }
            buffer.writeBytes(chunk[0..<count])
        }
    }

    /// Reads the next reply and returns its exact bytes, RESP2 or RESP3 (the parity test compares bytes, not values);
    /// throws `.closed` if the server closed the connection first.
    func readRawReply() throws -> [UInt8] {
        while true {
            let before = buffer
            if try parser.next(&buffer) != nil {
                return before.getBytes(at: before.readerIndex, length: buffer.readerIndex - before.readerIndex) ?? []
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { throw RawClientError.closed }
            guard count > 0 else { throw RawClientError.io("recv: \(errno)") }
            buffer.writeBytes(chunk[0..<count])
        }
    }

    /// Reads until the server closes the connection; returns what arrived (for protocol-error tests).
    func readUntilClosed() throws -> String {
        var collected = Array(buffer.readableBytesView)
        buffer.clear()
        while true {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            guard count > 0 else { throw RawClientError.io("recv: \(errno)") }
            collected += chunk[0..<count]
        }
        return String(decoding: collected, as: UTF8.self)
    }
}

enum RawClientError: Error, Equatable {
    case io(String)
    case closed
}

extension RESPValue {
    static func bulk(_ text: String) -> RESPValue { .bulkString(Array(text.utf8)) }
    static let null = RESPValue.bulkString(nil)
    static let ok = RESPValue.simpleString("OK")

    var text: String? {
        switch self {
        case .bulkString(let bytes?): return String(decoding: bytes, as: UTF8.self)
        case .simpleString(let text): return text
        default: return nil
        }
    }

    var array: [RESPValue]? {
        if case .array(let values?) = self { return values }
        return nil
    }
}
