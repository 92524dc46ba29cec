/// One argument of a command as COMMAND DOCS describes it (Redis 7's argument tree), read from the `syntax` line
/// the command table declares, so the table stays the one declaration of each command.
///
/// The syntax line's grammar: words separated by spaces; `[ ... ]` is optional; `a | b` (spaced) chooses one of
/// its sides; `A|B` (unspaced) chooses one token; a trailing `...` repeats, and `x [x ...]` is one repeated `x`;
/// an UPPERCASE word is a token, followed by a lowercase word it is a token that takes that argument (`EX
/// seconds`); a lowercase word is an argument, of type `key` when named `key`, `pattern` when named `pattern`,
/// `integer` for counts and times, `string` otherwise.
struct CommandArgument: Equatable, Sendable {
    enum Kind: String, Sendable {
        case string, integer, key, pattern
        case pureToken = "pure-token"
        case oneOf = "oneof"
        case block
    }

    var name: String
    var kind: Kind
    var token: String? = nil
    var optional = false
    var multiple = false
    var children: [CommandArgument] = []

    /// The arguments of a syntax line.
    static func parse(_ syntax: String) -> [CommandArgument] {
        var words = Substring(syntax).split(separator: " ").map(String.init)[...]
        return sequence(&words, until: nil)
    }

    // MARK: - Parsing

    /// Items up to `closing` (or the end), split into alternatives at a spaced `|`.
    private static func sequence(_ words: inout ArraySlice<String>, until closing: String?) -> [CommandArgument] {
        var alternatives: [[CommandArgument]] = [[]]
        while let word = words.first {
            if word == closing {
                words.removeFirst()
                break
            }
            words.removeFirst()
            switch word {
            case "|":
                alternatives.append([])
            case "...":
                if let last = alternatives[alternatives.count - 1].indices.last {
                    alternatives[alternatives.count - 1][last].multiple = true
                }
            case "[":
                append(group(&words), to: &alternatives[alternatives.count - 1])
            default:
                if word.hasPrefix("[") {
                    words.insert(String(word.dropFirst()), at: words.startIndex)
                    append(group(&words), to: &alternatives[alternatives.count - 1])
                } else {
                    let closes = word.hasSuffix("]") && closing == "]"
                    let bare = closes ? String(word.dropLast()) : word
                    if !bare.isEmpty { appendWord(bare, to: &alternatives[alternatives.count - 1], words: &words) }
                    if closes { break }
                }
            }
            if word.hasSuffix("]"), closing == "]", word != "[" { break }
        }
        let choices = alternatives.filter { !$0.isEmpty }
        guard choices.count > 1 else { return choices.first ?? [] }
        return [
            CommandArgument(
                name: choices.map { $0.first?.name ?? "" }.joined(separator: "_").lowercased(),
                kind: .oneOf,
                children: choices.map {
                    $0.count == 1 ? $0[0] : CommandArgument(name: $0[0].name, kind: .block, children: $0)
                }
            )
        ]
    }

    /// `[ ... ]` after its opening bracket: optional, one argument or a block.
    private static func group(_ words: inout ArraySlice<String>) -> CommandArgument? {
        let inner = sequence(&words, until: "]")
        guard !inner.isEmpty else { return nil }
        var argument = inner.count == 1 ? inner[0] : CommandArgument(name: inner[0].name, kind: .block, children: inner)
        argument.optional = true
        return argument
    }

    private static func append(_ argument: CommandArgument?, to items: inout [CommandArgument]) {
        guard var argument else { return }
        // `x [x ...]`: the optional repetition of the argument before it makes that argument multiple.
        if argument.optional, argument.multiple, let last = items.last, last.name == argument.name,
            last.kind == argument.kind
        {
            items[items.count - 1].multiple = true
            return
        }
        if argument.kind == .block, argument.children.count > 1, argument.multiple {
            argument.multiple = true
        }
        items.append(argument)
    }

    private static func appendWord(_ word: String, to items: inout [CommandArgument], words: inout ArraySlice<String>) {
        if word.contains("|") {
            let choices = word.split(separator: "|").map {
                CommandArgument(name: $0.lowercased(), kind: .pureToken, token: String($0))
            }
            items.append(
                CommandArgument(name: choices.map(\.name).joined(separator: "_"), kind: .oneOf, children: choices)
            )
            return
        }
        if isToken(word) {
            if let next = words.first, !isToken(next), next != "|", next != "...", !next.hasPrefix("["), next != "[" {
                words.removeFirst()
                let bare = next.hasSuffix("]") ? String(next.dropLast()) : next
                if next.hasSuffix("]") { words.insert("]", at: words.startIndex) }
                items.append(CommandArgument(name: bare, kind: kind(of: bare), token: word))
            } else {
                items.append(CommandArgument(name: word.lowercased(), kind: .pureToken, token: word))
            }
            return
        }
        items.append(CommandArgument(name: word, kind: kind(of: word)))
    }

    private static func isToken(_ word: String) -> Bool {
        word.contains { $0.isUppercase } && !word.contains { $0.isLowercase }
    }

    private static func kind(of name: String) -> Kind {
        switch name {
        case "key": .key
        case "pattern": .pattern
        case "seconds", "milliseconds", "count", "index", "cursor", "unix-time", "unix-ms", "protover", "response_ms":
            .integer
        default: .string
        }
    }
}
