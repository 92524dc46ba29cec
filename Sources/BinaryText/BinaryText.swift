/// A lossless mapping between byte strings and Swift `String`s, so keys, values and fields of any bytes can travel
/// through code and files that hold text.
///
/// Swift strings hold only valid Unicode and compare by canonical equivalence (`"é"` equals `"e\u{301}"`), so
/// decoding a client's bytes as UTF-8 either loses bytes (invalid sequences become U+FFFD) or merges distinct keys.
/// This mapping avoids both: a byte string whose scalars are all below U+0300 (ASCII, Latin-1 and the Latin
/// extensions: text in which no two distinct strings are canonically equivalent) maps to that text unchanged; any
/// other byte string maps each byte at or above 0x80 to a scalar of its own, U+10FF00 + byte, at the end of the
/// Supplementary Private Use Area-B. Those scalars are never part of a string kept unchanged, have no
/// decomposition and never combine, so:
/// - `bytes(of: string(from: b)) == b` for every byte string `b`, the empty one included;
/// - two distinct byte strings map to strings that are distinct under `String`'s `==` and hash.
///
/// Proxy URLs, hosts and source names are ASCII: for them the mapping is the identity and costs a scan.
public enum BinaryText {
    /// The first of the 256 scalars that stand for single bytes.
    static let escapeBase: UInt32 = 0x10_FF00
    /// Scalars below this are kept as text.
    static let plainLimit: UInt32 = 0x300

    /// The string that stands for `bytes`.
    public static func string<Bytes: Collection<UInt8>>(from bytes: Bytes) -> String {
        if let plain = bytes.withContiguousStorageIfAvailable({ plainText($0) }) {
            if let plain { return plain }
        } else if let plain = plainText(Array(bytes)) {
            return plain
        }
        var scalars = String.UnicodeScalarView()
        for byte in bytes {
            if byte < 0x80 {
                scalars.append(Unicode.Scalar(byte))
            } else {
                scalars.append(Unicode.Scalar(escapeBase + UInt32(byte))!)
            }
        }
        return String(scalars)
    }

    /// The bytes `string` stands for: its UTF-8, with every escape scalar turned back into its byte.
    public static func bytes(of string: String) -> [UInt8] {
        if isPlain(string) { return Array(string.utf8) }
        var result: [UInt8] = []
        result.reserveCapacity(string.utf8.count)
        for scalar in string.unicodeScalars {
            if scalar.value >= escapeBase {
                result.append(UInt8(truncatingIfNeeded: scalar.value - escapeBase))
            } else {
                result.append(contentsOf: UTF8.encode(scalar)!)
            }
        }
        return result
    }

    /// Calls `body` with the bytes `string` stands for, without copying them when the string is plain text.
    public static func withBytes<R>(of string: String, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if isPlain(string) {
            var copy = string
            return try copy.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
        }
        return try bytes(of: string).withUnsafeBytes { try body($0) }
    }

    /// The number of bytes `string` stands for.
    public static func byteCount(of string: String) -> Int {
        if isPlain(string) { return string.utf8.count }
        var count = 0
        for scalar in string.unicodeScalars {
            count += scalar.value >= escapeBase ? 1 : UTF8.width(scalar)
        }
        return count
    }

    /// `string` in the form a client's bytes map to: the identity for strings this type made, and for text read
    /// from elsewhere (a file written by an older version, proxywhirl's database) the string of its UTF-8 bytes.
    public static func canonical(_ string: String) -> String {
        var copy = string
        if copy.withUTF8({ plainText($0) != nil }) { return string }
        if isEscaped(string) { return string }
        return self.string(from: Array(string.utf8))
    }

    // MARK: - Classification

    /// `bytes` as text when they are valid UTF-8 of scalars below U+0300 only, else nil.
    private static func plainText(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        if isASCII(bytes) { return String(decoding: bytes, as: UTF8.self) }
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if byte < 0x80 {
                index += 1
                continue
            }
            // Two-byte sequences C2 80 ... CB BF encode U+0080 ... U+02FF.
            guard byte >= 0xC2, byte <= 0xCB, index + 1 < count, bytes[index + 1] & 0xC0 == 0x80 else { return nil }
            index += 2
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether every byte is below 0x80, eight bytes at a time: keys and URLs are ASCII, and this runs for every
    /// argument a command reads.
    private static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var index = 0
        let count = bytes.count
        while index + 8 <= count {
            if raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            index += 8
        }
        while index < count {
            if bytes[index] >= 0x80 { return false }
            index += 1
        }
        return true
    }

    private static func plainText(_ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBufferPointer { plainText($0) }
    }

    /// Whether `string` holds no escape scalar (its UTF-8 has no 0xF4 lead byte, which begins every scalar from
    /// U+100000 up).
    private static func isPlain(_ string: String) -> Bool {
        var copy = string
        return copy.withUTF8 { isASCII($0) || !$0.contains(0xF4) }
    }

    /// Whether every scalar of `string` is ASCII or an escape: the form of a string made from non-plain bytes.
    private static func isEscaped(_ string: String) -> Bool {
        string.unicodeScalars.allSatisfy { $0.value < 0x80 || $0.value >= escapeBase }
    }
}
