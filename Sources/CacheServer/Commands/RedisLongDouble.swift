#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Redis's `long double` numbers, for HINCRBYFLOAT: parsed as `string2ld` does, formatted as `ld2string` does in
/// its human mode. On x86_64, as on the Redis builds people run, that is the 80-bit extended type, so sums such
/// as 10.5 + 0.1 give Redis's "10.6"; elsewhere Swift has no such type and `Double` is used.
enum RedisLongDouble {
    #if arch(x86_64) || arch(i386)
    typealias Value = Float80
    #else
    typealias Value = Double
    #endif

    /// Redis's `MAX_LONG_DOUBLE_CHARS`: the longest text parsed, and the formatting buffer.
    static let maxCharacters = 5 * 1024

    /// Redis's `string2ld`: the whole text is one number for `strtold` (no leading space, nothing after it), not
    /// NaN, and not out of range (overflow or underflow to zero). "inf" passes, as in Redis.
    static func parse<Bytes: Collection>(_ bytes: Bytes) -> Value? where Bytes.Element == UInt8 {
        guard let first = bytes.first, bytes.count < maxCharacters else { return nil }
        // C's isspace in the "C" locale.
        guard first != 0x20, !(0x09...0x0D).contains(first) else { return nil }
        var text = bytes.map { CChar(bitPattern: $0) }
        text.append(0)
        var value: Value = 0
        var consumed = 0
        var failure: Int32 = 0
        text.withUnsafeBufferPointer { buffer in
            guard let start = buffer.baseAddress else { return }
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            #if arch(x86_64) || arch(i386)
            value = strtold(start, &end)
            #else
            value = strtod(start, &end)
            #endif
            failure = errno
            consumed = end.map { UnsafePointer($0) - start } ?? 0
        }
        guard consumed == bytes.count, !value.isNaN, failure != EINVAL else { return nil }
        if failure == ERANGE, value.isInfinite || value == 0 { return nil }
        return value
    }

    /// Redis's `ld2string(..., LD_STR_HUMAN)`: fixed notation with 17 decimals, trailing zeros and a trailing
    /// point removed, "-0" as "0"; "inf" and "-inf" for infinities.
    static func format(_ value: Value) -> String {
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        var buffer = [CChar](repeating: 0, count: maxCharacters)
        let length = buffer.withUnsafeMutableBufferPointer { target -> Int in
            Int(
                withVaList([value]) { arguments in
                    #if arch(x86_64) || arch(i386)
                    vsnprintf(target.baseAddress, target.count, "%.17Lf", arguments)
                    #else
                    vsnprintf(target.baseAddress, target.count, "%.17f", arguments)
                    #endif
                }
            )
        }
        guard length > 0, length < maxCharacters else { return "" }  // no room: Redis's empty result
        var bytes = buffer[..<length].map { UInt8(bitPattern: $0) }
        if bytes.contains(UInt8(ascii: ".")) {
            while bytes.last == UInt8(ascii: "0") { bytes.removeLast() }
            if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        }
        if bytes == Array("-0".utf8) { return "0" }
        return String(decoding: bytes, as: UTF8.self)
    }
}
