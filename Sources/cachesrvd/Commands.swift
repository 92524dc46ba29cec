import ArgumentParser
import CacheServer

/// `cachesrvd commands`: the command reference, generated from the server's command table.
struct Commands: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the command reference (Markdown) from the server's command table."
    )

    func run() throws {
        print(CommandReference.markdown(), terminator: "")
    }
}
