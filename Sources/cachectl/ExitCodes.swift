import ArgumentParser

/// The exit statuses cachectl documents (sysexits.h numbers where one fits).
///
/// They are listed in `cachectl --help` and in docs/cachectl.md; scripts may rely on them.
extension ExitCode {
    /// The key (or entry) does not exist: a nil reply, `TTL` of a missing key (-2), an empty `HGETALL`.
    static let notFound = ExitCode(1)
    /// The server answered with an error reply; its message goes to stderr.
    static let serverError = ExitCode(2)
    /// Bad command line (ArgumentParser's own validation status, EX_USAGE), or an unusable socket path.
    static let usage = ExitCode(64)
    /// A warm file that cannot be parsed at all (EX_DATAERR): not JSON, not an array, broken CSV quoting.
    static let dataError = ExitCode(65)
    /// Cannot connect to the server, or it closed the connection (EX_UNAVAILABLE).
    static let unavailable = ExitCode(69)
    /// A local file could not be read or written (EX_IOERR).
    static let ioError = ExitCode(74)
    /// The server did not answer within `--timeout` seconds (EX_TEMPFAIL).
    static let timeout = ExitCode(75)
    /// The socket file or the server listening on it belongs to another user than expected (EX_NOPERM): nothing
    /// was sent.
    static let untrustedServer = ExitCode(77)
    /// The server's reply could not be parsed or was not of the expected shape (EX_PROTOCOL).
    static let protocolError = ExitCode(76)

    /// The table printed at the end of `cachectl --help`.
    static let helpText = """
        EXIT STATUS:
          0   success
          1   not found (nil reply, TTL of a missing key, empty HGETALL)
          2   error reply from the server (message on stderr); warm: a row failed
          64  usage error, or a socket path over 107 bytes
          65  warm file unparsable (bad JSON, not an array, broken CSV quoting)
          69  cannot connect, or the server closed the connection
          74  local file I/O error (warm, export)
          75  the server did not answer within --timeout seconds
          76  malformed or unexpected reply from the server
          77  the socket or its server belongs to another user (nothing sent)
        """
}
