import Foundation

/// How much of a reply must equal redis-server's.
enum ParityComparison: String {
    /// Byte for byte (no marker).
    case exact
    /// Only the RESP type byte (`~type`): TIME's values, MEMORY USAGE, CLIENT ID.
    case type
    /// Type and structure, not the text of scalars (`~shape`): TIME, HELLO's map, a random pick of a given size.
    case shape
    /// Byte for byte once every aggregate's elements are sorted (`~sorted`): KEYS, SCAN, HRANDFIELD of every field.
    case sorted
}

/// One command of a case file and how its reply is compared.
struct ParityCase {
    /// The 1-based line of the case file.
    var line: Int
    /// The command as written (without its marker), for reports.
    var text: String
    /// The command's arguments as bytes.
    var arguments: [[UInt8]]
    var comparison: ParityComparison
}

/// Commands sent on one connection, which starts from FLUSHALL.
struct ParityBlock {
    var title: String
    var line: Int
    var cases: [ParityCase] = []
}

/// A parsed case file of `Tests/EndToEndTests/Parity/` (the format is documented at the top of `01-strings.txt`).
struct ParityCaseFile {
    var name: String
    var blocks: [ParityBlock]

    var caseCount: Int { blocks.reduce(0) { $0 + $1.cases.count } }

    /// The directory of the case files, found from this source file's path.
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Parity")

    /// Reads and parses `name` from ``directory``.
    ///
    /// - Throws: ``ParityCaseFileError`` naming the file and line of a malformed case.
    static func load(_ name: String) throws -> ParityCaseFile {
        let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        var blocks: [ParityBlock] = []
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("===") {
                let title = line.dropFirst(3).trimmingCharacters(in: .whitespaces)
                blocks.append(ParityBlock(title: title, line: number))
                continue
            }
            guard !blocks.isEmpty else {
                throw ParityCaseFileError(file: name, line: number, reason: "a command before the first === block")
            }
            var comparison = ParityComparison.exact
            var command = Substring(line)
            if command.hasPrefix("~") {
                let marker = command.prefix { $0 != " " }
                guard let parsed = ParityComparison(rawValue: String(marker.dropFirst())), parsed != .exact else {
                    throw ParityCaseFileError(file: name, line: number, reason: "unknown marker \(marker)")
                }
                comparison = parsed
                command = command.dropFirst(marker.count).drop { $0 == " " }
            }
            let arguments: [[UInt8]]
            do {
                arguments = try Self.splitArguments(Array(command.utf8))
            } catch {
                throw ParityCaseFileError(file: name, line: number, reason: error)
            }
            guard !arguments.isEmpty else {
                throw ParityCaseFileError(file: name, line: number, reason: "a marker without a command")
            }
            blocks[blocks.count - 1].cases.append(
                ParityCase(line: number, text: String(command), arguments: arguments, comparison: comparison)
            )
        }
        return ParityCaseFile(name: name, blocks: blocks)
    }

    /// Splits a command into words as redis-cli does: spaces separate words; `"..."` takes the escapes `\xHH`, `\n`,
    /// `\r`, `\t`, `\b`, `\a`, `\\` and `\"`; `'...'` is literal but for `\'`; a closing quote must end the word.
    static func splitArguments(_ bytes: [UInt8]) throws(ParityCaseFileError.Reason) -> [[UInt8]] {
        var words: [[UInt8]] = []
        var index = 0
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        while true {
            while index < bytes.count && isSpace(bytes[index]) { index += 1 }
            guard index < bytes.count else { return words }
            var word: [UInt8] = []
            let quote = bytes[index]
            if quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") {
                index += 1
                while true {
                    guard index < bytes.count else { throw .init("unterminated quote") }
                    let byte = bytes[index]
                    if byte == quote {
                        index += 1
                        break
                    }
                    if byte == UInt8(ascii: "\\") && index + 1 < bytes.count {
                        let next = bytes[index + 1]
                        if quote == UInt8(ascii: "'") {
                            word.append(next == quote ? quote : byte)
                            index += next == quote ? 2 : 1
                            continue
                        }
                        if next == UInt8(ascii: "x"), index + 3 < bytes.count,
                            let value = UInt8(
                                String(decoding: bytes[(index + 2)...(index + 3)], as: UTF8.self),
                                radix: 16
                            )
                        {
                            word.append(value)
                            index += 4
                            continue
                        }
                        let escapes: [UInt8: UInt8] = [
                            UInt8(ascii: "n"): 10, UInt8(ascii: "r"): 13, UInt8(ascii: "t"): 9,
                            UInt8(ascii: "b"): 8, UInt8(ascii: "a"): 7,
                        ]
                        word.append(escapes[next] ?? next)
                        index += 2
                        continue
                    }
                    word.append(byte)
                    index += 1
                }
                guard index == bytes.count || isSpace(bytes[index]) else {
                    throw .init("a closing quote must be followed by a space")
                }
            } else {
                while index < bytes.count && !isSpace(bytes[index]) {
                    word.append(bytes[index])
                    index += 1
                }
            }
            words.append(word)
        }
    }
}

/// A malformed case file: the file, the line and what is wrong.
struct ParityCaseFileError: Error, CustomStringConvertible {
    /// What is wrong with a line, before the file and line are known.
    struct Reason: Error {
        var text: String
        init(_ text: String) { self.text = text }
    }

    var file: String
    var line: Int
    var reason: String

    init(file: String, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    init(file: String, line: Int, reason: Reason) {
        self.init(file: file, line: line, reason: reason.text)
    }

    var description: String { "\(file):\(line): \(reason)" }
}
