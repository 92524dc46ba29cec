import XCTest

extension RawClient {
    /// An INFO section's `name:value` lines (a name with nothing after its colon maps to ""); headings are skipped.
    func info(_ section: String) throws -> [String: String] {
        let text = try XCTUnwrap(command(["INFO", section]).text)
        var fields: [String: String] = [:]
        for line in text.split(separator: "\r\n") where line.contains(":") {
            let parts = line.split(separator: ":", maxSplits: 1)
            fields[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return fields
    }
}
