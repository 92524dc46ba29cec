import Foundation
import XCTest

@testable import Tiers

final class ImportJSONLMigrationTests: JSONLTestCase {
    func testMigratesShardsIntoAnotherStore() throws {
        // Shards keep times at microsecond precision, like Python's isoformat().
        let now = (SystemClock().now() * 1_000_000).rounded() / 1_000_000
        let source = try makeStore()
        var entries = (0..<1200).map { entry("m\($0)", now: now, ttl: 3600) }
        entries[0].expiresAt = nil
        try source.apply(entries.map { .put($0) })
        try source.apply([
            .put(entry("expired", now: now - 100, ttl: 10)),
            .put(entry("m1", now: now, ttl: 3600, username: "latest")),
        ])
        source.close()
        // A line under another key, and a corrupt line.
        let foreign = JSONLRecord(
            sealing: entry("foreign", now: now, username: "x"),
            cipher: CredentialCipher(current: .generate())
        )
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: directory + "/shard_03.jsonl"))
        handle.seekToEndOfFile()
        handle.write(Data(JSONLEntryCodec.encode(foreign) + Array("{corrupt\n".utf8)))
        handle.closeFile()

        let targetDirectory = directory + "/target"
        let target = try JSONLStore(
            directory: targetDirectory,
            cipher: CredentialCipher(current: .generate()),
            fsync: .no,
            logger: logger
        )
        let result = try JSONLMigration.migrate(shardsIn: directory, cipher: cipher, into: target)
        XCTAssertEqual(result.migrated, 1200)
        XCTAssertEqual(result.skipped, 3, "expired, undecryptable, corrupt")
        XCTAssertEqual(try target.count(), 1200)
        XCTAssertEqual(try target.get("m1")?.username, "latest", "the later line of a key wins")
        XCTAssertEqual(try target.get("m5"), entries[5])
        XCTAssertNil(try target.get("m0")?.expiresAt)
    }

    func testMissingDirectoryIsAnError() throws {
        let target = try makeStore()
        XCTAssertThrowsError(
            try JSONLMigration.migrate(shardsIn: directory + "/nope", cipher: cipher, into: target)
        )
    }
}
