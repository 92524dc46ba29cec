import NIOConcurrencyHelpers
import NIOCore
import Redaction
import Synchronization
import Tiers

/// Redis's slow log: the most recent commands that ran longer than `slowlog-log-slower-than`.
///
/// Entries keep copies of at most 32 arguments of at most 128 bytes each (Redis's limits), never slices of a
/// client's request buffer, and never a secret: AUTH and HELLO's AUTH arguments, credential field values and the
/// passwords inside URLs are masked (`user:***@`).
final class SlowLog: Sendable {
    /// One logged command.
    struct Entry: Sendable {
        /// Unique and increasing from 0 (RESET does not restart it).
        var id: Int
        /// When the command ran, Unix seconds.
        var timestamp: Int
        /// How long it ran, microseconds.
        var microseconds: Int
        /// The arguments as logged: truncated and redacted.
        var arguments: [ByteBuffer]
        /// The client's address (`addr` of CLIENT LIST).
        var peer: String
        /// The client's name, or empty.
        var clientName: String
    }

    /// The most arguments an entry keeps (the last one says how many more there were).
    static let maxArguments = 32
    /// The most bytes of an argument an entry keeps.
    static let maxArgumentBytes = 128
    /// What a secret is logged as.
    static let redacted = "(redacted)"

    private struct State {
        var entries: [Entry] = []  // oldest first
        var nextID = 0
    }

    private let state = NIOLockedValueBox(State())
    private let slowerThanSetting: Synchronization.Atomic<Int>
    private let maxLengthSetting: Synchronization.Atomic<Int>

    init(slowerThan: Int, maxLength: Int) {
        self.slowerThanSetting = Synchronization.Atomic(slowerThan)
        self.maxLengthSetting = Synchronization.Atomic(maxLength)
    }

    /// Commands that run longer than this (microseconds) are logged; negative logs none, 0 logs every command
    /// (`slowlog-log-slower-than`, CONFIG SET).
    var slowerThan: Int {
        get { slowerThanSetting.load(ordering: .relaxed) }
        set { slowerThanSetting.store(newValue, ordering: .relaxed) }
    }

    /// The most entries kept; older ones are dropped (`slowlog-max-len`, CONFIG SET).
    var maxLength: Int {
        get { maxLengthSetting.load(ordering: .relaxed) }
        set {
            maxLengthSetting.store(newValue, ordering: .relaxed)
            state.withLockedValue { state in
                if state.entries.count > newValue { state.entries.removeFirst(state.entries.count - max(0, newValue)) }
            }
        }
    }

    /// Whether a command that ran `microseconds` is to be logged.
    func wants(microseconds: Int) -> Bool {
        slowerThan >= 0 && microseconds >= slowerThan && maxLength > 0
    }

    /// Logs a command if it ran long enough.
    func record(
        _ arguments: [ByteBuffer],
        microseconds: Int,
        timestamp: Int,
        peer: String,
        clientName: String
    ) {
        guard wants(microseconds: microseconds) else { return }
        let logged = Self.loggedArguments(arguments)
        state.withLockedValue { state in
            state.entries.append(
                Entry(
                    id: state.nextID,
                    timestamp: timestamp,
                    microseconds: microseconds,
                    arguments: logged,
                    peer: peer,
                    clientName: clientName
                )
            )
            state.nextID += 1
            if state.entries.count > maxLength {
                state.entries.removeFirst(state.entries.count - maxLength)
            }
        }
    }

    /// The `count` newest entries, newest first (all of them for nil).
    func newest(_ count: Int?) -> [Entry] {
        state.withLockedValue { state in
            Array(state.entries.reversed().prefix(count ?? state.entries.count))
        }
    }

    var count: Int { state.withLockedValue { $0.entries.count } }

    func reset() {
        state.withLockedValue { $0.entries.removeAll() }
    }

    /// The arguments as an entry keeps them: secrets redacted, at most 32 arguments (the 32nd then reads
    /// `... (N more arguments)`), each at most 128 bytes (then followed by `... (N more bytes)`), all copied.
    static func loggedArguments(_ arguments: [ByteBuffer]) -> [ByteBuffer] {
        let secret = secretPositions(arguments)
        let kept = min(arguments.count, maxArguments)
        var logged: [ByteBuffer] = []
        logged.reserveCapacity(kept)
        for index in 0..<kept {
            if kept != arguments.count, index == kept - 1 {
                logged.append(ByteBuffer(string: "... (\(arguments.count - kept + 1) more arguments)"))
            } else if secret.contains(index) {
                logged.append(ByteBuffer(string: redacted))
            } else {
                logged.append(truncated(withoutUserInfo(arguments[index])))
            }
        }
        return logged
    }

    /// A copy of at most 128 bytes, then `... (N more bytes)` when longer.
    static func truncated(_ argument: ByteBuffer) -> ByteBuffer {
        let length = argument.readableBytes
        guard length > maxArgumentBytes else { return ByteBuffer(bytes: argument.readableBytesView) }
        var copy = ByteBuffer(bytes: argument.readableBytesView.prefix(maxArgumentBytes))
        copy.writeString("... (\(length - maxArgumentBytes) more bytes)")
        return copy
    }

    /// Settings whose values are secrets, should CONFIG SET ever take them (Redis redacts these too).
    static let secretSettings: Set<String> = ["requirepass", "masterauth", "masteruser"]

    /// Which arguments are secrets: everything after AUTH, the user and password of HELLO's AUTH, and the value
    /// after a credential field name (`username`, `password`) or a secret setting name in any other command.
    static func secretPositions(_ arguments: [ByteBuffer]) -> Set<Int> {
        guard let name = arguments.first.map({ String(buffer: $0).lowercased() }) else { return [] }
        switch name {
        case "auth":
            return Set(1..<arguments.count)
        case "hello":
            // Read as HELLO reads it (protover, then AUTH user pass / SETNAME name), so a client named "auth"
            // cannot shift the password out of view; whatever does not parse is redacted whole.
            var secret = Set<Int>()
            var index = 2
            while index < arguments.count {
                switch String(buffer: arguments[index]).uppercased() {
                case "AUTH":
                    secret.formUnion((index + 1)..<min(index + 3, arguments.count))
                    index += 3
                case "SETNAME":
                    index += 2
                default:
                    secret.formUnion(index..<arguments.count)
                    index = arguments.count
                }
            }
            return secret
        default:
            var secret = Set<Int>()
            for index in 1..<max(1, arguments.count - 1) {
                let field = CacheEntry.Field(name: arguments[index].readableBytesView)
                if field == .username || field == .password
                    || secretSettings.contains(String(buffer: arguments[index]).lowercased())
                {
                    secret.insert(index + 1)
                }
            }
            return secret
        }
    }

    /// The argument with the password of any URL in it masked (`http://user:***@host`, the Redaction module's rule
    /// that the tiers and exports follow too); the argument itself when it holds none.
    static func withoutUserInfo(_ argument: ByteBuffer) -> ByteBuffer {
        guard let masked = URLPassword.masked(bytes: Array(argument.readableBytesView)) else { return argument }
        return ByteBuffer(bytes: masked)
    }
}
