#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Epoch seconds shown to people as ISO 8601 in UTC.
enum Timestamp {
    /// `seconds` since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (milliseconds only when not whole).
    static func iso8601(_ seconds: Double) -> String {
        guard seconds.isFinite, abs(seconds) < 1e13 else { return String(seconds) }
        let whole = seconds.rounded(.down)
        var time = time_t(whole)
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else { return String(seconds) }
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        var text = "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
        text += "T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
        let millis = Int(((seconds - whole) * 1000).rounded(.down))
        if millis > 0 {
            text += "." + String(String(millis + 1000).dropFirst())
        }
        return text + "Z"
    }
}
