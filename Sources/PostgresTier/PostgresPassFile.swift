import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// libpq's password file (`PGPASSFILE`, else `~/.pgpass`): lines `hostname:port:database:username:password`, `*`
/// matching anything, `\:` and `\\` escaping, `#` starting a comment; the first matching line wins. As libpq does,
/// a file that the group or others can read is ignored. A Unix-socket connection matches the hostname `localhost`
/// or the socket's directory.
enum PostgresPassFile {
    /// The password of the first line matching the connection, nil when there is none (or no usable file).
    static func password(
        for endpoint: PostgresURL.Endpoint,
        database: String,
        user: String,
        environment: [String: String]
    ) -> String? {
        guard let path = path(environment: environment) else { return nil }
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_mode & 0o077 == 0 else {
            return nil
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let hosts: [String]
        let port: Int
        switch endpoint {
        case .tcp(let host, let number):
            hosts = [host]
            port = number
        case .unixSocket(let directory, let number):
            hosts = ["localhost", directory]
            port = number
        }
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let fields = self.fields(of: line)
            guard fields.count == 5 else { continue }
            let matches =
                (fields[0] == "*" || hosts.contains(fields[0])) && (fields[1] == "*" || fields[1] == String(port))
                && (fields[2] == "*" || fields[2] == database) && (fields[3] == "*" || fields[3] == user)
            if matches { return fields[4] }
        }
        return nil
    }

    /// `PGPASSFILE`, else `$HOME/.pgpass`.
    static func path(environment: [String: String]) -> String? {
        if let file = environment["PGPASSFILE"], !file.isEmpty { return file }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return (home.hasSuffix("/") ? home : home + "/") + ".pgpass"
    }

    /// The `:`-separated fields of a line, with `\:` and `\\` unescaped.
    static func fields(of line: Substring) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }
}
