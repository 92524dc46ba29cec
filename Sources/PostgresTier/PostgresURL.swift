import Foundation
import Redaction

/// Where a PostgreSQL L3 lives, parsed from `--l3-url`: a subset of libpq's connection URIs.
///
/// Accepted forms (scheme `postgres://` or `postgresql://`):
/// - TCP: `postgres://user[:password]@host[:port]/database[?sslmode=...]` (the port defaults to 5432; an IPv6 host
///   goes in brackets);
/// - a Unix-socket directory: `postgres://user[:password]@/database?host=/path/to/dir[&port=5432]`, the socket
///   being `<dir>/.s.PGSQL.<port>` as libpq looks for it (a host that starts with `/`, or is percent-encoded as
///   `%2F...`, is such a directory too).
///
/// Query parameters: `host`, `port`, `user`, `password`, `dbname`, `sslmode` (`disable`, `prefer`, `require`;
/// default `prefer` over TCP, `disable` over a socket) and `connect_timeout` (seconds). Others are refused.
///
/// The password comes from the URL, else `PGPASSWORD`, else the password file (`PGPASSFILE`, else `~/.pgpass`).
/// `description` masks it; it never appears in an error of this type.
public struct PostgresURL: Sendable, CustomStringConvertible {
    /// How the connection reaches the server.
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The socket file's directory and the port in its name.
        case unixSocket(directory: String, port: Int)
    }

    /// TLS over TCP, libpq's `sslmode` values that this store implements.
    public enum TLSMode: String, Sendable {
        case disable
        case prefer
        case require
    }

    public var endpoint: Endpoint
    public var user: String
    public var database: String
    /// Never logged; `description` masks it.
    public var password: String?
    public var tlsMode: TLSMode
    /// How long to wait for a connection, seconds (`connect_timeout`, default 10).
    public var connectTimeout: Double
    /// The URL as given, its password masked.
    public let redacted: String

    /// The default `connect_timeout`, seconds.
    public static let defaultConnectTimeout: Double = 10
    /// PostgreSQL's default port.
    public static let defaultPort = 5432

    /// The socket file of a `.unixSocket` endpoint.
    public var socketPath: String? {
        guard case .unixSocket(let directory, let port) = endpoint else { return nil }
        return (directory.hasSuffix("/") ? directory : directory + "/") + ".s.PGSQL.\(port)"
    }

    public var description: String { redacted }

    /// Parses `text`; looks the password up in `environment` (`PGPASSWORD`, `PGPASSFILE`, `HOME`) when the URL has
    /// none.
    ///
    /// - Throws: `PostgresURLError` saying what is wrong, with the URL's password masked.
    public init(_ text: String, environment: [String: String]) throws(PostgresURLError) {
        let redacted = Self.redacting(text)
        self.redacted = redacted
        func fail(_ reason: String) -> PostgresURLError {
            PostgresURLError("--l3-url \(redacted): \(reason)")
        }
        guard let schemeEnd = text.range(of: "://"),
            ["postgres", "postgresql"].contains(text[..<schemeEnd.lowerBound].lowercased())
        else {
            throw fail("expected postgres://user@host/database or postgres://user@/database?host=/socket/dir")
        }
        var rest = Substring(text[schemeEnd.upperBound...])
        var query = ""
        if let mark = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: mark)...])
            rest = rest[..<mark]
        }
        var authority = rest
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[rest.index(after: slash)...]
        }
        var user: String?
        var password: String?
        var hostPort = authority
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                user = Self.decoded(userInfo[..<colon])
                password = Self.decoded(userInfo[userInfo.index(after: colon)...])
            } else {
                user = Self.decoded(userInfo)
            }
        }
        var host: String?
        var port: Int?
        if !hostPort.isEmpty {
            var hostPart = hostPort
            var portPart: Substring?
            if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
                hostPart = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
                let after = hostPort[hostPort.index(after: close)...]
                if after.hasPrefix(":") { portPart = after.dropFirst() }
            } else if let colon = hostPort.lastIndex(of: ":") {
                hostPart = hostPort[..<colon]
                portPart = hostPort[hostPort.index(after: colon)...]
            }
            host = Self.decoded(hostPart)
            if let portPart {
                guard let number = Int(portPart), (1...65535).contains(number) else { throw fail("bad port") }
                port = number
            }
        }
        var database = path.isEmpty ? nil : Self.decoded(path)
        var tlsMode: TLSMode?
        var timeout = Self.defaultConnectTimeout
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let value = parts.count > 1 ? Self.decoded(parts[1]) : ""
            switch name {
            case "host": host = value
            case "port":
                guard let number = Int(value), (1...65535).contains(number) else { throw fail("bad port") }
                port = number
            case "user": user = value
            case "password": password = value
            case "dbname": database = value
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw fail("sslmode takes disable, prefer or require")
                }
                tlsMode = mode
            case "connect_timeout":
                guard let seconds = Double(value), seconds > 0, seconds <= 3600 else {
                    throw fail("connect_timeout takes seconds between 1 and 3600")
                }
                timeout = seconds
            default:
                throw fail(
                    "unsupported parameter '\(name)' (host, port, user, password, dbname, sslmode, connect_timeout)"
                )
            }
        }
        guard let user, !user.isEmpty else { throw fail("the URL names no user") }
        guard let database, !database.isEmpty else { throw fail("the URL names no database") }
        guard let host, !host.isEmpty else {
            throw fail("the URL names no host (give a host, or a socket directory as ?host=/path/to/dir)")
        }
        let resolvedPort = port ?? Self.defaultPort
        if host.hasPrefix("/") {
            endpoint = .unixSocket(directory: host, port: resolvedPort)
            if tlsMode == .require { throw fail("sslmode=require is not available over a Unix socket") }
            self.tlsMode = .disable
        } else {
            endpoint = .tcp(host: host, port: resolvedPort)
            self.tlsMode = tlsMode ?? .prefer
        }
        self.user = user
        self.database = database
        self.connectTimeout = timeout
        if let password {
            self.password = password
        } else if let password = environment["PGPASSWORD"] {
            self.password = password
        } else {
            self.password = PostgresPassFile.password(
                for: endpoint,
                database: database,
                user: user,
                environment: environment
            )
        }
    }

    /// `text` with the password masked, in the user information (`URLPassword`) and in a `password=` parameter.
    static func redacting(_ text: String) -> String {
        let masked = URLPassword.masked(in: text) ?? text
        guard let mark = masked.firstIndex(of: "?") else { return masked }
        let parameters = masked[masked.index(after: mark)...].split(separator: "&", omittingEmptySubsequences: false)
        let cleaned = parameters.map { pair in
            pair.hasPrefix("password=") ? "password=" + URLPassword.mask : String(pair)
        }
        return masked[...mark] + cleaned.joined(separator: "&")
    }

    /// Percent-decodes a URL part (a malformed escape is kept as written).
    private static func decoded(_ part: Substring) -> String {
        String(part).removingPercentEncoding ?? String(part)
    }
}

/// A `--l3-url` that cannot be used; the message masks the URL's password.
public struct PostgresURLError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
