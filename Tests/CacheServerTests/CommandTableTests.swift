import NIOCore
import XCTest

@testable import CacheServer

final class CommandTableTests: XCTestCase {
    func testEveryCommandIsDeclaredOnceWithAValidArity() {
        let table = CommandTable.standard
        XCTAssertEqual(Set(table.all.map(\.name)).count, table.all.count)
        for spec in table.all {
            XCTAssertNotEqual(spec.arity, 0, spec.name)
            XCTAssertEqual(spec.name, spec.name.lowercased())
            XCTAssertFalse(spec.summary.isEmpty, spec.name)
        }
    }

    func testKeyCountsFollowTheKeyPositions() throws {
        let table = CommandTable.standard
        func keys(_ name: String, _ argumentCount: Int) throws -> Int {
            try XCTUnwrap(table.lookup(ByteBuffer(string: name))).keyCount(argumentCount: argumentCount)
        }
        XCTAssertEqual(try keys("del", 66), 65)
        XCTAssertEqual(try keys("mset", 5), 2, "MSET k v k v")
        XCTAssertEqual(try keys("hset", 200), 1, "one key however many fields")
        XCTAssertEqual(try keys("get", 2), 1)
        XCTAssertEqual(try keys("ping", 1), 0)
    }

    func testLookupIgnoresCase() {
        let table = CommandTable.standard
        XCTAssertEqual(table.lookup(ByteBuffer(string: "gEt"))?.name, "get")
        XCTAssertNil(table.lookup(ByteBuffer(string: "nope")))
        XCTAssertNil(table.lookup(ByteBuffer(string: String(repeating: "g", count: 100))))
    }

    func testArity() {
        let table = CommandTable.standard
        let get = table.lookup("get")!
        XCTAssertTrue(get.accepts(argumentCount: 2))
        XCTAssertFalse(get.accepts(argumentCount: 3))
        let del = table.lookup("del")!
        XCTAssertTrue(del.accepts(argumentCount: 5))
        XCTAssertFalse(del.accepts(argumentCount: 1))
    }

    func testRedisIntegerRules() {
        XCTAssertEqual(RedisNumber.parseInteger(Array("0".utf8)), 0)
        XCTAssertEqual(RedisNumber.parseInteger(Array("-42".utf8)), -42)
        XCTAssertEqual(RedisNumber.parseInteger(Array("9223372036854775807".utf8)), Int.max)
        XCTAssertEqual(RedisNumber.parseInteger(Array("-9223372036854775808".utf8)), Int.min)
        XCTAssertNil(RedisNumber.parseInteger(Array("9223372036854775808".utf8)))
        XCTAssertNil(RedisNumber.parseInteger(Array("+1".utf8)))
        XCTAssertNil(RedisNumber.parseInteger(Array("01".utf8)))
        XCTAssertNil(RedisNumber.parseInteger(Array(" 1".utf8)))
        XCTAssertNil(RedisNumber.parseInteger(Array("".utf8)))
        XCTAssertNil(RedisNumber.parseInteger(Array("-".utf8)))
    }

    func testUnknownCommandMessageMatchesRedis() {
        let message = ConnectionState.unknownCommandMessage([ByteBuffer(string: "FOO"), ByteBuffer(string: "bar")])
        XCTAssertEqual(message, "ERR unknown command 'FOO', with args beginning with: 'bar' ")
    }
}
