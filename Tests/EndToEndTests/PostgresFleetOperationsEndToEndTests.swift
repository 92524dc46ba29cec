import CacheProtocol
import Foundation
import XCTest

/// The fleet's operations figures through real sidecars: the shared size each sees (the others' writes included)
/// and the sweep that runs once at a time.
extension PostgresFleetEndToEndTests {
    func testEachSidecarShowsTheFleetsSharedSizeAndSweepsTheSharedL3() throws {
        let database = try cluster.createDatabase()
        let url = cluster.url(database: database)
        let key = fernetKey()
        let a = try startSidecar(url: url, key: key).client()
        let b = try startSidecar(url: url, key: key).client()

        for index in 0..<3 { XCTAssertEqual(try a.command(["SET", "a\(index)", "v"]), .ok) }
        XCTAssertEqual(try b.command(["SET", "b0", "v"]), .ok)
        XCTAssertEqual(try b.command(["SET", "short", "v", "PX", "50"]), .ok)
        for (name, client) in [("A", a), ("B", b)] {
            try waitFor(RESPValue.bulk("5"), "\(name) counts the fleet's 5 entries, the other's too") {
                .bulk(try client.info("persistence")["l3_shared_entries"] ?? "missing")
            }
        }
        XCTAssertEqual(try a.info("persistence")["l3_sweeps_skipped"], "0")
        XCTAssertNotNil(try a.info("cache")["l3_shared_entries"], "STATS and INFO cache list it too")

        // Once "short" has expired (nobody reads it: a read would delete it), A's CLEANUP removes it from the shared
        // L3 and B's count follows.
        try waitFor(RESPValue.bulk("4"), "B counts the fleet's entries after the sweep") {
            _ = try a.command(["CLEANUP"])
            return .bulk(try b.info("persistence")["l3_shared_entries"] ?? "missing")
        }
        XCTAssertEqual(try cluster.psql(database, "SELECT count(*) FROM cache_entries"), ["4"])
    }
}
