#if canImport(Glibc)
import Glibc
#endif

/// Doubles in the text Redis 7 replies them in (`addReplyDouble`): `%.17g`, and `inf`, `-inf`, `nan`.
public enum RESPDouble {
    public static func text(of value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 40) { buffer in
            let count = withVaList([value]) { vsnprintf(buffer.baseAddress, 40, "%.17g", $0) }
            return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: Int(count)), as: UTF8.self)
        }
    }
}
