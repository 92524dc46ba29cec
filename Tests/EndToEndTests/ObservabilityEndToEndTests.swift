import CacheProtocol
import XCTest

/// What monitoring tools read from the real server: INFO's Redis figures, SLOWLOG, LATENCY, and the real
/// Prometheus redis_exporter scraping it over its Unix socket.
final class ObservabilityEndToEndTests: XCTestCase {
    private var server: ServerProcess!

    override func tearDown() {
        if let server {
            XCTAssertEqual(server.stop(), 0)
            server.removeDirectory()
        }
        super.tearDown()
    }

    /// 3 SETs, 2 GETs that hit and 1 that misses, on all three tiers.
    private func startWithTraffic(_ arguments: [String] = []) throws -> RawClient {
        // No apply window: the disk writers commit at once, so the commit figures have moved when they are read.
        server = try ServerProcess(arguments: ["--fsync", "always", "--journal-apply-delay", "0"] + arguments)
        let client = try server.client()
        for index in 1...3 {
            XCTAssertEqual(try client.command(["SET", "p\(index)", "http://10.0.0.\(index):3128"]), .ok)
        }
        XCTAssertEqual(try client.command(["GET", "p1"]), .bulk("http://10.0.0.1:3128"))
        XCTAssertEqual(try client.command(["GET", "p2"]), .bulk("http://10.0.0.2:3128"))
        XCTAssertEqual(try client.command(["GET", "missing"]), .null)
        return client
    }

