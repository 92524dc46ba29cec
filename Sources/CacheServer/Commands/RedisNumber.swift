/// Number parsing with Redis's rules.
enum RedisNumber {
    /// Redis's `string2ll`: optional '-', digits, no '+', no spaces, no leading zeros, fits in Int64.
    static func parseInteger<Bytes: Collection>(_ bytes: Bytes) -> Int? where Bytes.Element == UInt8 {
        var iterator = bytes.makeIterator()
        guard var byte = iterator.next() else { return nil }
        let count = bytes.count
        if count > 20 { return nil }
        if count == 1 && byte == UInt8(ascii: "0") { return 0 }
        var negative = false
        if byte == UInt8(ascii: "-") {
            negative = true
            guard let next = iterator.next() else { return nil }
            byte = next
        }
        guard byte >= UInt8(ascii: "1"), byte <= UInt8(ascii: "9") else { return nil }
        var magnitude = UInt64(byte - UInt8(ascii: "0"))
        while let next = iterator.next() {
            guard next >= UInt8(ascii: "0"), next <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(next - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            magnitude = sum
        }
        if negative {
            if magnitude > UInt64(Int64.max) + 1 { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int(Int64.min) : -Int(magnitude)
        }
        if magnitude > UInt64(Int64.max) { return nil }
        return Int(magnitude)
    }

    /// A finite double written the way clients send them ("1.5", "-3", "1e3"); no spaces, no "nan"/"inf".
    static func parseDouble<Bytes: Collection>(_ bytes: Bytes) -> Double? where Bytes.Element == UInt8 {
        guard !bytes.isEmpty, bytes.count < 64 else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let first = text.utf8.first, first != UInt8(ascii: " "), first != UInt8(ascii: "+") || text.count > 1,
            let value = Double(text), value.isFinite
        else { return nil }
        return value
    }
}
