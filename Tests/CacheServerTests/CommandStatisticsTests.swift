import CacheProtocol
import NIOCore
import Tiers
import XCTest

@testable import CacheServer

/// What the dispatcher records of each command: INFO commandstats and errorstats, SLOWLOG, LATENCY.
final class CommandStatisticsTests: XCTestCase {
    private func makeServer(slowerThan: Int = 10_000) -> (ServerContext, ClientSession) {
        var configuration = ServerConfiguration(socketPath: "/tmp/unused.sock", dataDirectory: "/tmp/unused")
        configuration.tiers = [.l1]
        configuration.slowlogSlowerThan = slowerThan
        let server = ServerContext(
            configuration: configuration,
            cache: TieredCache(configuration: configuration.cache),
            processID: 1
        )
        let session = server.clients.register(peer: "test:0", now: 0)!
        return (server, session)
    }

    @discardableResult
    private func run(_ server: ServerContext, _ session: ClientSession, _ arguments: String...) -> String {
        var out = ByteBuffer()
        _ = server.execute(arguments.map { ByteBuffer(string: $0) }, session: session, mode: .memoryOnly, into: &out)
        return String(buffer: out)
    }

    private func figures(_ server: ServerContext, _ name: String) -> CommandStatistics.Figures? {
        server.commandStatistics.figures.first { $0.name == name }
    }

    func testCallsFailuresRejectionsAndErrorCodes() {
        let (server, session) = makeServer()
        for index in 0..<3 { run(server, session, "SET", "k\(index)", "http://h:\(index)") }
        run(server, session, "GET", "k0")
        run(server, session, "GET", "k1")
        XCTAssertEqual(run(server, session, "GET"), "-ERR wrong number of arguments for 'get' command\r\n")
        XCTAssertTrue(run(server, session, "SET", "k0", "v", "EX", "x").hasPrefix("-ERR"))
        XCTAssertTrue(run(server, session, "NOPE").hasPrefix("-ERR unknown command"))
        run(server, session, "CONFIG", "GET", "maxclients")
        run(server, session, "SLOWLOG", "LEN", "extra")
        run(server, session, "SLOWLOG", "NOPE")

        XCTAssertEqual(figures(server, "set")?.calls, 4)
        XCTAssertEqual(figures(server, "set")?.failed, 1)
        XCTAssertEqual(figures(server, "get")?.calls, 2)
        XCTAssertEqual(figures(server, "get")?.rejected, 1)
        XCTAssertEqual(figures(server, "get")?.failed, 0)
        XCTAssertEqual(figures(server, "config|get")?.calls, 1)
        XCTAssertNil(figures(server, "config"), "a subcommand is counted apart, as Redis 7")
        XCTAssertNil(figures(server, "del"), "commands never called are not listed")
        XCTAssertEqual(figures(server, "slowlog|len")?.rejected, 1, "a subcommand's arity error is a rejection")
        XCTAssertEqual(figures(server, "slowlog|len")?.calls, 0)
        XCTAssertEqual(figures(server, "slowlog")?.rejected, 1, "so is an unknown subcommand")
        XCTAssertEqual(figures(server, "slowlog")?.failed, 0)
        XCTAssertEqual(server.commandStatistics.errorCounts, ["ERR": 5])

        let line = server.commandStatistics.infoLines.first { $0.0 == "cmdstat_get" }
        let pattern = #"^calls=2,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=1,failed_calls=0$"#
        XCTAssertNotNil(line?.1.range(of: pattern, options: .regularExpression), line?.1 ?? "no cmdstat_get")
    }

    func testErrorCodesAreTheFirstWord() {
        var reply = ByteBuffer()
        reply.writeString("+OK\r\n")
        let mark = reply.writerIndex
        reply.writeRESPError("WRONGTYPE Operation against a key holding the wrong kind of value")
        XCTAssertEqual(ServerContext.errorCode(reply, at: mark), "WRONGTYPE")
        XCTAssertNil(ServerContext.errorCode(reply, at: 0))
        var bare = ByteBuffer()
        bare.writeString("-NOPROTO\r\n")
        XCTAssertEqual(ServerContext.errorCode(bare, at: 0), "NOPROTO")
    }

    func testQueuedCommandsCountWhenExecRunsThem() {
        let (server, session) = makeServer()
        run(server, session, "MULTI")
        run(server, session, "SET", "a", "http://a:1")
        XCTAssertNil(figures(server, "set"))
        run(server, session, "EXEC")
        XCTAssertEqual(figures(server, "set")?.calls, 1)
        XCTAssertEqual(figures(server, "exec")?.calls, 1)
    }

    func testEveryCommandIsSlowLoggedAtZeroButNotExecItself() {
        let (server, session) = makeServer(slowerThan: 0)
        run(server, session, "MULTI")
        run(server, session, "SET", "a", "http://a:1")
        run(server, session, "EXEC")
        run(server, session, "AUTH", "secret")
        let logged = server.slowLog.newest(nil).map { $0.arguments.map { String(buffer: $0) } }
        XCTAssertEqual(logged, [["AUTH", "(redacted)"], ["SET", "a", "http://a:1"], ["MULTI"]])
        XCTAssertEqual(server.slowLog.newest(1).first?.peer, "test:0")
    }

    func testSlowLogAndLatencyReplies() {
        let (server, session) = makeServer(slowerThan: 0)
        run(server, session, "PING")
        XCTAssertEqual(run(server, session, "SLOWLOG", "LEN"), ":1\r\n")
        let reply = run(server, session, "SLOWLOG", "GET", "1")
        XCTAssertTrue(reply.hasPrefix("*1\r\n*6\r\n:1\r\n:"), reply)
        XCTAssertTrue(reply.hasSuffix("*2\r\n$7\r\nSLOWLOG\r\n$3\r\nLEN\r\n$6\r\ntest:0\r\n$0\r\n\r\n"), reply)
        XCTAssertEqual(run(server, session, "SLOWLOG", "RESET"), "+OK\r\n")
        XCTAssertTrue(run(server, session, "SLOWLOG", "GET").hasPrefix("*1\r\n*6\r\n:3\r\n"), "RESET alone, id 3")
        XCTAssertEqual(
            run(server, session, "SLOWLOG", "GET", "-2"),
            "-ERR count should be greater than or equal to -1\r\n"
        )
        XCTAssertEqual(
            run(server, session, "SLOWLOG", "NOPE"),
            "-ERR unknown subcommand 'NOPE'. Try SLOWLOG HELP.\r\n"
        )
        XCTAssertEqual(
            run(server, session, "SLOWLOG", "LEN", "x"),
            "-ERR wrong number of arguments for 'slowlog|len' command\r\n"
        )
        XCTAssertEqual(run(server, session, "LATENCY", "LATEST"), "*0\r\n", "the monitor is off by default")
        XCTAssertEqual(run(server, session, "LATENCY", "RESET"), ":0\r\n")
        XCTAssertEqual(run(server, session, "LATENCY", "HISTORY", "command"), "*0\r\n")
        XCTAssertTrue(run(server, session, "LATENCY", "HELP").hasPrefix("*"))
    }
}
