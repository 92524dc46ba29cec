import EntrySchema
import Redaction

/// Knows which of an entry's fields (as `HGETALL` returns them, all strings) are text, numbers or flags, so that
/// JSON output gives numbers as numbers without ever turning a password like `1234` into one.
enum EntryFields {
    /// Fields that are always text: the key, the entry's text fields (`EntryField.kind`), and the text columns of a
    /// health check (`HEALTH HISTORY`).
    static let textFields = Set(
        [EntryColumn.key] + names { [.text, .credential, .status].contains($0) }
            + ["status", "error", "error_message", "check_url"]
    )
    /// Fields that are flags.
    static let flagFields = Set(names { $0 == .flag })
    /// Fields that are numbers (times in epoch seconds, counts); an empty value is `null`: the entry's, L3's
    /// timestamps, and a health check's.
    static let numberFields = Set(
        names { $0 == .integer || $0 == .time } + [EntryColumn.createdAt, EntryColumn.updatedAt]
            + ["check_time", "response_time_ms", "response_ms"]
    )
    /// The credential fields, left out of exports unless asked for.
    static let credentialFields = Set(names { $0 == .credential })

    /// The names of the entry fields whose kind passes `include`.
    private static func names(_ include: (EntryField.Kind) -> Bool) -> [String] {
        EntryField.all.filter { include($0.kind) }.map(\.rawValue)
    }

    /// `pairs` with the password inside `proxy_url` masked (`http://user:***@host`), for an export without
    /// credentials: the URL's password is a credential too.
    static func maskingURLPassword(_ pairs: [(String, String)]) -> [(String, String)] {
        pairs.map { name, value in
            name == EntryField.proxyURL.rawValue ? (name, URLPassword.masked(in: value) ?? value) : (name, value)
        }
    }

    /// The JSON value for field `name` whose text is `value`.
    ///
    /// Text fields stay strings; flags become booleans (`1`/`0`/`true`/`false`); number fields and any other field
    /// whose text is a JSON number become numbers; an empty number field is `null`.
    static func json(name: String, value: String) -> JSONValue {
        if textFields.contains(name) {
            return .string(value)
        }
        if flagFields.contains(name) {
            switch value.lowercased() {
            case "1", "true":
                return .bool(true)
            case "0", "false":
                return .bool(false)
            default:
                return .string(value)
            }
        }
        if JSONValue.isNumber(value) {
            return .number(value)
        }
        if numberFields.contains(name), value.isEmpty {
            return .null
        }
        return .string(value)
    }

    /// A JSON object from name/value strings (`HGETALL`'s reply), optionally after a leading member.
    ///
    /// - Parameters:
    ///   - pairs: Names and values, in reply order.
    ///   - leading: A member put first (e.g. the key); a field of the same name in `pairs` is left out.
    ///   - dropping: Names left out.
    static func object(
        _ pairs: [(String, String)],
        leading: (String, JSONValue)? = nil,
        dropping: Set<String> = []
    ) -> JSONValue {
        var members: [(String, JSONValue)] = []
        members.reserveCapacity(pairs.count + 1)
        var dropping = dropping
        if let leading {
            members.append(leading)
            dropping.insert(leading.0)
        }
        for (name, value) in pairs where !dropping.contains(name) {
            members.append((name, json(name: name, value: value)))
        }
        return .object(members)
    }
}
