/// The protocol a connection speaks: RESP2 until the client says `HELLO 3`.
public enum RESPVersion: Int, Sendable, Equatable {
    case resp2 = 2
    case resp3 = 3
}
