import BinaryText
import CacheProtocol

extension RESPValue {
    /// The text of a simple string, or the string that stands for a non-nil bulk string's bytes (``BinaryText``,
    /// lossless); nil otherwise.
    var string: String? {
        switch self {
        case .simpleString(let text):
            return text
        case .bulkString(let bytes?):
            return BinaryText.string(from: bytes)
        default:
            return nil
        }
    }

    /// Whether the reply is a nil bulk string or a nil array.
    var isNil: Bool {
        switch self {
        case .bulkString(nil), .array(nil):
            return true
        default:
            return false
        }
    }

    /// The reply itself, unless it is an error reply.
    ///
    /// - Throws: `CacheCtlError.server` (exit 2) with the server's message for an error reply.
    func checked() throws(CacheCtlError) -> RESPValue {
        if case .error(let message) = self {
            throw .server(message)
        }
        return self
    }

    /// The integer of an integer reply.
    ///
    /// - Throws: exit 2 for an error reply, 76 for any other shape.
    func integer(for command: String) throws(CacheCtlError) -> Int64 {
        guard case .integer(let value) = try checked() else {
            throw .unexpectedReply(to: command, self)
        }
        return value
    }

    /// The elements of a non-nil array reply.
    ///
    /// - Throws: exit 2 for an error reply, 76 for any other shape.
    func elements(for command: String) throws(CacheCtlError) -> [RESPValue] {
        guard case .array(let elements?) = try checked() else {
            throw .unexpectedReply(to: command, self)
        }
        return elements
    }

    /// The name/value pairs of a flat array reply of strings (`HGETALL`, `STATS`); a pair whose value is nil is
    /// left out.
    ///
    /// - Throws: exit 2 for an error reply, 76 for an odd count or non-string elements.
    func pairs(for command: String) throws(CacheCtlError) -> [(String, String)] {
        let elements = try elements(for: command)
        guard elements.count % 2 == 0 else {
            throw .unexpectedReply(to: command, self)
        }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(elements.count / 2)
        var index = 0
        while index < elements.count {
            guard let name = elements[index].string else {
                throw .unexpectedReply(to: command, self)
            }
            if let value = elements[index + 1].string {
                pairs.append((name, value))
            } else if !elements[index + 1].isNil {
                throw .unexpectedReply(to: command, self)
            }
            index += 2
        }
        return pairs
    }
}
