import CacheProtocol
import Foundation
import NIOCore

/// What a restarted server holds, compared key by key with the writes sent before the crash.
///
/// Each key's writes come from one client, in order, so whatever the server kept must be the state after some prefix
/// of them: the longest prefix that matches says which acknowledged writes (if any) were lost; no matching prefix
/// means the key holds something no sequence of those writes produces.
struct CrashVerdict {
    /// An acknowledged write whose effect is not on the restarted server, and how long before the kill its reply came
    /// (a little below zero when the client read, just after the kill, a reply the server had sent before it).
    struct Loss {
        let write: CrashWrite
        let age: Duration
    }

    /// Keys the clients wrote, and writes acknowledged.
    private(set) var keys = 0
    private(set) var acknowledged = 0
    /// Acknowledged writes missing after the restart, oldest acknowledgement first.
    private(set) var lost: [Loss] = []
    /// Keys that hold a state none of their writes' prefixes produce, with what they hold.
    private(set) var impossible: [String] = []
    /// Keys on the restarted server that no client wrote.
    private(set) var strangers: [String] = []

    /// Reads every written key from `client` (pipelined) and compares; `killedAt` is when the server was killed.
    init(writes: [CrashWrite], client: RawClient, killedAt: ContinuousClock.Instant) throws {
        var histories: [String: [CrashWrite]] = [:]
        var order: [String] = []
        for write in writes {
            if histories[write.key] == nil { order.append(write.key) }
            histories[write.key, default: []].append(write)
        }
        keys = order.count
        acknowledged = writes.filter { $0.acknowledged != nil }.count
        let observed = try Self.read(order, hasFields: { histories[$0]!.contains(where: \.isPut) }, client: client)
        for key in order {
            let history = histories[key]!
            var states = [CrashKeyState()]
            for write in history { states.append(states.last!.applying(write.effect)) }
            let held = observed[key]!
            guard let kept = states.lastIndex(where: { $0.matches(held) }) else {
                impossible.append("\(key) holds \(held), written: \(history.map(\.command))")
                continue
            }
            for write in history[kept...] {
                if let acknowledged = write.acknowledged {
                    lost.append(Loss(write: write, age: killedAt - acknowledged))
                }
            }
        }
        lost.sort { $0.age > $1.age }
        let present = try client.command(["KEYS", "*"]).array?.compactMap(\.text) ?? []
        strangers = present.filter { histories[$0] == nil }.sorted()
    }

    /// One line for a failure message: how many acknowledged writes were lost and how old the oldest was.
    var lossSummary: String {
        guard let oldest = lost.first else { return "no acknowledged write lost (\(acknowledged) checked)" }
        let examples = lost.prefix(5).map {
            "\($0.write.command.prefix(3).joined(separator: " ")) (\($0.age.milliseconds))"
        }
        return "\(lost.count) of \(acknowledged) acknowledged writes lost; the oldest was acknowledged "
            + "\(oldest.age.milliseconds) before the kill; oldest first: \(examples.joined(separator: ", "))"
    }

    /// MGET of every key, and HMGET of the fields PUT and HSET write where `hasFields`, in pipelined batches.
    private static func read(
        _ keys: [String],
        hasFields: (String) -> Bool,
        client: RawClient
    ) throws -> [String: CrashKeyState] {
        var result: [String: CrashKeyState] = [:]
        var start = 0
        while start < keys.count {
            let batch = Array(keys[start..<min(start + 500, keys.count)])
            let withFields = batch.filter(hasFields)
            var request = ByteBuffer()
            request.writeRESPCommand(["MGET"] + batch)
            for key in withFields { request.writeRESPCommand(["HMGET", key, "password", "source"]) }
            try client.send(Array(request.readableBytesView))
            let values = try client.readReply().array ?? []
            guard values.count == batch.count else { throw CrashVerdictError.reply("MGET answered \(values.count)") }
            for (key, value) in zip(batch, values) { result[key] = CrashKeyState(value: value.text) }
            for key in withFields {
                let fields = try client.readReply().array ?? []
                result[key]?.password = fields.first?.text
                result[key]?.source = fields.dropFirst().first?.text
                result[key]?.fieldsRead = true
            }
            start += batch.count
        }
        return result
    }
}

enum CrashVerdictError: Error {
    case reply(String)
}

/// A key's value and, for keys a PUT made, the two fields the workload writes; nil: absent.
struct CrashKeyState: Equatable, CustomStringConvertible {
    var value: String?
    var password: String?
    var source: String?
    /// Whether `password` and `source` were read (only for keys a PUT made).
    var fieldsRead = false

    func applying(_ effect: CrashWrite.Effect) -> CrashKeyState {
        switch effect {
        case .set(let value): return CrashKeyState(value: value)
        case .put(let url, let password, let source):
            return CrashKeyState(value: url, password: password, source: source)
        case .delete: return CrashKeyState()
        case .setSource(let source):
            // HSET of an absent key makes a plain hash with an empty proxy_url.
            return CrashKeyState(value: value ?? "", password: password, source: source)
        }
    }

    /// Whether `held`, read from the server, is this state.
    func matches(_ held: CrashKeyState) -> Bool {
        held.value == value && (!held.fieldsRead || (held.password == password && held.source == source))
    }

    var description: String {
        guard let value else { return "nothing" }
        return fieldsRead ? "\(value) password \(password ?? "nil") source \(source ?? "nil")" : value
    }
}

extension CrashWrite {
    var isPut: Bool {
        if case .put = effect { return true }
        return false
    }
}

extension Duration {
    /// In milliseconds, for messages.
    var milliseconds: String {
        let (seconds, attoseconds) = components
        return String(format: "%.1f ms", Double(seconds) * 1e3 + Double(attoseconds) / 1e15)
    }
}
