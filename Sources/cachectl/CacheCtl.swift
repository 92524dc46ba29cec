import ArgumentParser

/// `cachectl`: the command-line client of cachesrvd.
///
/// A thin client: it encodes one command (or a pipeline of them) per invocation, sends it over the server's Unix
/// socket with the Redis protocol, and prints the reply as text or JSON. It links the protocol module, never the
/// tiers.
@main
struct CacheCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cachectl",
        abstract: "Talk to cachesrvd, the tiered proxy cache server, over its Unix socket.",
        discussion: """
            Every subcommand takes --socket PATH (default: $CACHESRVD_SOCKET, else \
            $XDG_RUNTIME_DIR/cachesrvd.sock, else /run/user/<uid>/cachesrvd.sock when private, else \
            /tmp/cachesrvd-<uid>/cachesrvd.sock), --server-uid USER (the user the server must run as; default: \
            yours), --json (print JSON instead of text) and --timeout SECONDS (default 30; 0 waits forever).

            \(ExitCode.helpText)
            """,
        version: "0.1.0",
        subcommands: [
            Ping.self, Get.self, Put.self, Del.self, TTL.self, Health.self, History.self, Stats.self, Size.self,
            Keys.self, Clear.self, Cleanup.self, Raw.self, Warm.self, Export.self,
        ]
    )
}
