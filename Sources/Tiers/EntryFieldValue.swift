import EntrySchema

/// The value of one entry field (`EntryField`) as its own type, for code that reads and writes fields generically:
/// the stores' row and line codecs, the importer, the hash commands.
///
/// Each `EntryField.Kind` has one case: `.text` for text and credentials, `.status`, `.integer`, `.time`, `.flag`.
/// An unset optional field is `.text(nil)` or `.time(nil)`; a required field is never nil.
public enum EntryFieldValue: Sendable, Equatable {
    case text(String?)
    case status(HealthStatus)
    case integer(Int)
    case time(Double?)
    case flag(Bool)

    /// The value of `field` unset: `.time(nil)` for a time, `.text(nil)` otherwise (for an optional field).
    public static func unset(_ field: EntryField) -> EntryFieldValue {
        field.kind == .time ? .time(nil) : .text(nil)
    }
}

extension CacheEntry {
    /// The value of `field`, read and written as its property is, without validation or side effects (setting
    /// `ttl_seconds` does not move `expires_at`; `set(_:to:now:)` is the validating, client-facing setter).
    ///
    /// Setting a value of another kind than the field's, or nil for a required field, is a programming error.
    public subscript(field: EntryField) -> EntryFieldValue {
        get {
            switch field {
            case .proxyURL: .text(proxyURL)
            case .username: .text(username)
            case .password: .text(password)
            case .source: .text(source)
            case .fetchTime: .time(fetchTime)
            case .lastAccessed: .time(lastAccessed)
            case .accessCount: .integer(accessCount)
            case .ttlSeconds: .integer(ttlSeconds)
            case .expiresAt: .time(expiresAt)
            case .healthStatus: .status(healthStatus)
            case .failureCount: .integer(failureCount)
            case .evictedFromL1: .flag(evictedFromL1)
            case .lastHealthCheck: .time(lastHealthCheck)
            case .consecutiveHealthFailures: .integer(consecutiveHealthFailures)
            case .consecutiveHealthSuccesses: .integer(consecutiveHealthSuccesses)
            case .recoveryAttempt: .integer(recoveryAttempt)
            case .nextCheckTime: .time(nextCheckTime)
            case .lastHealthError: .text(lastHealthError)
            case .totalHealthChecks: .integer(totalHealthChecks)
            case .totalHealthCheckFailures: .integer(totalHealthCheckFailures)
            }
        }
        set {
            switch (field, newValue) {
            case (.proxyURL, .text(let value?)): proxyURL = value
            case (.username, .text(let value)): username = value
            case (.password, .text(let value)): password = value
            case (.source, .text(let value?)): source = value
            case (.fetchTime, .time(let value?)): fetchTime = value
            case (.lastAccessed, .time(let value?)): lastAccessed = value
            case (.accessCount, .integer(let value)): accessCount = value
            case (.ttlSeconds, .integer(let value)): ttlSeconds = value
            case (.expiresAt, .time(let value)): expiresAt = value
            case (.healthStatus, .status(let value)): healthStatus = value
            case (.failureCount, .integer(let value)): failureCount = value
            case (.evictedFromL1, .flag(let value)): evictedFromL1 = value
            case (.lastHealthCheck, .time(let value)): lastHealthCheck = value
            case (.consecutiveHealthFailures, .integer(let value)): consecutiveHealthFailures = value
            case (.consecutiveHealthSuccesses, .integer(let value)): consecutiveHealthSuccesses = value
            case (.recoveryAttempt, .integer(let value)): recoveryAttempt = value
            case (.nextCheckTime, .time(let value)): nextCheckTime = value
            case (.lastHealthError, .text(let value)): lastHealthError = value
            case (.totalHealthChecks, .integer(let value)): totalHealthChecks = value
            case (.totalHealthCheckFailures, .integer(let value)): totalHealthCheckFailures = value
            default: preconditionFailure("\(newValue) is not a value of field '\(field.rawValue)'")
            }
        }
    }
}
