#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// INCRBYFLOAT's arithmetic, as Redis 7.0 does it: C's `long double` (80-bit extended precision on x86_64 Linux),
/// read with `strtold` (`string2ld`) and written with `"%.17Lf"` minus trailing zeros (`ld2string`'s
/// `LD_STR_HUMAN`), so the digits match redis-server's byte for byte.
enum RedisLongDouble {
    #if arch(x86_64) || arch(i386)
    /// C's `long double`.
    typealias Value = Float80
    #else
    /// C's `long double` where Swift has no 80-bit type (the digits may then differ from Redis's on x86_64).
    typealias Value = Double
    #endif

    /// Redis's `MAX_LONG_DOUBLE_CHARS`: the longest text read, and the buffer the formatting uses.
    static let maximumCharacters = 5 * 1024

    /// Redis's `string2ld`: the whole text is a number `strtold` reads (decimal, hexadecimal, "inf"), with no
    /// leading space, no NUL inside, not NaN, and no overflow or underflow to zero.
    static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Value? {
        let count = bytes.count
        guard count > 0, count < maximumCharacters else { return nil }
        var text = [CChar](repeating: 0, count: count + 1)
        for (index, byte) in bytes.enumerated() { text[index] = CChar(bitPattern: byte) }
        if isspace(Int32(UInt8(bitPattern: text[0]))) != 0 { return nil }
        return text.withUnsafeBufferPointer { buffer -> Value? in
            guard let start = buffer.baseAddress else { return nil }
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            #if arch(x86_64) || arch(i386)
            let value = strtold(start, &end)
            #else
            let value = strtod(start, &end)
            #endif
            let failure = errno
            guard let end, UnsafePointer(end) - start == count else { return nil }
            if failure == ERANGE, value.isInfinite || value == 0 { return nil }
            if failure == EINVAL || value.isNaN { return nil }
            return value
        }
    }

    /// Redis's `ld2string(..., LD_STR_HUMAN)` of a finite value: `"%.17Lf"`, trailing zeros and a trailing '.'
    /// removed, "-0" written "0".
    static func humanText(_ value: Value) -> String {
        var buffer = [CChar](repeating: 0, count: maximumCharacters)
        let written = buffer.withUnsafeMutableBufferPointer { target in
            withVaList([value]) { arguments in
                #if arch(x86_64) || arch(i386)
                vsnprintf(target.baseAddress, target.count, "%.17Lf", arguments)
                #else
                vsnprintf(target.baseAddress, target.count, "%.17f", arguments)
                #endif
            }
        }
        var bytes = buffer.prefix(max(0, min(Int(written), buffer.count - 1))).map { UInt8(bitPattern: $0) }
        if bytes.contains(UInt8(ascii: ".")) {
            while bytes.last == UInt8(ascii: "0") { bytes.removeLast() }
            if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        }
        if bytes == Array("-0".utf8) { bytes = [UInt8(ascii: "0")] }
        return String(decoding: bytes, as: UTF8.self)
    }
}
