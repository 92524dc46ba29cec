import CacheProtocol
import Foundation
import XCTest

/// One write a crash-test client sent, and when its reply arrived (nil: it was in flight when the server died).
struct CrashWrite: Sendable {
    /// What the write does to its key.
    enum Effect: Sendable {
        case set(String)
        case put(url: String, password: String, source: String)
        case delete
        case setSource(String)
    }

    let client: Int
    let key: String
    let effect: Effect
    var acknowledged: ContinuousClock.Instant?

    /// The request, as a client sends it.
    var command: [String] {
        switch effect {
        case .set(let value): return ["SET", key, value]
        case .put(let url, let password, let source): return ["PUT", key, url, "password", password, "source", source]
        case .delete: return ["DEL", key]
        case .setSource(let source): return ["HSET", key, "source", source]
        }
    }

    /// The reply that acknowledges it: DEL and HSET only ever target a key the same client made before.
    var acknowledgement: RESPValue {
        switch effect {
        case .set, .put: return .ok
        case .delete: return .integer(1)
        case .setSource: return .integer(0)
        }
    }

    /// The `index`th write of client `client`: mostly SETs of new keys, with a PUT (credentials), a DEL, an HSET and
    /// an overwrite in every ten, each aimed at an earlier key of the same client, so every key's history is one
    /// client's ordered sequence and the state after any prefix of it is computable.
    static func nth(_ index: Int, client: Int) -> CrashWrite {
        func key(_ number: Int) -> String { "k:\(client):\(number)" }
        let value = "v:\(client):\(index)"
        switch index % 10 {
        case 3:
            let url = "http://10.0.\(client).1:\(index)"
            let put = Effect.put(url: url, password: "pw:\(client):\(index)", source: "src:\(client):\(index)")
            return CrashWrite(client: client, key: key(index), effect: put)
        case 5: return CrashWrite(client: client, key: key(index - 1), effect: .delete)
        case 7: return CrashWrite(client: client, key: key(index - 4), effect: .setSource("s:\(client):\(index)"))
        case 8: return CrashWrite(client: client, key: key(index - 2), effect: .set(value))
        default: return CrashWrite(client: client, key: key(index), effect: .set(value))
        }
    }
}

/// Clients writing as fast as they can, each on its own thread and connection, until the server dies under them.
final class CrashWorkload: @unchecked Sendable {
    // The lock guards `writes` and `problems`; `acknowledgedCount` and `stopFlag` have their own locks.
    private let lock = NSLock()
    private var writes: [CrashWrite] = []
    private var problems: [String] = []
    private let acknowledgedCount = SharedCounter()
    private let stopFlag = StopFlag()
    private let finished = DispatchGroup()

    /// Connects `clients` clients to `server` and starts them writing.
    init(server: ServerProcess, clients: Int) throws {
        let connections = try (0..<clients).map { _ in try server.client() }
        for (index, connection) in connections.enumerated() {
            finished.enter()
            Thread.detachNewThread { [self] in
                run(client: index, connection: connection)
                finished.leave()
            }
        }
    }

    /// Writes acknowledged so far, by every client.
    var acknowledged: Int { acknowledgedCount.value }

    private func run(client: Int, connection: RawClient) {
        var log: [CrashWrite] = []
        var problem: String?
        var index = 0
        while !stopFlag.isSet {
            var write = CrashWrite.nth(index, client: client)
            let reply: RESPValue
            do {
                reply = try connection.command(write.command)
            } catch {
                log.append(write)  // in flight when the server died: it may or may not have been applied
                break
            }
            guard reply == write.acknowledgement else {
                log.append(write)
                problem = "client \(client): \(write.command.prefix(2)) answered \(reply), not \(write.acknowledgement)"
                break
            }
            write.acknowledged = ContinuousClock.now
            log.append(write)
            acknowledgedCount.increment()
            index += 1
        }
        lock.lock()
        writes += log
        if let problem { problems.append(problem) }
        lock.unlock()
    }

    /// Waits for the clients to notice that the server is gone, then returns every write they sent, each client's in
    /// order, and any reply that was not the acknowledgement expected.
    func collect() -> (writes: [CrashWrite], problems: [String]) {
        stopFlag.set()
        finished.wait()
        lock.lock()
        defer { lock.unlock() }
        return (writes, problems)
    }
}
