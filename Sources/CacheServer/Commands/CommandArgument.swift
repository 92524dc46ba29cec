/// One argument of a command as COMMAND DOCS describes it (Redis 7's argument tree), read from the `syntax` line
/// the command table declares, so the table stays the one declaration of each command.
///
/// The syntax line's grammar: words separated by spaces; `[ ... ]` is optional; `a | b` (spaced) chooses one of
/// its sides; `A|B` (unspaced) chooses one token; a trailing `...` repeats, `x [x ...]` is one repeated `x` and
/// `x y [x y ...]` one repeated block of `x y`;
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
        var words = words(of: syntax)[...]
        return sequence(&words, until: nil)
    }

    // MARK: - Parsing

    /// The words of a syntax line, each bracket a word of its own (`[key` is `[` `key`, `...]]` is `...` `]` `]`).
    private static func words(of syntax: String) -> [String] {
        var words: [String] = []
        for word in syntax.split(separator: " ") {
            var bare = word[...]
            while bare.first == "[" {
                words.append("[")
                bare = bare.dropFirst()
            }
            var closing = 0
            while bare.last == "]" {
                closing += 1
                bare = bare.dropLast()
            }
            if !bare.isEmpty { words.append(String(bare)) }
            words += repeatElement("]", count: closing)
        }
        return words
    }

    /// Items up to `closing` (or the end), split into alternatives at a spaced `|`.
    private static func sequence(_ words: inout ArraySlice<String>, until closing: String?) -> [CommandArgument] {
        var alternatives: [[CommandArgument]] = [[]]
        while let word = words.popFirst(), word != closing {
            switch word {
            case "|":
                alternatives.append([])
            case "...":
                if let last = alternatives[alternatives.count - 1].indices.last {
                    alternatives[alternatives.count - 1][last].multiple = true
                }
            case "[":
                append(group(&words), to: &alternatives[alternatives.count - 1])
            case "]":
                break  // unbalanced: ignored
            default:
                appendWord(word, to: &alternatives[alternatives.count - 1], words: &words)
            }
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

    /// `[ ... ]` after its opening bracket: optional, one argument or a block. `[x y ...]` repeats the whole block.
    private static func group(_ words: inout ArraySlice<String>) -> CommandArgument? {
        var inner = sequence(&words, until: "]")
        guard !inner.isEmpty else { return nil }
        if inner.count == 1 {
            inner[0].optional = true
            return inner[0]
        }
        let repeats = inner[inner.count - 1].multiple
        inner[inner.count - 1].multiple = false
        return CommandArgument(name: inner[0].name, kind: .block, optional: true, multiple: repeats, children: inner)
    }

    private static func append(_ argument: CommandArgument?, to items: inout [CommandArgument]) {
        guard let argument else { return }
        // `x [x ...]`: the optional repetition of the argument before it makes that argument multiple.
        if argument.optional, argument.multiple, argument.kind != .block, let last = items.last,
            last.name == argument.name, last.kind == argument.kind
        {
            items[items.count - 1].multiple = true
            return
        }
        // `x y [x y ...]`: the arguments before it become one repeated block.
        if argument.kind == .block, argument.multiple, items.count >= argument.children.count {
            let before = items.suffix(argument.children.count)
            let same = zip(before, argument.children).allSatisfy {
                $0.name == $1.name && $0.kind == $1.kind && $0.token == nil && !$0.optional && !$0.multiple
            }
            if same {
                items.removeLast(argument.children.count)
                var repeated = argument
                repeated.optional = false
                items.append(repeated)
                return
            }
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
            if let next = words.first, !isToken(next), !["|", "...", "[", "]"].contains(next) {
                words.removeFirst()
                items.append(CommandArgument(name: next, kind: kind(of: next), token: word))
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
