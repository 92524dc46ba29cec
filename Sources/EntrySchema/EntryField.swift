/// The hash fields of a cached proxy entry (HSET/HGET/HGETALL/HDEL), named as in proxywhirl, in canonical order, with
/// every fact about each field declared once, here: its kind, whether it may be unset, and its column.
///
/// The stores (SQLite rows, JSONL lines, the journal), proxywhirl's importer, the hash commands and cachectl iterate
/// `EntryField.all` instead of naming the fields: adding a field touches this file and `CacheEntry`'s storage. The
/// canonical order is L2's column order and the JSONL key order on disk; it must not change.
public enum EntryField: String, CaseIterable, Sendable {
    case proxyURL = "proxy_url"
    case username
    case password
    case source
    case fetchTime = "fetch_time"
    case lastAccessed = "last_accessed"
    case accessCount = "access_count"
    case ttlSeconds = "ttl_seconds"
    case expiresAt = "expires_at"
    case healthStatus = "health_status"
    case failureCount = "failure_count"
    case evictedFromL1 = "evicted_from_l1"
    case lastHealthCheck = "last_health_check"
    case consecutiveHealthFailures = "consecutive_health_failures"
    case consecutiveHealthSuccesses = "consecutive_health_successes"
    case recoveryAttempt = "recovery_attempt"
    case nextCheckTime = "next_check_time"
    case lastHealthError = "last_health_error"
    case totalHealthChecks = "total_health_checks"
    case totalHealthCheckFailures = "total_health_check_failures"

    /// Every field in canonical order, built once (`allCases` makes a new array on each call): the loops of the
    /// write paths iterate this.
    public static let all: [EntryField] = allCases

    /// What a field holds, and so how each store writes it.
    public enum Kind: Sendable {
        /// Free text.
        case text
        /// A secret (the username and password): text kept in memory, stored only as a Fernet token in the field's
        /// `columnName` (`username_encrypted`), left out of exports unless asked for.
        case credential
        /// A health status: text from a closed set (`unknown`, `healthy`, ...).
        case status
        /// A non-negative integer (a count, a TTL in seconds).
        case integer
        /// A time: Unix seconds, fractional (SQLite REAL, ISO-8601 text in JSONL lines).
        case time
        /// A 0/1 flag (a boolean in JSON).
        case flag
    }

    /// The facts of one field: one row of the table.
    public struct Facts: Sendable {
        /// What the field holds.
        public var kind: Kind
        /// Whether the field may be unset (`HDEL`; NULL in SQLite, `null` in JSONL).
        public var isOptional: Bool
        /// Its column's declaration in SQLite's `CREATE TABLE`, after the name.
        public var declaration: String
        /// Whether a SQLite file must already have its column to be taken for an entries table.
        public var isRequiredColumn: Bool
        /// Whether its column must accept NULL although older files declared it NOT NULL (a rebuild fixes them).
        public var mustBeNullable: Bool

        init(
            _ kind: Kind,
            optional: Bool = false,
            _ declaration: String,
            required: Bool = false,
            mustBeNullable: Bool = false
        ) {
            self.kind = kind
            self.isOptional = optional
            self.declaration = declaration
            self.isRequiredColumn = required
            self.mustBeNullable = mustBeNullable
        }
    }

    /// The field's row of the table. The SQLite declarations are proxywhirl's, except that `expires_at` may be NULL
    /// (the entry never expires).
    public var facts: Facts {
        switch self {
        case .proxyURL: Facts(.text, "TEXT NOT NULL", required: true)
        case .username: Facts(.credential, optional: true, "BLOB")
        case .password: Facts(.credential, optional: true, "BLOB")
        case .source: Facts(.text, "TEXT NOT NULL DEFAULT 'unknown'")
        case .fetchTime: Facts(.time, "REAL NOT NULL", required: true)
        case .lastAccessed: Facts(.time, "REAL NOT NULL", required: true)
        case .accessCount: Facts(.integer, "INTEGER DEFAULT 0")
        case .ttlSeconds: Facts(.integer, "INTEGER NOT NULL DEFAULT 0")
        case .expiresAt: Facts(.time, optional: true, "REAL", mustBeNullable: true)
        case .healthStatus: Facts(.status, "TEXT DEFAULT 'unknown'")
        case .failureCount: Facts(.integer, "INTEGER DEFAULT 0")
        case .evictedFromL1: Facts(.flag, "INTEGER DEFAULT 0")
        case .lastHealthCheck: Facts(.time, optional: true, "REAL")
        case .consecutiveHealthFailures: Facts(.integer, "INTEGER DEFAULT 0")
        case .consecutiveHealthSuccesses: Facts(.integer, "INTEGER DEFAULT 0")
        case .recoveryAttempt: Facts(.integer, "INTEGER DEFAULT 0")
        case .nextCheckTime: Facts(.time, optional: true, "REAL")
        case .lastHealthError: Facts(.text, optional: true, "TEXT")
        case .totalHealthChecks: Facts(.integer, "INTEGER DEFAULT 0")
        case .totalHealthCheckFailures: Facts(.integer, "INTEGER DEFAULT 0")
        }
    }

    /// What the field holds.
    public var kind: Kind { facts.kind }

    /// Whether the field may be unset (`HDEL`): the credentials, the last health error and the optional times.
    public var isOptional: Bool { facts.isOptional }

    /// Whether the field is a credential (stored only encrypted, left out of exports unless asked for).
    public var isCredential: Bool { kind == .credential }

    /// Whether the field holds a number (a time, a count, a TTL, the 0/1 flag): HINCRBY and HINCRBYFLOAT may
    /// change it, within its validation. The others hold text.
    public var isNumeric: Bool {
        switch kind {
        case .integer, .time, .flag: true
        case .text, .credential, .status: false
        }
    }

    /// The name of the field's column in the SQLite tables and of its key in JSONL lines, as proxywhirl names them:
    /// the field's name, `<name>_encrypted` for a credential (which holds its token).
    public var columnName: String {
        switch self {
        case .username: "username_encrypted"
        case .password: "password_encrypted"
        default: rawValue
        }
    }

    /// The field a column of an entries table or a key of a JSONL line holds, by `columnName` (exact case); also
    /// `proxy_url_encrypted`, which holds the proxy URL when it has a password. `nil` for other names (`key`,
    /// `created_at`, ...).
    public init?(columnName: String) {
        if columnName == EntryColumn.sealedProxyURL {
            self = .proxyURL
            return
        }
        guard let field = Self.all.first(where: { $0.columnName == columnName }) else { return nil }
        self = field
    }

    /// Looks a field up by name, ignoring ASCII case; nil for an unknown field.
    public init?(name: some Collection<UInt8>) {
        for field in Self.all {
            let raw = field.rawValue.utf8
            guard raw.count == name.count else { continue }
            var same = true
            for (wanted, given) in zip(raw, name) where wanted != Self.lowercased(given) {
                same = false
                break
            }
            if same {
                self = field
                return
            }
        }
        return nil
    }

    /// Looks a field up by name, ignoring ASCII case; nil for an unknown field.
    public init?(name: String) {
        self.init(name: name.utf8)
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }
}
