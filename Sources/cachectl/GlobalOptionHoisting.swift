/// Lets the shared options stand before the subcommand too (`cachectl --socket PATH get KEY`), as people write them
/// for redis-cli: they are moved behind the subcommand's name, where ArgumentParser looks for them.
enum GlobalOptionHoisting {
    /// Options that take a value, and flags.
    static let valued: Set<String> = ["--socket", "--timeout", "--server-uid"]
    static let flags: Set<String> = ["--json"]

    static func rewrite(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if flags.contains(argument) {
                leading.append(argument)
                index += 1
            } else if valued.contains(argument), index + 1 < arguments.count {
                leading.append(contentsOf: arguments[index...index + 1])
                index += 2
            } else if let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init),
                valued.contains(name), argument.contains("=")
            {
                leading.append(argument)
                index += 1
            } else {
                break
            }
        }
        guard !leading.isEmpty, index < arguments.count else { return arguments }
        // The subcommand name, then the hoisted options, then the rest (raw takes its words verbatim after them).
        return [arguments[index]] + leading + arguments[(index + 1)...]
    }
}

extension CacheCtl {
    /// The entry point: hoists leading shared options, then parses and runs as ArgumentParser does.
    static func main() {
        main(GlobalOptionHoisting.rewrite(Array(RawArguments.all.dropFirst())))
    }
}
