import ArgumentParser

extension WarmFormat: ExpressibleByArgument {}

extension CacheCtl {
    /// `cachectl warm FILE`: loads proxies from a JSON, JSONL or CSV file, one pipelined `PUT` per row.
    struct Warm: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "warm",
            abstract: "Load proxies from a .json, .jsonl or .csv file.",
            discussion: """
                Rows have proxy_url (required), username, password, source (and optionally key); .json holds an \
                array of objects, .jsonl one object a line, .csv a header line then rows. Each row becomes one PUT \
                under the key derived from proxy_url (or the row's key), sent --pipeline rows at a time. Rows \
                without a usable proxy_url, or with a field that is not text, are skipped; JSONL lines that are not \
                JSON and rows the server rejects are failed (as proxywhirl counts them; the first few reasons go to \
                stderr). Prints 'loaded N, skipped N, failed N'. Exits 2 if any row failed, 65 if the file cannot \
                be parsed at all, 74 if it cannot be read.
                """
        )

        @OptionGroup var options: ClientOptions

        @Argument(help: "The file to load; - reads stdin (then --format is needed).")
        var file: String

        @Option(name: .long, help: "json, jsonl or csv (default: from the file's extension).")
        var format: WarmFormat?

        @Option(name: .long, help: "The source of rows that name none.")
        var source = "warmed"

        @Option(name: .long, help: ArgumentHelp("Time to live in seconds for every row.", valueName: "seconds"))
        var ttl: Int?

        @Option(name: .long, help: "PUTs sent before reading their replies (1-10000).")
        var pipeline = 256

        /// The most commands kept in flight, so that replies never fill the socket buffers both ways.
        static let maximumPipeline = 10_000

        /// How many server rejections are printed to stderr.
        static let shownFailures = 10

        func validate() throws {
            guard (1...Self.maximumPipeline).contains(pipeline) else {
                throw ValidationError("--pipeline must be between 1 and \(Self.maximumPipeline), got \(pipeline)")
            }
            if let ttl, ttl < 0 {
                throw ValidationError("--ttl must be >= 0, got \(ttl)")
            }
            if format == nil, WarmFormat(path: file) == nil {
                throw ValidationError("cannot tell the format of '\(file)' from its name; pass --format json|jsonl|csv")
            }
        }

        func run() throws {
            try CacheCtl.reporting(json: options.json) { () throws(CacheCtlError) in
                let format = format ?? WarmFormat(path: file)!
                let bytes = try FileIO.readAll(file)
                let parsed: WarmFile
                do throws(WarmFileError) {
                    parsed = try WarmFile.parse(bytes, format: format)
                } catch {
                    throw CacheCtlError(.dataError, "\(file): \(error.message)")
                }
                for warning in parsed.warnings {
                    Console.error("\(file): \(warning)")
                }
                var rejected = 0
                if !parsed.rows.isEmpty {
                    rejected = try load(parsed.rows, over: try options.connect())
                }
                let loaded = parsed.rows.count - rejected
                let failed = rejected + parsed.failed
                let summary: [(String, JSONValue)] = [
                    ("loaded", .integer(loaded)), ("skipped", .integer(parsed.skipped)), ("failed", .integer(failed)),
                ]
                Console.output(
                    options.json
                        ? JSONValue.object(summary).jsonText
                        : "loaded \(loaded), skipped \(parsed.skipped), failed \(failed)"
                )
                if rejected > 0 {
                    throw CacheCtlError(.serverError, "\(rejected) of \(parsed.rows.count) rows were rejected")
                }
                if failed > 0 {
                    throw CacheCtlError(.serverError, "\(failed) lines of \(file) are not valid JSON")
                }
            }
        }

        /// Sends one `PUT` per row, `pipeline` at a time; returns how many the server rejected.
        private func load(_ rows: [WarmRow], over connection: Connection) throws(CacheCtlError) -> Int {
            let showProgress = Console.stderrIsTerminal
            var failed = 0
            var batchStart = 0
            while batchStart < rows.count {
                let batch = rows[batchStart..<min(batchStart + pipeline, rows.count)]
                var keys: [String] = []
                keys.reserveCapacity(batch.count)
                for row in batch {
                    let command = row.putCommand(defaultSource: source, ttlSeconds: ttl)
                    keys.append(command[1])
                    connection.enqueue(command)
                }
                try connection.flush()
                for key in keys {
                    if case .error(let message) = try connection.readReply() {
                        failed += 1
                        if failed <= Self.shownFailures {
                            Console.error("key \(key): \(message)")
                        }
                    }
                }
                batchStart = batch.endIndex
                if showProgress {
                    Console.writeError("\rwarming: \(batchStart)/\(rows.count) rows")
                }
            }
            if showProgress {
                Console.writeError("\r\u{1B}[K")
            }
            if failed > Self.shownFailures {
                Console.error("... and \(failed - Self.shownFailures) more rejected rows")
            }
            return failed
        }
    }
}
