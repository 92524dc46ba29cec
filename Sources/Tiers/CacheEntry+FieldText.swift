// Parsing and formatting of field values: the text forms the server sends and accepts.

extension CacheEntry {
    /// A time (Unix seconds) as the server replies it: the shortest decimal text that reads back to the same
    /// `Double`, without an exponent; integral times have no fraction (`"1764038400"`, `"1764038400.25"`).
    public static func text(ofTime time: Double) -> String {
        guard time.isFinite else { return time.description }
        if time == time.rounded(.towardZero), abs(time) < 9.0e15 {
            return String(Int64(time))
        }
        let text = time.description
        guard let exponentIndex = text.firstIndex(where: { $0 == "e" || $0 == "E" }) else { return text }
        return expandExponent(
            mantissa: text[..<exponentIndex],
            exponent: Int(text[text.index(after: exponentIndex)...]) ?? 0
        )
    }

    /// Rewrites `d.ddd` x 10^exponent as plain decimal text.
    private static func expandExponent(mantissa: Substring, exponent: Int) -> String {
        var negative = false
        var digits: [Character] = []
        var pointPosition: Int? = nil
        for character in mantissa {
            switch character {
            case "-": negative = true
            case ".": pointPosition = digits.count
            default: digits.append(character)
            }
        }
        var point = (pointPosition ?? digits.count) + exponent
        if point <= 0 {
            digits.insert(contentsOf: repeatElement("0", count: 1 - point), at: 0)
            point = 1
        } else if point > digits.count {
            digits.append(contentsOf: repeatElement("0", count: point - digits.count))
        }
        var integer = String(digits[..<point])
        var fraction = String(digits[point...])
        while fraction.hasSuffix("0") { fraction.removeLast() }
        while integer.count > 1, integer.hasPrefix("0") { integer.removeFirst() }
        let sign = negative ? "-" : ""
        return fraction.isEmpty ? sign + integer : sign + integer + "." + fraction
    }

    /// The rounded seconds from `now` until `time`, at least 0.
    static func remainingSeconds(until time: Double, now: Double) -> Int {
        let remaining = (time - now).rounded()
        if remaining <= 0 { return 0 }
        if remaining >= Double(Int.max) { return Int.max }
        return Int(remaining)
    }

    static func invalid(_ field: Field, _ expectation: String) -> TieredCacheError {
        .invalid("invalid value for '\(field.rawValue)': \(expectation)")
    }

    /// The latest time a field may hold, Unix seconds (about the year 5138): far enough for any real use, and
    /// small enough that no arithmetic on times or their milliseconds can overflow.
    public static let latestTime: Double = 1e11
    /// The largest count a field may hold (2^53 - 1): counters incremented from it cannot overflow.
    public static let largestCount = 9_007_199_254_740_991
    /// The longest TTL, seconds (100 years).
    public static let longestTTL = 3_153_600_000

    /// The largest value an integer field may hold: `longestTTL` for `ttl_seconds`, `largestCount` for the counts.
    static func limit(of field: Field) -> Int {
        field == .ttlSeconds ? longestTTL : largestCount
    }

    static func time(_ text: String, _ field: Field) throws(TieredCacheError) -> Double {
        guard let value = Double(text), value.isFinite else {
            throw invalid(field, "expected a number of seconds")
        }
        guard value >= 0, value <= latestTime else {
            throw invalid(field, "expected Unix seconds from 0 to 100000000000")
        }
        return value
    }

    static func count(_ text: String, _ field: Field, limit: Int = largestCount) throws(TieredCacheError) -> Int {
        guard let value = Int(text), value >= 0 else { throw invalid(field, "expected a non-negative integer") }
        guard value <= limit else { throw invalid(field, "expected an integer from 0 to \(limit)") }
        return value
    }

    static func bool(_ text: String, _ field: Field) throws(TieredCacheError) -> Bool {
        switch text.lowercased() {
        case "1", "true": return true
        case "0", "false": return false
        default: throw invalid(field, "expected 1 or 0")
        }
    }
}
