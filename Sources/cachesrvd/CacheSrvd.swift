import ArgumentParser

/// The cachesrvd daemon and its maintenance commands.
@main
struct CacheSrvd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cachesrvd",
        abstract:
            "A local cache server for proxy rotators: a tiered proxy cache on a Unix socket, spoken to in the Redis protocol.",
        discussion: """
            With no subcommand, cachesrvd serves (the same as `cachesrvd serve`). Stop it with SIGTERM or SIGINT: \
            it stops accepting, finishes the commands in flight, drains the disk writers and removes its socket file.
            """,
        subcommands: [
            Serve.self, Commands.self, MigrateL2.self, MigrateL3.self, ImportProxywhirl.self, RotateKey.self,
        ],
        defaultSubcommand: Serve.self
    )
}
