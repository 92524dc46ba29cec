import CacheProtocol
import Foundation
import NIOCore

/// A case whose reply differs from redis-server's.
struct ParityMismatch {
    var file: String
    var line: Int
    var command: String
    var comparison: ParityComparison
    var expected: [UInt8]
    var actual: [UInt8]
}

/// Sends the blocks of a case file to redis-server and to a cachesrvd, and compares their replies.
enum ParityRunner {
    /// How long a reply may take before the side is given up for the rest of the block (a hang, not a timing check).
    static let replyTimeoutSeconds = 10

    /// Runs every block of `file` on fresh connections to both servers.
    ///
    /// - Returns: The cases whose replies differ, in file order.
    static func run(_ file: ParityCaseFile, reference: String, target: String) -> [ParityMismatch] {
        var mismatches: [ParityMismatch] = []
        for block in file.blocks {
            let redis = Connection(path: reference)
            let ours = Connection(path: target)
            let flushed = (redis.send([Array("FLUSHALL".utf8)]), ours.send([Array("FLUSHALL".utf8)]))
            if flushed.0 != flushed.1 {
                mismatches.append(
                    ParityMismatch(
                        file: file.name,
                        line: block.line,
                        command: "FLUSHALL (the start of block '\(block.title)')",
                        comparison: .exact,
                        expected: flushed.0,
                        actual: flushed.1
                    )
                )
            }
            for parityCase in block.cases {
                let expected = redis.send(parityCase.arguments)
                let actual = ours.send(parityCase.arguments)
                if !matches(expected, actual, parityCase.comparison) {
                    mismatches.append(
                        ParityMismatch(
                            file: file.name,
                            line: parityCase.line,
                            command: parityCase.text,
                            comparison: parityCase.comparison,
                            expected: expected,
                            actual: actual
                        )
                    )
                }
            }
        }
        return mismatches
    }

    /// Whether two replies agree as far as `comparison` asks; anything that is not one well-formed reply (a closed
    /// connection) must be equal byte for byte.
    static func matches(_ expected: [UInt8], _ actual: [UInt8], _ comparison: ParityComparison) -> Bool {
        if comparison == .exact { return expected == actual }
        guard let left = RawReply.parse(expected), let right = RawReply.parse(actual) else {
            return expected == actual
        }
        switch comparison {
        case .exact: return expected == actual
        case .type: return left.type == right.type
        case .shape: return left.hasSameShape(as: right)
        case .sorted: return left.sortedBytes == right.sortedBytes
        }
    }

    /// One side of a block: a connection that, once closed or silent, answers every later command with a note that
    /// is never a valid reply.
    final class Connection {
        private var client: RawClient?
        private var note: String

        init(path: String) {
            do {
                client = try RawClient(path: path, timeoutSeconds: ParityRunner.replyTimeoutSeconds)
                note = ""
            } catch {
                note = "(could not connect: \(error))"
            }
        }

        /// Sends one command as multibulk and returns its reply's bytes, or a note why there is none.
        func send(_ arguments: [[UInt8]]) -> [UInt8] {
            guard let client else { return Array(note.utf8) }
            var request = ByteBuffer()
            request.writeRESPCommand(arguments: arguments)
            do {
                try client.send(Array(request.readableBytesView))
                return try client.readRawReply()
            } catch RawClientError.closed {
                note = "(connection closed)"
            } catch {
                note = "(no reply: \(error))"
            }
            self.client = nil
            return Array(note.utf8)
        }
    }
}
