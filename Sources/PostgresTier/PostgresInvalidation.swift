/// The invalidation notices sidecars send one another on one PostgreSQL channel (`pg_notify`, in the transaction
/// that commits the change, so a notice is delivered exactly when its change is visible).
///
/// A payload is `v1 <sidecar id> k<hex key> k<hex key> ...`, or `v1 <sidecar id> *` for "anything may have changed".
/// Keys are hex-encoded so that any bytes survive a text payload (behind a `k`, so the empty key is a word too); a batch's keys are split across as many notices
/// as needed to keep each under PostgreSQL's payload limit.
enum PostgresInvalidation {
    /// The channel every sidecar of a database listens on.
    static let channel = "cachesrvd_invalidate"
    /// PostgreSQL's limit is 8000 bytes; a little is kept spare.
    static let maxPayloadBytes = 7900
    private static let version = "v1"

    /// What a notice says.
    enum Notice: Equatable {
        case keys(sender: String, keys: [String])
        case everything(sender: String)
    }

    /// The payloads announcing `keys` (deduplicated, in first-seen order) from `sender`; one "everything" payload
    /// when there are more than `keyLimit` of them or one key alone is too long for a notice.
    static func payloads(sender: String, keys: [String], keyLimit: Int) -> [String] {
        var seen = Set<String>()
        let unique = keys.filter { seen.insert($0).inserted }
        guard !unique.isEmpty else { return [] }
        let head = "\(version) \(sender)"
        let everything = ["\(head) *"]
        if unique.count > keyLimit { return everything }
        var payloads: [String] = []
        var current = head
        for key in unique {
            let hex = "k" + hexEncode(key)
            if head.utf8.count + 1 + hex.utf8.count > maxPayloadBytes { return everything }
            if current.utf8.count + 1 + hex.utf8.count > maxPayloadBytes {
                payloads.append(current)
                current = head
            }
            current += " " + hex
        }
        payloads.append(current)
        return payloads
    }

    /// Reads a payload; nil for one this version does not understand (it is then treated as "everything").
    static func parse(_ payload: String) -> Notice? {
        let parts = payload.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count >= 3, parts[0] == version else { return nil }
        let sender = String(parts[1])
        if parts.count == 3, parts[2] == "*" { return .everything(sender: sender) }
        var keys: [String] = []
        keys.reserveCapacity(parts.count - 2)
        for part in parts.dropFirst(2) {
            guard part.first == "k", let key = hexDecode(part.dropFirst()) else { return nil }
            keys.append(key)
        }
        return .keys(sender: sender, keys: keys)
    }

    /// The sender of a payload, even one `parse` cannot read.
    static func sender(of payload: String) -> String? {
        let parts = payload.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        return parts.count >= 2 ? String(parts[1]) : nil
    }

    static func hexEncode(_ key: String) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(key.utf8.count * 2)
        for byte in key.utf8 {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hexDecode(_ hex: Substring) -> String? {
        let utf8 = Array(hex.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
