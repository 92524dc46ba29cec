import ArgumentParser

extension CacheCtl {
    /// `cachectl raw ARG...`: sends any command and prints the reply as redis-cli does.
    struct Raw: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "raw",
            abstract: "Send any command; print the reply as redis-cli does.",
            discussion: """
                Everything after the command name is sent as is, options included (put cachectl's own options \
                before it: cachectl raw --json DBSIZE). Replies print as (integer) 1, "text", (nil), (empty array), \
                numbered array items; with --json, as JSON. An error reply goes to stderr and exits 2.
                """
        )

        @OptionGroup var options: ClientOptions

        @Argument(parsing: .captureForPassthrough, help: "The command and its arguments.")
        var arguments: [String] = []

        func validate() throws {
            if arguments.isEmpty {
                throw ValidationError("raw needs a command, e.g. cachectl raw PING")
            }
        }

        func execute(_ connection: Connection) throws(CacheCtlError) {
            let reply = try connection.call(arguments).checked()
            emit(ReplyFormatter.redisCLI(reply), json: ReplyFormatter.json(reply))
        }
    }
}
