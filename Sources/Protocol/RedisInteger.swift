/// Redis's `string2ll`: the strict decimal integer syntax of request counts and lengths.
///
/// Accepted: `0`, or an optional `-` followed by a non-zero digit and more digits, fitting in 64 bits and shorter
/// than 21 bytes. Rejected: an empty string, `+`, spaces, leading zeros, `-0`, anything after the digits.
enum RedisInteger {
    /// Parses `raw[start..<end]`.
    ///
    /// - Returns: The value, or `nil` when the bytes are not a strict decimal integer.
    static func parse(_ raw: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int64? {
        let length = end - start
        if length <= 0 || length >= 21 { return nil }
        let zero = UInt8(ascii: "0")
        if length == 1 && raw[start] == zero { return 0 }
        var index = start
        var negative = false
        if raw[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
            if index == end { return nil }
        }
        let first = raw[index] &- zero
        guard first >= 1 && first <= 9 else { return nil }
        var value = UInt64(first)
        index += 1
        while index < end {
            let digit = raw[index] &- zero
            guard digit <= 9 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            if overflow1 || overflow2 { return nil }
            value = sum
            index += 1
        }
        if negative {
            let limit = UInt64(Int64.max) + 1
            if value > limit { return nil }
            return value == limit ? Int64.min : -Int64(value)
        }
        return value > UInt64(Int64.max) ? nil : Int64(value)
    }

    /// Parses the bytes of a collection (a test and tooling convenience).
    static func parse(_ bytes: some Collection<UInt8>) -> Int64? {
        let array = Array(bytes)
        return array.withUnsafeBytes { parse($0, from: 0, to: $0.count) }
    }
}
