import Redaction

// The fields most entries never set, kept out of line in one copy-on-write box, and their public properties.

extension CacheEntry {
    /// The box of an entry's rarely set fields: shared between copies of an entry until one of them changes a
    /// field (copy on write), and dropped again when every field is back at its default.
    ///
    /// `@unchecked Sendable`: `values` is only changed through `CacheEntry.changeRare`, on a box no other entry
    /// holds (`isKnownUniquelyReferenced`), so a box that can be seen from two threads is never written.
    final class RareFields: @unchecked Sendable {
        /// The fields themselves; `Values()` holds every default.
        struct Values: Equatable, Sendable {
            /// Optional credentials: kept in memory in the clear, stored on disk only as Fernet tokens.
            var username: String? = nil
            var password: String? = nil
            var failureCount = 0
            var lastHealthCheck: Double? = nil
            var consecutiveHealthFailures = 0
            var consecutiveHealthSuccesses = 0
            var recoveryAttempt = 0
            var nextCheckTime: Double? = nil
            var lastHealthError: String? = nil
            var totalHealthChecks = 0
            var totalHealthCheckFailures = 0
            var customFields: [CustomField] = []
            /// The source, when `SourceNames` could not take it (see `CacheEntry.sourceCode`).
            var source: String? = nil

            /// Whether every field holds its default: compared field by field, so a NaN time is not a default.
            var isDefault: Bool {
                username == nil && password == nil && failureCount == 0 && lastHealthCheck == nil
                    && consecutiveHealthFailures == 0 && consecutiveHealthSuccesses == 0 && recoveryAttempt == 0
                    && nextCheckTime == nil && lastHealthError == nil && totalHealthChecks == 0
                    && totalHealthCheckFailures == 0 && customFields.isEmpty && source == nil
            }

            /// Whether the fields other than `source` (which `==` compares on its own, wherever it is held) are
            /// equal.
            func sameFields(as other: Values) -> Bool {
                var mine = self
                var theirs = other
                mine.source = nil
                theirs.source = nil
                return mine == theirs
            }
        }

        var values: Values

        init(_ values: Values) {
            self.values = values
        }
    }

    /// The values of an entry without a box.
    static let defaultRareValues = RareFields.Values()

    /// Changes the rare fields: on the entry's own box (copied first when shared, made when missing), which is
    /// dropped when the change leaves every field at its default.
    @inline(__always)
    mutating func changeRare(_ change: (inout RareFields.Values) -> Void) {
        if rare == nil {
            var values = RareFields.Values()
            change(&values)
            if !values.isDefault { rare = RareFields(values) }
            return
        }
        if !isKnownUniquelyReferenced(&rare!) {
            rare = RareFields(rare!.values)
        }
        change(&rare!.values)
        if rare!.values.isDefault { rare = nil }
    }

    /// Optional credentials: kept in memory in the clear, stored on disk only as Fernet tokens.
    public var username: String? {
        get { rare?.values.username }
        set { changeRare { $0.username = newValue } }
    }

    public var password: String? {
        get { rare?.values.password }
        set { changeRare { $0.password = newValue } }
    }

    /// Consecutive failures reported with `HEALTH key fail`.
    public var failureCount: Int {
        get { rare?.values.failureCount ?? 0 }
        set { changeRare { $0.failureCount = newValue } }
    }

    // Health-monitoring fields (proxywhirl's L3 keeps them; so do all our tiers).

    public var lastHealthCheck: Double? {
        get { rare?.values.lastHealthCheck }
        set { changeRare { $0.lastHealthCheck = newValue } }
    }

    public var consecutiveHealthFailures: Int {
        get { rare?.values.consecutiveHealthFailures ?? 0 }
        set { changeRare { $0.consecutiveHealthFailures = newValue } }
    }

    public var consecutiveHealthSuccesses: Int {
        get { rare?.values.consecutiveHealthSuccesses ?? 0 }
        set { changeRare { $0.consecutiveHealthSuccesses = newValue } }
    }

    public var recoveryAttempt: Int {
        get { rare?.values.recoveryAttempt ?? 0 }
        set { changeRare { $0.recoveryAttempt = newValue } }
    }

    public var nextCheckTime: Double? {
        get { rare?.values.nextCheckTime }
        set { changeRare { $0.nextCheckTime = newValue } }
    }

    /// The last health error text: diagnostics, so every URL password in it is masked when it is set
    /// (`http://user:***@host`), before it can reach a tier, a reply or an export.
    public var lastHealthError: String? {
        get { rare?.values.lastHealthError }
        set {
            let masked = URLPassword.maskedEverywhere(in: newValue)
            changeRare { $0.lastHealthError = masked }
        }
    }

    public var totalHealthChecks: Int {
        get { rare?.values.totalHealthChecks ?? 0 }
        set { changeRare { $0.totalHealthChecks = newValue } }
    }

    public var totalHealthCheckFailures: Int {
        get { rare?.values.totalHealthCheckFailures ?? 0 }
        set { changeRare { $0.totalHealthCheckFailures = newValue } }
    }

    /// The entry's own attributes beyond the schema (`HSET key country de`), in insertion order; names distinct as
    /// bytes, never a schema field's. Empty for most entries, where they cost nothing.
    public internal(set) var customFields: [CustomField] {
        get { rare?.values.customFields ?? [] }
        set { changeRare { $0.customFields = newValue } }
    }
}