    func testRedisExporterScrapesRealFigures() throws {
        guard let binary = ExporterProcess.binary else {
            throw XCTSkip(
                "prometheus-redis-exporter is not installed (apt-get install prometheus-redis-exporter): "
                    + "the exporter's scrape is not checked"
            )
        }
        let client = try startWithTraffic(["--slowlog-log-slower-than", "0"])
        let exporter = try ExporterProcess(binary: binary, socketPath: server.socketPath, directory: server.directory)
        defer { exporter.stop() }
        let metrics = try exporter.scrape()
        let context = "exporter log:\n\(exporter.log.suffix(3000))"

        XCTAssertEqual(metrics["redis_up"], 1, context)
        XCTAssertEqual(metrics[#"redis_exporter_last_scrape_error{err=""}"#], 0, context)
        XCTAssertEqual(metrics[#"redis_commands_total{cmd="set"}"#], 3, context)
        XCTAssertEqual(metrics[#"redis_commands_total{cmd="get"}"#], 3, context)
        XCTAssertGreaterThan(try XCTUnwrap(metrics[#"redis_commands_duration_seconds_total{cmd="set"}"#]), 0)
        XCTAssertEqual(metrics[#"redis_commands_failed_calls_total{cmd="get"}"#], 0, context)
        XCTAssertEqual(metrics[#"redis_db_keys{db="db0"}"#], 3, context)
        XCTAssertEqual(metrics[#"redis_db_keys_expiring{db="db0"}"#], 3, context)
        XCTAssertEqual(metrics["redis_keyspace_hits_total"], 2, context)
        XCTAssertEqual(metrics["redis_keyspace_misses_total"], 1, context)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(metrics["redis_connected_clients"], context), 2, "us and it")
        XCTAssertGreaterThan(try XCTUnwrap(metrics["redis_memory_used_bytes"], context), 1_000_000)
        XCTAssertGreaterThan(try XCTUnwrap(metrics["redis_memory_used_rss_bytes"], context), 1_000_000)
        XCTAssertNotNil(metrics["redis_uptime_in_seconds"], context)
        XCTAssertEqual(metrics["redis_config_maxclients"], 10_000, context)
        // The tiers' figures, through INFO's cachestats section.
        XCTAssertEqual(metrics["redis_db0_l1_size"], 3, context)
        XCTAssertEqual(metrics["redis_db0_l1_hits"], 2, context)
        XCTAssertEqual(metrics["redis_db0_l3_enabled"], 1, context)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(metrics["redis_db0_l3_commits"], context), 1, "--fsync always")
        XCTAssertGreaterThan(
            try XCTUnwrap(metrics["redis_db0_l3_commit_usec"], context),
            0,
            "a synced commit takes time"
        )
        XCTAssertGreaterThan(try XCTUnwrap(metrics["redis_db0_l3_slowest_commit_usec"], context), 0)
        // Every command so far was slow-logged (threshold 0): 3 SET + 3 GET, and the scrape's own commands.
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(metrics["redis_slowlog_length"], context), 6)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(metrics["redis_slowlog_last_id"], context), 6)
        XCTAssertFalse(exporter.log.contains("level=error"), context)

        // Figures move with the traffic between scrapes.
        XCTAssertEqual(try client.command(["DEL", "p3"]), .integer(1))
        let again = try exporter.scrape()
        XCTAssertEqual(again[#"redis_db_keys{db="db0"}"#], 2)
        XCTAssertEqual(again[#"redis_commands_total{cmd="del"}"#], 1)
    }

    func testInfoCommandstatsErrorstatsAndMemoryAsRedisFormatsThem() throws {
        let client = try startWithTraffic()
        XCTAssertEqual(try client.command(["GET"]), .error("ERR wrong number of arguments for 'get' command"))
        XCTAssertEqual(try client.command(["HSET", "p1"]), .error("ERR wrong number of arguments for 'hset' command"))
        let commands = try client.info("commandstats")
        let get = try XCTUnwrap(commands["cmdstat_get"])
        XCTAssertNotNil(
            get.range(
                of: #"^calls=3,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=1,failed_calls=0$"#,
                options: .regularExpression
            ),
            get
        )
        XCTAssertNotNil(commands["cmdstat_set"]?.range(of: "calls=3,", options: .anchored))
        XCTAssertEqual(try client.info("errorstats")["errorstat_ERR"], "count=2")
        let memory = try client.info("memory")
        XCTAssertGreaterThan(Int(try XCTUnwrap(memory["used_memory"])) ?? 0, 1_000_000)
        XCTAssertGreaterThanOrEqual(Int(memory["used_memory_peak"] ?? "") ?? 0, Int(memory["used_memory"] ?? "") ?? 0)
        XCTAssertEqual(try client.info("keyspace")["db0"], "keys=3,expires=3,avg_ttl=0")
        XCTAssertNil(try client.info("default")["cmdstat_get"], "commandstats only with all")
        XCTAssertEqual(try client.info("all")["db0_l1_size"], "3")
        XCTAssertEqual(try client.info("replication")["role"], "master")
    }

    func testSlowlogKeepsNoSecretAndLatencyIsConfigurable() throws {
        let client = try startWithTraffic([
            "--slowlog-log-slower-than", "0", "--slowlog-max-len", "4", "--latency-monitor-threshold", "50",
        ])
        XCTAssertEqual(
            try client.command(["CONFIG", "GET", "slowlog-*"]),
            .array([.bulk("slowlog-log-slower-than"), .bulk("0"), .bulk("slowlog-max-len"), .bulk("4")])
        )
        XCTAssertEqual(
            try client.command(["CONFIG", "GET", "latency-monitor-threshold"]),
            .array([.bulk("latency-monitor-threshold"), .bulk("50")])
        )
        XCTAssertEqual(
            try client.command([
                "PUT", "c1", "http://alice:urlsecret@10.0.0.9:3128", "username", "alice", "password", "fieldsecret",
            ]),
            .ok
        )
        XCTAssertEqual(try client.command(["HSET", "c1", "password", "hsetsecret"]), .integer(0))
        _ = try client.command(["AUTH", "authsecret"])
        _ = try client.command(["HELLO", "2", "AUTH", "default", "hellosecret"])
        XCTAssertEqual(try client.command(["SLOWLOG", "LEN"]), .integer(4), "bounded by --slowlog-max-len")
        let entries = try client.command(["SLOWLOG", "GET", "-1"])
        let text = "\(entries)"
        for secret in ["urlsecret", "fieldsecret", "hsetsecret", "authsecret", "hellosecret", "alice"] {
            XCTAssertFalse(text.contains(secret), "\(secret) in SLOWLOG: \(text)")
        }
        guard case .array(let list?) = entries, case .array(let newest?) = list.first else {
            return XCTFail("SLOWLOG GET: \(entries)")
        }
        XCTAssertEqual(newest.count, 6)
        XCTAssertEqual(newest[3], .array([.bulk("SLOWLOG"), .bulk("LEN")]))
        XCTAssertEqual(try client.command(["SLOWLOG", "RESET"]), .ok)
        XCTAssertEqual(try client.command(["SLOWLOG", "LEN"]), .integer(1), "RESET itself is logged after it ran")
        XCTAssertEqual(try client.command(["LATENCY", "RESET"]), .integer(0))
    }
}
