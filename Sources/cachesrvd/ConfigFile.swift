import Foundation

/// A configuration file for `cachesrvd serve --config FILE`: one setting per line, named as its command-line option
/// without the leading dashes, then its value, as in redis.conf:
///
/// ```
/// # comments and blank lines are ignored
/// socket /run/cachesrvd/cachesrvd.sock
/// l1-max-memory 512mb
/// source-ttl feedA=600        # repeatable options take one line per value
/// no-health-invalidation yes  # flags take yes or no
/// ```
///
/// A value may be double-quoted to keep spaces or a '#'. The command line wins: an option given there replaces
/// every line of that name.
struct ConfigFile {
    struct Line: Equatable {
        var number: Int
        var name: String
        var value: String
    }

    let path: String
    let lines: [Line]

    /// Options that take no value on the command line.
    static let flags: Set<String> = ["no-health-invalidation"]

    /// Reads and parses the file.
    ///
    /// - Throws: `ConfigFileError` naming the file and line of a syntax error.
    init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigFileError("cannot read the configuration file \(path)")
        }
        try self.init(path: path, text: String(decoding: data, as: UTF8.self))
    }

    init(path: String, text: String) throws {
        self.path = path
        var lines: [Line] = []
        // "\r\n" is one Character: split on every newline character, so CRLF files read as LF ones.
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let number = index + 1
            guard let line = try Self.parse(Substring(raw), number: number, path: path) else { continue }
            if line.name == "config" {
                throw ConfigFileError("\(path):\(number): a configuration file cannot include another")
            }
            lines.append(line)
        }
        self.lines = lines
    }

    private static func parse(_ raw: Substring, number: Int, path: String) throws -> Line? {
        let text = raw.drop { $0 == " " || $0 == "\t" }
        guard !text.isEmpty, text.first != "#" else { return nil }
        let name = text.prefix { $0 != " " && $0 != "\t" }
        var rest = text.dropFirst(name.count).drop { $0 == " " || $0 == "\t" }
        var value: String
        if rest.first == "\"" {
            rest = rest.dropFirst()
            guard let close = rest.firstIndex(of: "\"") else {
                throw ConfigFileError("\(path):\(number): unterminated quoted value")
            }
            value = String(rest[..<close])
            let after = rest[rest.index(after: close)...].drop { $0 == " " || $0 == "\t" }
            guard after.isEmpty || after.first == "#" else {
                throw ConfigFileError("\(path):\(number): unexpected text after the quoted value")
            }
        } else {
            let uncommented = rest.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            value = String(uncommented.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
        }
        let lowered = name.lowercased()
        if flags.contains(lowered) {
            switch value.lowercased() {
            case "yes", "true", "on", "1": value = "yes"
            case "no", "false", "off", "0": value = "no"
            default: throw ConfigFileError("\(path):\(number): \(lowered) takes yes or no, got '\(value)'")
            }
        } else if value.isEmpty {
            throw ConfigFileError("\(path):\(number): \(lowered) needs a value")
        }
        return Line(number: number, name: lowered, value: value)
    }

    /// The command-line arguments the file stands for, leaving out every option `commandLine` gives itself.
    func arguments(overriddenBy commandLine: [String]) -> [String] {
        let given = Set(commandLine.compactMap(Self.optionName))
        var arguments: [String] = []
        for line in lines where !given.contains(line.name) {
            if Self.flags.contains(line.name) {
                if line.value == "yes" { arguments.append("--" + line.name) }
            } else {
                arguments.append("--\(line.name)=\(line.value)")
            }
        }
        return arguments
    }

    /// The values of each setting, for telling what a reload changed.
    var settings: [String: [String]] {
        lines.reduce(into: [:]) { $0[$1.name, default: []].append($1.value) }
    }

    /// `--name` or `--name=value` -> `name`.
    private static func optionName(_ argument: String) -> String? {
        guard argument.hasPrefix("--"), argument.count > 2 else { return nil }
        return String(argument.dropFirst(2).prefix { $0 != "=" })
    }
}

struct ConfigFileError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
