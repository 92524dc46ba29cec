/// The ISO-8601 times of proxywhirl's JSONL shards, as Python's `datetime.isoformat()` writes them
/// for an aware UTC time: `2026-11-25T03:00:00.123456+00:00` (the fraction only when non-zero).
///
/// Formatting and parsing are done by hand (proleptic Gregorian calendar, days-from-civil
/// arithmetic): no Foundation formatter, no locale, no time zone database. Precision is one microsecond.
enum ISO8601Time {
    /// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`.
    static func format(_ seconds: Double) -> String {
        // Entry times are validated far below this; the clamp keeps a damaged value from trapping a writer.
        let bounded = seconds.isFinite ? min(max(seconds, -1e12), 1e12) : 0
        let micros = Int64((bounded * 1_000_000).rounded())
        let (wholeSeconds, fraction) = floorDivide(micros, 1_000_000)
        let (days, secondOfDay) = floorDivide(wholeSeconds, 86_400)
        let (year, month, day) = civil(fromDays: days)
        var text = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T"
        text += pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay % 3600 / 60, 2) + ":" + pad(secondOfDay % 60, 2)
        if fraction != 0 {
            text += "." + pad(fraction, 6)
        }
        return text + "+00:00"
    }

    /// Parses `YYYY-MM-DD[T ]HH:MM[:SS[.fraction]][Z|±HH:MM|±HHMM]` into Unix seconds; a time
    /// without an offset is taken as UTC. `nil` when the text is not such a time.
    static func parse(_ text: some StringProtocol) -> Double? {
        var reader = Reader(bytes: Array(text.utf8))
        guard let year = reader.number(digits: 4), reader.skip("-"),
            let month = reader.number(digits: 2), reader.skip("-"),
            let day = reader.number(digits: 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        guard reader.skip("T") || reader.skip("t") || reader.skip(" ") else { return nil }
        guard let hour = reader.number(digits: 2), reader.skip(":"), let minute = reader.number(digits: 2),
            hour < 24, minute < 60
        else { return nil }
        var second: Int64 = 0
        var micros: Int64 = 0
        if reader.skip(":") {
            guard let value = reader.number(digits: 2), value < 61 else { return nil }
            second = value
            if reader.skip(".") || reader.skip(",") {
                var digits = 0
                var roundUp = false
                while let digit = reader.digit() {
                    if digits < 6 {
                        micros = micros * 10 + digit
                    } else if digits == 6 {
                        roundUp = digit >= 5
                    }
                    digits += 1
                }
                guard digits > 0 else { return nil }
                for _ in digits..<max(digits, 6) {
                    micros *= 10
                }
                if roundUp {
                    micros += 1
                }
            }
        }
        var offset: Int64 = 0
        if reader.skip("Z") || reader.skip("z") {
            offset = 0
        } else if let sign: Int64 = reader.skip("+") ? 1 : (reader.skip("-") ? -1 : nil) {
            guard let offsetHours = reader.number(digits: 2) else { return nil }
            _ = reader.skip(":")
            let offsetMinutes = reader.number(digits: 2) ?? 0
            offset = sign * (offsetHours * 3600 + offsetMinutes * 60)
        }
        guard reader.atEnd else { return nil }
        let days = self.days(fromCivil: year, month, day)
        let whole = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        // One correctly rounded division: a time with at most 6 decimals round-trips exactly.
        return Double(whole * 1_000_000 + micros) / 1_000_000
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01.
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        var quotient = value / divisor
        var remainder = value % divisor
        if remainder < 0 {
            quotient -= 1
            remainder += divisor
        }
        return (quotient, remainder)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// A cursor over ASCII bytes.
    private struct Reader {
        var bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index == bytes.count }

        mutating func skip(_ character: Unicode.Scalar) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        mutating func digit() -> Int64? {
            guard index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") else {
                return nil
            }
            index += 1
            return Int64(bytes[index - 1] - UInt8(ascii: "0"))
        }

        mutating func number(digits: Int) -> Int64? {
            var value: Int64 = 0
            for _ in 0..<digits {
                guard let digit = digit() else { return nil }
                value = value * 10 + digit
            }
            return value
        }
    }
}
