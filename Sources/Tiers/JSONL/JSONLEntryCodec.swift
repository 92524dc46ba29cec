import Foundation

/// Reads and writes shard lines: one JSON object per entry with every field under proxywhirl's
/// names, times as ISO-8601 text with an offset, credentials as hex of the Fernet token's bytes.
/// A proxy URL with a password is written masked, followed by `proxy_url_encrypted` (hex of the whole
/// URL's token); the field is left out otherwise, so lines without a password are proxywhirl's.
///
/// Writing is done by hand (fixed field order, `"expires_at": null` for an entry that never
/// expires); reading uses `JSONDecoder` and accepts proxywhirl's lines (times as text or numbers,
/// health fields absent). A line that is not such an object decodes to `nil` (a corrupt line).
/// Custom fields follow the schema fields as `"custom_fields": [["name", "value"], ...]` in insertion order, only
/// when the entry has some: lines without them are as before.
enum JSONLEntryCodec {
    /// Appends `record` as one line, newline included, to `output`.
    static func encode(_ record: JSONLRecord, into output: inout [UInt8]) {
        let entry = record.entry
        // Move the buffer into the writer and back: a copy would make every append copy all earlier lines.
        var writer = JSONObjectWriter(taking: &output)
        writer.field("key", string: entry.key)
        writer.field("proxy_url", string: entry.proxyURL)
        if let token = record.proxyURLToken {
            writer.field("proxy_url_encrypted", string: Hex.encode(token.utf8))
        }
        writer.field("username_encrypted", string: record.usernameToken.map { Hex.encode($0.utf8) })
        writer.field("password_encrypted", string: record.passwordToken.map { Hex.encode($0.utf8) })
        writer.field("source", string: entry.source)
        writer.field("fetch_time", string: ISO8601Time.format(entry.fetchTime))
        writer.field("last_accessed", string: ISO8601Time.format(entry.lastAccessed))
        writer.field("access_count", int: entry.accessCount)
        writer.field("ttl_seconds", int: entry.ttlSeconds)
        writer.field("expires_at", string: entry.expiresAt.map(ISO8601Time.format))
        writer.field("health_status", string: entry.healthStatus.rawValue)
        writer.field("failure_count", int: entry.failureCount)
        writer.field("evicted_from_l1", bool: entry.evictedFromL1)
        writer.field("last_health_check", string: entry.lastHealthCheck.map(ISO8601Time.format))
        writer.field("consecutive_health_failures", int: entry.consecutiveHealthFailures)
        writer.field("consecutive_health_successes", int: entry.consecutiveHealthSuccesses)
        writer.field("recovery_attempt", int: entry.recoveryAttempt)
        writer.field("next_check_time", string: entry.nextCheckTime.map(ISO8601Time.format))
        writer.field("last_health_error", string: entry.lastHealthError)
        writer.field("total_health_checks", int: entry.totalHealthChecks)
        writer.field("total_health_check_failures", int: entry.totalHealthCheckFailures)
        if !entry.customFields.isEmpty {
            writer.field("custom_fields", pairs: entry.customFields.map { ($0.name, $0.value) })
        }
        output = writer.finish()
        output.append(UInt8(ascii: "\n"))
    }

    /// One encoded line (newline included).
    static func encode(_ record: JSONLRecord) -> [UInt8] {
        var output = [UInt8]()
        encode(record, into: &output)
        return output
    }

    /// Decodes one line (without its newline); `nil` when the line is corrupt.
    static func decode(_ line: some Collection<UInt8>) -> JSONLRecord? {
        guard let decoded = try? JSONDecoder().decode(JSONLLine.self, from: Data(line)) else { return nil }
        return decoded.record
    }
}

/// Writes one flat JSON object.
private struct JSONObjectWriter {
    var output: [UInt8]
    private var first = true

    /// Takes over `output` (left empty) without copying it.
    init(taking output: inout [UInt8]) {
        self.output = []
        swap(&self.output, &output)
        self.output.append(UInt8(ascii: "{"))
    }

    mutating func field(_ name: String, string value: String?) {
        appendName(name)
        if let value {
            appendString(value)
        } else {
            output += Array("null".utf8)
        }
    }

    mutating func field(_ name: String, int value: Int) {
        appendName(name)
        output += Array(String(value).utf8)
    }

    mutating func field(_ name: String, bool value: Bool) {
        appendName(name)
        output += Array((value ? "true" : "false").utf8)
    }

    /// A member holding an array of `[name, value]` string pairs.
    mutating func field(_ name: String, pairs: [(String, String)]) {
        appendName(name)
        output.append(UInt8(ascii: "["))
        for (index, (first, second)) in pairs.enumerated() {
            output += index == 0 ? [UInt8(ascii: "[")] : [UInt8(ascii: ","), UInt8(ascii: " "), UInt8(ascii: "[")]
            appendString(first)
            output += [UInt8(ascii: ","), UInt8(ascii: " ")]
            appendString(second)
            output.append(UInt8(ascii: "]"))
        }
        output.append(UInt8(ascii: "]"))
    }

    mutating func finish() -> [UInt8] {
        output.append(UInt8(ascii: "}"))
        return output
    }

    private mutating func appendName(_ name: String) {
        if !first {
            output += [UInt8(ascii: ","), UInt8(ascii: " ")]
        }
        first = false
        appendString(name)
        output += [UInt8(ascii: ":"), UInt8(ascii: " ")]
    }

    private mutating func appendString(_ value: String) {
        CustomFieldsCodec.appendJSONString(value, to: &output)
    }
}
