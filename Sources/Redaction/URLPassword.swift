/// Finds and masks the password in a URL's userinfo (`scheme://user:password@host`), so that a secret
/// carried inside a proxy URL or a health error text never reaches a disk, an export or a log in clear.
///
/// Only the password is masked: `http://alice:s3cret@10.0.0.1:3128` becomes
/// `http://alice:***@10.0.0.1:3128`. A userinfo without `:` (no password) and an empty password are left
/// as they are. The scan works on UTF-8 bytes; every delimiter is ASCII, so the text around a password is
/// kept byte for byte.
public enum URLPassword {
    /// What a masked password is replaced with.
    public static let mask = "***"

    /// `url` with its userinfo password masked, or `nil` when it carries no password.
    ///
    /// `url` is one URL: `scheme://[user[:password]@]host...`, or without a scheme
    /// `user:password@host:port` (the form proxy lists often use).
    public static func masked(in url: String) -> String? {
        let bytes = Array(url.utf8)
        let start = authorityStart(in: bytes)
        guard let password = passwordRange(in: bytes, authorityStart: start, stopAtSpace: false) else { return nil }
        return replacing(bytes, [password])
    }

    /// Whether `url` carries a userinfo password (`masked(in:)` would change it).
    public static func isPresent(in url: String) -> Bool {
        let bytes = Array(url.utf8)
        return passwordRange(in: bytes, authorityStart: authorityStart(in: bytes), stopAtSpace: false) != nil
    }

    /// `text` (free text such as an error message) with the password of every `scheme://user:password@`
    /// URL in it masked; `text` itself when there is none.
    ///
    /// In free text a URL needs its `scheme://` to be recognised, and its authority ends at white space
    /// or a quote as well as at `/`, `?` and `#`.
    public static func maskedEverywhere(in text: String) -> String {
        let bytes = Array(text.utf8)
        let ranges = passwordRangesEverywhere(in: bytes)
        return ranges.isEmpty ? text : replacing(bytes, ranges)
    }

    /// The passwords of every `scheme://user:password@` URL in free text.
    private static func passwordRangesEverywhere(in bytes: [UInt8]) -> [Range<Int>] {
        var ranges = [Range<Int>]()
        var index = 0
        while let separator = find(schemeSeparator, in: bytes, from: index) {
            let authority = separator + schemeSeparator.count
            if separator > 0, isSchemeByte(bytes[separator - 1]),
                let password = passwordRange(in: bytes, authorityStart: authority, stopAtSpace: true)
            {
                ranges.append(password)
                index = password.upperBound
            } else {
                index = authority
            }
        }
        return ranges
    }

    /// Bytes that may hold a URL (a command argument: any bytes, not necessarily UTF-8) with every password masked:
    /// those of `scheme://` URLs anywhere in them, else that of the whole argument read as one URL (the
    /// scheme-less `user:password@host` form). `nil` when there is none, so the caller keeps its own bytes.
    public static func masked(bytes: [UInt8]) -> [UInt8]? {
        var ranges = passwordRangesEverywhere(in: bytes)
        if ranges.isEmpty,
            let whole = passwordRange(in: bytes, authorityStart: authorityStart(in: bytes), stopAtSpace: false)
        {
            ranges = [whole]
        }
        return ranges.isEmpty ? nil : replacingBytes(bytes, ranges)
    }

    /// `text` masked with `maskedEverywhere(in:)`; `nil` stays `nil`.
    public static func maskedEverywhere(in text: String?) -> String? {
        text.map { maskedEverywhere(in: $0) }
    }

    private static let schemeSeparator = Array("://".utf8)

    /// Where the authority of one URL starts: after `scheme://` when the text starts with a valid scheme,
    /// else at the beginning (a URL without a scheme).
    private static func authorityStart(in bytes: [UInt8]) -> Int {
        guard let separator = find(schemeSeparator, in: bytes, from: 0), separator > 0 else { return 0 }
        let scheme = bytes[0..<separator]
        guard isLetter(scheme[0]), scheme.allSatisfy(isSchemeByte) else { return 0 }
        return separator + schemeSeparator.count
    }

    /// The bytes of the password in the authority starting at `start`: after the first `:` of the userinfo, which
    /// ends at the last `@` before the first `/`, `?` or `#` that follows the first `@`. A generated password may
    /// hold `/`, `?`, `#` or `@` itself (`http://u:a/b#c@host`), so the delimiters only end the authority once an
    /// `@` was seen; a URL with an `@` in its path and no userinfo (`http://h:80/a@b`) is masked too, which errs on
    /// the safe side. In free text (`stopAtSpace`) white space and quotes end the URL. `nil` when there is no
    /// non-empty password.
    private static func passwordRange(in bytes: [UInt8], authorityStart start: Int, stopAtSpace: Bool) -> Range<Int>? {
        var end = start
        var sawAt = false
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "@") {
                sawAt = true
            } else if stopAtSpace && endsText(byte) || sawAt && endsAuthority(byte) {
                break
            }
            end += 1
        }
        guard let at = bytes[start..<end].lastIndex(of: UInt8(ascii: "@")),
            let colon = bytes[start..<at].firstIndex(of: UInt8(ascii: ":")),
            colon + 1 < at
        else { return nil }
        return (colon + 1)..<at
    }

    /// Ends a URL's authority once its userinfo is behind it.
    private static func endsAuthority(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "/") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#")
    }

    /// Ends a URL inside free text.
    private static func endsText(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\""),
            UInt8(ascii: "'"), UInt8(ascii: "<"), UInt8(ascii: ">"):
            true
        default: false
        }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
    }

    private static func isSchemeByte(_ byte: UInt8) -> Bool {
        isLetter(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "+")
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count, start <= bytes.count - needle.count else { return nil }
        for index in start...(bytes.count - needle.count)
        where bytes[index..<(index + needle.count)].elementsEqual(needle) {
            return index
        }
        return nil
    }

    /// `bytes` with each (ascending, disjoint) range replaced by the mask.
    private static func replacing(_ bytes: [UInt8], _ ranges: [Range<Int>]) -> String {
        String(decoding: replacingBytes(bytes, ranges), as: UTF8.self)
    }

    private static func replacingBytes(_ bytes: [UInt8], _ ranges: [Range<Int>]) -> [UInt8] {
        var output = [UInt8]()
        output.reserveCapacity(bytes.count)
        var cursor = 0
        for range in ranges {
            output += bytes[cursor..<range.lowerBound]
            output += Array(mask.utf8)
            cursor = range.upperBound
        }
        output += bytes[cursor...]
        return output
    }
}
