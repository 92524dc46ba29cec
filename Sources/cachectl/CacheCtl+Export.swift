import ArgumentParser

extension CacheCtl {
    /// `cachectl export FILE`: every entry as JSON Lines.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write every entry to a JSONL file (- for stdout).",
            discussion: """
                Lists keys with SCAN, fetches each entry with HGETALL (pipelined) and writes one JSON object a \
                line: key first, then every field, numbers as JSON numbers. username and password are left out, \
                and a password inside proxy_url is masked (user:***@host), unless --include-credentials is given; \
                such an export can be warmed back in (cachectl warm FILE) \
                and is created with mode 0600. The file is written to FILE.tmp-PID and renamed into place. Prints \
                'exported N' on stdout (on stderr when FILE is -).
                """
        )

        @OptionGroup var options: ClientOptions

        @Argument(help: "The file to write, or - for stdout.")
        var file: String

        @Flag(name: .long, help: "Include usernames, passwords and passwords inside proxy_url (in the clear).")
        var includeCredentials = false

        /// How many `HGETALL`s are sent before their replies are read.
        static let pipeline = 256

        func run() throws {
            try CacheCtl.reporting(json: options.json) { () throws(CacheCtlError) in
                let writer = try FileWriter(path: file, permissions: includeCredentials ? 0o600 : 0o644)
                let connection = try options.connect()
                let keys = try KeyScanner.allKeys(connection)
                let dropped = includeCredentials ? [] : EntryFields.credentialFields
                var exported = 0
                var batchStart = 0
                while batchStart < keys.count {
                    let batch = keys[batchStart..<min(batchStart + Self.pipeline, keys.count)]
                    let replies = try connection.pipeline(batch.map { ["HGETALL", $0] })
                    var lines: [UInt8] = []
                    for (key, reply) in zip(batch, replies) {
                        let fetched = try reply.pairs(for: "HGETALL")
                        let pairs = includeCredentials ? fetched : EntryFields.maskingURLPassword(fetched)
                        guard !pairs.isEmpty else { continue }  // deleted or expired since SCAN listed it
                        EntryFields.object(pairs, leading: ("key", .string(key)), dropping: dropped)
                            .write(into: &lines)
                        lines.append(0x0A)
                        exported += 1
                    }
                    try writer.append(lines)
                    batchStart = batch.endIndex
                }
                try writer.commit()
                let summary =
                    options.json
                    ? JSONValue.object([("exported", .integer(exported))]).jsonText : "exported \(exported)"
                if file == "-" {
                    Console.writeError(summary + "\n")
                } else {
                    Console.output(summary)
                }
            }
        }
    }
}
