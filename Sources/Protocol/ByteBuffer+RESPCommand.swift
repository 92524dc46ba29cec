import NIOCore

/// Writing requests (client side), always as multibulk arrays so any byte can be an argument.
extension ByteBuffer {
    /// Writes a request: `["GET", "k"]` becomes `*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`.
    ///
    /// - Parameter arguments: The command name and its arguments, sent as their UTF-8 bytes.
    public mutating func writeRESPCommand(_ arguments: [String]) {
        writeRESPArrayHeader(arguments.count)
        for argument in arguments { writeRESPBulkString(argument) }
    }

    /// Writes a request of binary arguments.
    ///
    /// - Parameter arguments: The command name and its arguments.
    public mutating func writeRESPCommand(arguments: [[UInt8]]) {
        writeRESPArrayHeader(arguments.count)
        for argument in arguments { writeRESPBulkString(bytes: argument) }
    }

    /// Writes a request whose arguments are buffers (their readable bytes; none is consumed).
    ///
    /// - Parameter arguments: The command name and its arguments.
    public mutating func writeRESPCommand(buffers arguments: [ByteBuffer]) {
        writeRESPArrayHeader(arguments.count)
        for argument in arguments { writeRESPBulkString(argument) }
    }
}
