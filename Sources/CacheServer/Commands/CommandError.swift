import Tiers

/// A command's error reply: the whole text after '-', code included ("ERR syntax error").
struct CommandError: Error, Sendable, Equatable {
    var message: String

    init(_ message: String) {
        self.message = message
    }

    static let syntax = CommandError("ERR syntax error")
    static let notInteger = CommandError("ERR value is not an integer or out of range")
    static let notFloat = CommandError("ERR value is not a valid float")

    static func wrongArity(_ name: String) -> CommandError {
        CommandError("ERR wrong number of arguments for '\(name)' command")
    }

    static func invalidExpire(_ name: String) -> CommandError {
        CommandError("ERR invalid expire time in '\(name)' command")
    }

    /// The reply for an error the tiered cache threw (other than `wouldBlock`, which the dispatcher handles).
    init(_ error: TieredCacheError) {
        switch error {
        case .invalid(let message): self.message = "ERR " + message
        case .unavailable(let message): self.message = "ERR " + message
        case .wouldBlock: self.message = "ERR internal: command needs disk access"
        }
    }
}
