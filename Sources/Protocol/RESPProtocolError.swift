/// A malformed request or reply: the connection that produced it cannot be trusted any further.
///
/// `message` is Redis's text without the leading `-ERR `, for example `Protocol error: invalid bulk length`; a server
/// replies `"-ERR " + message` and then closes the connection, as redis-server does.
public struct RESPProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Redis's error text, without the leading `ERR ` code.
    public var message: String

    /// Creates an error with the given text.
    ///
    /// - Parameter message: The text without the `ERR ` code, e.g. `Protocol error: invalid bulk length`.
    public init(message: String) {
        self.message = message
    }

    public var description: String { message }
}

// MARK: - Request errors (Redis 7's wording)

extension RESPProtocolError {
    /// An inline request longer than the inline limit without a newline.
    public static let tooBigInlineRequest = RESPProtocolError(message: "Protocol error: too big inline request")
    /// An inline request with an unterminated quote, or a closing quote not followed by a blank.
    public static let unbalancedQuotes = RESPProtocolError(message: "Protocol error: unbalanced quotes in request")
    /// A `*<count>` line longer than the inline limit.
    public static let tooBigMultibulkCount = RESPProtocolError(message: "Protocol error: too big mbulk count string")
    /// A `*<count>` that is not an integer or is above the argument limit.
    public static let invalidMultibulkLength = RESPProtocolError(message: "Protocol error: invalid multibulk length")
    /// A `$<length>` line longer than the inline limit.
    public static let tooBigBulkCount = RESPProtocolError(message: "Protocol error: too big bulk count string")
    /// A `$<length>` that is not an integer, is negative, or is above the bulk limit.
    public static let invalidBulkLength = RESPProtocolError(message: "Protocol error: invalid bulk length")
    /// More than 10 arguments from a connection that has not authenticated yet (Redis 7).
    public static let unauthenticatedMultibulkLength = RESPProtocolError(
        message: "Protocol error: unauthenticated multibulk length"
    )
    /// An argument over 16 KiB from a connection that has not authenticated yet (Redis 7).
    public static let unauthenticatedBulkLength = RESPProtocolError(
        message: "Protocol error: unauthenticated bulk length"
    )

    /// An argument of a multibulk request that does not start with `$`.
    ///
    /// - Parameter byte: The byte found instead, shown as a character like Redis's `%c`.
    /// - Returns: `Protocol error: expected '$', got 'X'`.
    public static func expectedDollar(got byte: UInt8) -> RESPProtocolError {
        RESPProtocolError(message: "Protocol error: expected '$', got '\(Character(Unicode.Scalar(byte)))'")
    }
}

// MARK: - Reply errors (client side)

extension RESPProtocolError {
    /// A reply whose first byte is not a RESP2 or RESP3 type.
    static func unexpectedReplyType(_ byte: UInt8) -> RESPProtocolError {
        RESPProtocolError(message: "Protocol error: unexpected reply type '\(Character(Unicode.Scalar(byte)))'")
    }

    static let invalidInteger = RESPProtocolError(message: "Protocol error: invalid integer in reply")
    static let invalidReplyLine = RESPProtocolError(message: "Protocol error: reply line not terminated by CRLF")
    static let tooBigReplyLine = RESPProtocolError(message: "Protocol error: too big reply line")
    static let bulkNotTerminated = RESPProtocolError(message: "Protocol error: bulk reply not terminated by CRLF")
    static let replyNestingTooDeep = RESPProtocolError(message: "Protocol error: reply nested too deeply")
    static let invalidBoolean = RESPProtocolError(message: "Protocol error: invalid boolean in reply")
    static let invalidNull = RESPProtocolError(message: "Protocol error: invalid null in reply")
}
