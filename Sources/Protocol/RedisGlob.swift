/// Redis's glob-style pattern matching (`stringmatchlen`), as used by `KEYS`, `SCAN MATCH` and `CONFIG GET`.
///
/// `*` matches any run of bytes, `?` any one byte, `[abc]` one of a set, `[^abc]` or none of it, `[a-z]` a range
/// (either order), and `\x` the byte `x` literally (inside brackets too). An unclosed `[` runs to the end of the
/// pattern. With `caseInsensitive`, ASCII letters match either case (except a `\`-escaped byte inside brackets,
/// as in Redis).
///
/// Redis's guards against abusive patterns are kept: after the rest of a pattern has failed to match anywhere
/// after a `*`, earlier stars are not retried on longer runs, and recursion deeper than 1000 stars fails the match.
/// As in Redis, an empty string matches only an empty pattern, not even `*` (Redis's `KEYS` and `SCAN` treat a
/// lone `*` as "everything" before matching, so callers should too).
/// Ranges compare bytes as unsigned values (Redis compares C `char`s, which are signed on x86 and unsigned on ARM).
public enum RedisGlob {
    /// Whether `string` matches `pattern`.
    ///
    /// - Parameters:
    ///   - pattern: The glob pattern.
    ///   - string: The bytes to test, e.g. a key.
    ///   - caseInsensitive: Whether ASCII letters match regardless of case.
    /// - Returns: `true` when the whole of `string` matches the whole of `pattern`.
    public static func matches(
        _ pattern: some Collection<UInt8>,
        _ string: some Collection<UInt8>,
        caseInsensitive: Bool = false
    ) -> Bool {
        withBytes(pattern) { pattern in
            withBytes(string) { string in
                var matcher = Matcher(pattern: pattern, string: string, caseInsensitive: caseInsensitive)
                return matcher.match(patternStart: 0, stringStart: 0, nesting: 0)
            }
        }
    }

    private static func withBytes<R>(
        _ bytes: some Collection<UInt8>,
        _ body: (UnsafeBufferPointer<UInt8>) -> R
    ) -> R {
        if let result = bytes.withContiguousStorageIfAvailable(body) { return result }
        return Array(bytes).withUnsafeBufferPointer(body)
    }
}

/// The state of one match: the two byte sequences and Redis's "skip longer matches" flag.
private struct Matcher {
    let pattern: UnsafeBufferPointer<UInt8>
    let string: UnsafeBufferPointer<UInt8>
    let caseInsensitive: Bool
    var skipLongerMatches = false

    init(pattern: UnsafeBufferPointer<UInt8>, string: UnsafeBufferPointer<UInt8>, caseInsensitive: Bool) {
        self.pattern = pattern
        self.string = string
        self.caseInsensitive = caseInsensitive
    }

    /// The pattern byte at `index`, or 0 past its end (C's terminator, which Redis reads in places).
    @inline(__always)
    private func p(_ index: Int) -> UInt8 { index < pattern.count ? pattern[index] : 0 }

    @inline(__always)
    private func lower(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    @inline(__always)
    private func same(_ a: UInt8, _ b: UInt8) -> Bool {
        caseInsensitive ? lower(a) == lower(b) : a == b
    }

    mutating func match(patternStart: Int, stringStart: Int, nesting: Int) -> Bool {
        if nesting > 1000 { return false }
        var pi = patternStart
        var si = stringStart
        while pi < pattern.count && si < string.count {
            switch pattern[pi] {
            case UInt8(ascii: "*"):
                while pi + 1 < pattern.count && pattern[pi + 1] == UInt8(ascii: "*") { pi += 1 }
                if pi + 1 == pattern.count { return true }
                while si < string.count {
                    if match(patternStart: pi + 1, stringStart: si, nesting: nesting + 1) { return true }
                    if skipLongerMatches { return false }
                    si += 1
                }
                skipLongerMatches = true
                return false
            case UInt8(ascii: "?"):
                si += 1
            case UInt8(ascii: "["):
                guard matchClass(&pi, string[si]) else { return false }
                si += 1
            case UInt8(ascii: "\\"):
                if pattern.count - pi >= 2 { pi += 1 }
                guard same(pattern[pi], string[si]) else { return false }
                si += 1
            default:
                guard same(pattern[pi], string[si]) else { return false }
                si += 1
            }
            pi += 1
            if si == string.count {
                while p(pi) == UInt8(ascii: "*") && pi < pattern.count { pi += 1 }
                break
            }
        }
        return pi >= pattern.count && si == string.count
    }

    /// Matches `byte` against the bracket class opening at `pi`, leaving `pi` on its closing `]` (or the last byte
    /// of the pattern when unclosed).
    private func matchClass(_ pi: inout Int, _ byte: UInt8) -> Bool {
        pi += 1
        let negated = p(pi) == UInt8(ascii: "^")
        if negated { pi += 1 }
        var matched = false
        while true {
            let remaining = pattern.count - pi
            if p(pi) == UInt8(ascii: "\\") && remaining >= 2 {
                pi += 1
                if pattern[pi] == byte { matched = true }
            } else if p(pi) == UInt8(ascii: "]") && remaining > 0 {
                break
            } else if remaining <= 0 {
                pi -= 1
                break
            } else if remaining >= 3 && pattern[pi + 1] == UInt8(ascii: "-") {
                var start = pattern[pi]
                var end = pattern[pi + 2]
                var c = byte
                if start > end { swap(&start, &end) }
                if caseInsensitive {
                    start = lower(start)
                    end = lower(end)
                    c = lower(c)
                }
                pi += 2
                if c >= start && c <= end { matched = true }
            } else if same(pattern[pi], byte) {
                matched = true
            }
            pi += 1
        }
        return matched != negated
    }
}
