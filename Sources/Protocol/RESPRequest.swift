import NIOCore

/// One client request: the command name and its arguments, in order.
///
/// The arguments of a multibulk request, and the plain words of an inline one, are slices of the buffer the request
/// was parsed from, so no bytes are copied; an inline argument with quotes or escapes is a buffer of its own.
public struct RESPRequest: Sendable, Equatable {
    /// The command name followed by its arguments; never empty for a parsed request.
    public var arguments: [ByteBuffer]
    /// `true` when the request came as an inline line (`PING\r\n`) rather than as a multibulk array.
    public var isInline: Bool

    /// Creates a request.
    ///
    /// - Parameters:
    ///   - arguments: The command name followed by its arguments.
    ///   - isInline: Whether it came as an inline line.
    public init(arguments: [ByteBuffer], isInline: Bool = false) {
        self.arguments = arguments
        self.isInline = isInline
    }
}
