import XCTest

@testable import CacheServer

/// COMMAND DOCS's argument trees, read from the syntax lines of the command table, shaped as Redis 7 shapes them
/// (redis-cli builds its hints from them).
final class CommandArgumentTests: XCTestCase {
    private typealias Argument = CommandArgument

    private func parsed(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [Argument] {
        Argument.parse(try XCTUnwrap(CommandTable.standard.lookup(name), name, file: file, line: line).syntax)
    }

    private func token(_ word: String) -> Argument {
        Argument(name: word.lowercased(), kind: .pureToken, token: word)
    }

    func testSetOptionsAreOptionalChoicesOfTokens() throws {
        XCTAssertEqual(
            try parsed("set"),
            [
                Argument(name: "key", kind: .key),
                Argument(name: "proxy_url", kind: .string),
                Argument(name: "nx_xx", kind: .oneOf, optional: true, children: [token("NX"), token("XX")]),
                Argument(name: "get", kind: .pureToken, token: "GET", optional: true),
                Argument(
                    name: "seconds_milliseconds_unix-time_unix-ms_keepttl",
                    kind: .oneOf,
                    optional: true,
                    children: [
                        Argument(name: "seconds", kind: .integer, token: "EX"),
                        Argument(name: "milliseconds", kind: .integer, token: "PX"),
                        Argument(name: "unix-time", kind: .integer, token: "EXAT"),
                        Argument(name: "unix-ms", kind: .integer, token: "PXAT"),
                        token("KEEPTTL"),
                    ]
                ),
            ]
        )
    }

    func testRepeatedKeyIsOneMultipleArgument() throws {
        let keys = [Argument(name: "key", kind: .key, multiple: true)]
        XCTAssertEqual(Argument.parse("key [key ...]"), keys)
        for name in ["del", "mget", "exists", "watch", "touch"] {
            XCTAssertEqual(try parsed(name), keys, name)
        }
    }

    func testRepeatedPairsAreOneMultipleBlock() throws {
        XCTAssertEqual(
            try parsed("mset"),
            [
                Argument(
                    name: "key",
                    kind: .block,
                    multiple: true,
                    children: [Argument(name: "key", kind: .key), Argument(name: "proxy_url", kind: .string)]
                )
            ]
        )
        XCTAssertEqual(
            try parsed("hset"),
            [
                Argument(name: "key", kind: .key),
                Argument(
                    name: "field",
                    kind: .block,
                    multiple: true,
                    children: [Argument(name: "field", kind: .string), Argument(name: "value", kind: .string)]
                ),
            ]
        )
    }

    func testSpacedChoiceInBracketsIsAnOptionalOneOf() throws {
        let flushType = [
            Argument(name: "async_sync", kind: .oneOf, optional: true, children: [token("ASYNC"), token("SYNC")])
        ]
        XCTAssertEqual(Argument.parse("[ASYNC | SYNC]"), flushType)
        XCTAssertEqual(try parsed("flushall"), flushType)
        XCTAssertEqual(try parsed("flushdb"), flushType)
    }

    func testUnspacedChoiceAndOptionalTrailingArguments() throws {
        XCTAssertEqual(
            try parsed("health"),
            [
                Argument(name: "key", kind: .key),
                Argument(
                    name: "ok_fail",
                    kind: .oneOf,
                    children: [
                        Argument(name: "ok", kind: .pureToken, token: "ok"),
                        Argument(name: "fail", kind: .pureToken, token: "fail"),
                    ]
                ),
                Argument(name: "response_ms", kind: .integer, optional: true),
                Argument(name: "error", kind: .string, optional: true),
                Argument(name: "check_url", kind: .string, optional: true),
            ]
        )
    }

    func testConfigSubcommandsAreChoicesWithTheirOwnRepetitions() throws {
        XCTAssertEqual(
            try parsed("config"),
            [
                Argument(
                    name: "parameter_parameter_resetstat",
                    kind: .oneOf,
                    children: [
                        Argument(name: "parameter", kind: .string, token: "GET", multiple: true),
                        Argument(
                            name: "parameter",
                            kind: .block,
                            children: [
                                Argument(name: "parameter", kind: .string, token: "SET"),
                                Argument(name: "value", kind: .string),
                                Argument(
                                    name: "parameter",
                                    kind: .block,
                                    optional: true,
                                    multiple: true,
                                    children: [
                                        Argument(name: "parameter", kind: .string),
                                        Argument(name: "value", kind: .string),
                                    ]
                                ),
                            ]
                        ),
                        token("RESETSTAT"),
                    ]
                )
            ]
        )
    }

    func testNestedBracketsCloseWhereTheyShould() throws {
        XCTAssertEqual(
            try parsed("hello"),
            [
                Argument(
                    name: "protover",
                    kind: .block,
                    optional: true,
                    children: [
                        Argument(name: "protover", kind: .integer),
                        Argument(
                            name: "username",
                            kind: .block,
                            optional: true,
                            children: [
                                Argument(name: "username", kind: .string, token: "AUTH"),
                                Argument(name: "password", kind: .string),
                            ]
                        ),
                        Argument(name: "clientname", kind: .string, token: "SETNAME", optional: true),
                    ]
                )
            ]
        )
    }

    func testTokensWithArgumentsAndTypes() throws {
        XCTAssertEqual(
            try parsed("scan"),
            [
                Argument(name: "cursor", kind: .integer),
                Argument(name: "pattern", kind: .pattern, token: "MATCH", optional: true),
                Argument(name: "count", kind: .integer, token: "COUNT", optional: true),
                Argument(name: "type", kind: .string, token: "TYPE", optional: true),
            ]
        )
        XCTAssertEqual(
            Argument.parse("LIST [TYPE type] [ID id ...]"),
            [
                token("LIST"),
                Argument(name: "type", kind: .string, token: "TYPE", optional: true),
                Argument(name: "id", kind: .string, token: "ID", optional: true, multiple: true),
            ]
        )
    }

    func testEmptySyntaxHasNoArguments() {
        XCTAssertEqual(Argument.parse(""), [])
        XCTAssertEqual(Argument.parse("[]"), [])
    }

    /// No syntax line of the table yields a stray bracket, an empty name or a `...` taken for an argument.
    func testNoSyntaxLineOfTheTableLeavesPunctuationInANames() {
        func check(_ arguments: [Argument], _ command: String) {
            for argument in arguments {
                XCTAssertFalse(argument.name.isEmpty, command)
                XCTAssertFalse(argument.name.contains("["), "\(command): \(argument.name)")
                XCTAssertFalse(argument.name.contains("]"), "\(command): \(argument.name)")
                XCTAssertFalse(argument.name.contains("..."), "\(command): \(argument.name)")
                XCTAssertEqual(argument.kind == .block || argument.kind == .oneOf, !argument.children.isEmpty, command)
                check(argument.children, command)
            }
        }
        for spec in CommandTable.standard.all {
            check(Argument.parse(spec.syntax), spec.name)
        }
    }
}
