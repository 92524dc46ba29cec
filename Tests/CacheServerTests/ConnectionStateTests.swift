import CacheProtocol
import NIOCore
import XCTest

@testable import CacheServer

/// Every transition of `ConnectionState`, without I/O: requests in, dispatch decisions out, with the specs of the
/// real command table.
final class ConnectionStateTests: XCTestCase {
    private func spec(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> CommandSpec {
        try XCTUnwrap(CommandTable.standard.lookup(name), "\(name) is in the table", file: file, line: line)
    }

    private func arguments(_ words: String...) -> [ByteBuffer] {
        words.map { ByteBuffer(string: $0) }
    }

    /// Sends a request by name through `receive`, looking it up as the dispatcher does (nil when unknown).
    private func receive(
        _ state: inout ConnectionState,
        _ words: String...,
        locked: Bool = false
    ) -> ConnectionState.Dispatch {
        let request = words.map { ByteBuffer(string: $0) }
        return state.receive(CommandTable.standard.lookup(request[0]), arguments: request, locked: locked)
    }

    private func watched(_ key: String, expiresAt: Double? = nil) -> ConnectionState.WatchedKey {
        ConnectionState.WatchedKey(key: key, expiresAt: expiresAt)
    }

    // MARK: - A fresh connection

    func testFreshConnectionSpeaksRESP2WithNothingOpen() {
        let state = ConnectionState(authenticated: false)
        XCTAssertEqual(state.protocolVersion, .resp2)
        XCTAssertFalse(state.authenticated)
        XCTAssertFalse(state.inTransaction)
        XCTAssertNil(state.transaction)
        XCTAssertEqual(state.watched, [])
        XCTAssertFalse(state.isMonitor)
        XCTAssertTrue(ConnectionState(authenticated: true).authenticated)
    }

    // MARK: - receive outside a transaction

    func testKnownCommandWithItsArityRuns() {
        var state = ConnectionState(authenticated: true)
        XCTAssertEqual(receive(&state, "GET", "k"), .run)
        XCTAssertEqual(receive(&state, "del", "a", "b", "c"), .run)
        XCTAssertEqual(receive(&state, "PING"), .run)
        XCTAssertFalse(state.inTransaction)
    }

    func testUnknownCommandIsRejectedWithRedisText() {
        var state = ConnectionState(authenticated: true)
        XCTAssertEqual(
            receive(&state, "NOSUCH", "a", "b"),
            .reject("ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' ")
        )
        XCTAssertEqual(
            receive(&state, "LPUSH"),
            .reject("ERR unknown command 'LPUSH', with args beginning with: "),
            "lists are out of scope and unknown"
        )
    }

    func testWrongArityIsRejected() {
        var state = ConnectionState(authenticated: true)
        XCTAssertEqual(receive(&state, "GET"), .reject("ERR wrong number of arguments for 'get' command"))
        XCTAssertEqual(receive(&state, "GET", "a", "b"), .reject("ERR wrong number of arguments for 'get' command"))
        XCTAssertEqual(receive(&state, "DEL"), .reject("ERR wrong number of arguments for 'del' command"))
        XCTAssertEqual(receive(&state, "MULTI", "x"), .reject("ERR wrong number of arguments for 'multi' command"))
        XCTAssertFalse(state.inTransaction, "a refused MULTI opens nothing")
    }

    func testLockedConnectionRunsOnlyNoAuthCommands() {
        var state = ConnectionState(authenticated: false)
        XCTAssertEqual(receive(&state, "GET", "k", locked: true), .reject("NOAUTH Authentication required."))
        XCTAssertEqual(receive(&state, "MULTI", locked: true), .reject("NOAUTH Authentication required."))
        XCTAssertEqual(receive(&state, "AUTH", "secret", locked: true), .run)
        XCTAssertEqual(receive(&state, "HELLO", "3", locked: true), .run)
        XCTAssertEqual(receive(&state, "QUIT", locked: true), .run)
        XCTAssertEqual(receive(&state, "GET", "k", locked: false), .run, "the caller decides when it is unlocked")
    }

    func testArityAndUnknownCommandComeBeforeNOAUTHAsInRedis() {
        var state = ConnectionState(authenticated: false)
        XCTAssertEqual(
            receive(&state, "GET", locked: true),
            .reject("ERR wrong number of arguments for 'get' command")
        )
        XCTAssertEqual(
            receive(&state, "NOSUCH", locked: true),
            .reject("ERR unknown command 'NOSUCH', with args beginning with: ")
        )
    }

    func testAuthenticateMarksTheConnection() {
        var state = ConnectionState(authenticated: false)
        state.authenticate()
        XCTAssertTrue(state.authenticated)
    }

    // MARK: - Subcommands

    func testUnknownSubcommandIsRejectedWithRedisText() {
        var state = ConnectionState(authenticated: true)
        XCTAssertEqual(receive(&state, "CLIENT", "FOO"), .reject("ERR unknown subcommand 'FOO'. Try CLIENT HELP."))
        XCTAssertEqual(
            receive(&state, "config", "nope", "x"),
            .reject("ERR unknown subcommand 'nope'. Try CONFIG HELP."),
            "the name is shown as given, the container uppercase"
        )
        let long = String(repeating: "z", count: 300)
        XCTAssertEqual(
            receive(&state, "CLIENT", long),
            .reject("ERR unknown subcommand '\(String(repeating: "z", count: 128))'. Try CLIENT HELP."),
            "the name is cut at 128 characters"
        )
    }

    func testSubcommandArityIsRejectedUnderItsPipedName() {
        var state = ConnectionState(authenticated: true)
        XCTAssertEqual(
            receive(&state, "CLIENT", "SETNAME"),
            .reject("ERR wrong number of arguments for 'client|setname' command")
        )
        XCTAssertEqual(
            receive(&state, "client", "setname", "a", "b"),
            .reject("ERR wrong number of arguments for 'client|setname' command")
        )
        XCTAssertEqual(
            receive(&state, "CONFIG", "GET"),
            .reject("ERR wrong number of arguments for 'config|get' command")
        )
        XCTAssertEqual(receive(&state, "CLIENT", "SETNAME", "me"), .run)
        XCTAssertEqual(receive(&state, "Client", "List"), .run, "subcommands in any case")
        XCTAssertEqual(
            receive(&state, "CLIENT"),
            .reject("ERR wrong number of arguments for 'client' command"),
            "the container's own arity first"
        )
    }

    func testSubcommandProblemIsNilForCommandsWithoutSubcommands() throws {
        XCTAssertNil(ConnectionState.subcommandProblem(try spec("set"), arguments("SET", "NOSUCH", "v")))
        XCTAssertNil(ConnectionState.subcommandProblem(try spec("client"), arguments("CLIENT")))
    }

    // MARK: - MULTI, queuing and EXEC

    func testCommandsInsideMultiAreQueuedInOrder() throws {
        var state = ConnectionState(authenticated: true)
        XCTAssertEqual(receive(&state, "MULTI"), .run, "MULTI is transaction control: it runs")
        try state.beginTransaction()
        XCTAssertTrue(state.inTransaction)
        XCTAssertEqual(receive(&state, "SET", "k", "v"), .queue)
        XCTAssertEqual(receive(&state, "GET", "k"), .queue)
        XCTAssertEqual(receive(&state, "CLIENT", "ID"), .queue, "a valid subcommand is queued too")
        XCTAssertEqual(
            state.transaction?.queued,
            [arguments("SET", "k", "v"), arguments("GET", "k"), arguments("CLIENT", "ID")]
        )
        XCTAssertEqual(state.transaction?.failed, false)

        XCTAssertEqual(receive(&state, "EXEC"), .run, "EXEC is not queued")
        XCTAssertEqual(
            state.endTransaction(),
            .run([arguments("SET", "k", "v"), arguments("GET", "k"), arguments("CLIENT", "ID")], watched: [])
        )
        XCTAssertFalse(state.inTransaction)
        XCTAssertEqual(receive(&state, "GET", "k"), .run, "after EXEC commands run again")
    }

    func testTransactionControlIsNeverQueued() throws {
        var state = ConnectionState(authenticated: true)
        try state.beginTransaction()
        for words in [["MULTI"], ["EXEC"], ["DISCARD"], ["WATCH", "k"], ["QUIT"]] {
            let request = words.map { ByteBuffer(string: $0) }
            XCTAssertEqual(
                state.receive(CommandTable.standard.lookup(request[0]), arguments: request, locked: false),
                .run,
                words[0]
            )
        }
        XCTAssertEqual(state.transaction?.queued.count, 0)
        XCTAssertEqual(receive(&state, "UNWATCH"), .queue, "UNWATCH inside MULTI is queued, as in Redis")
    }

    func testEmptyTransactionRunsNothing() throws {
        var state = ConnectionState(authenticated: true)
        try state.beginTransaction()
        XCTAssertEqual(state.endTransaction(), .run([], watched: []))
    }

    func testExecWithoutMulti() {
        var state = ConnectionState(authenticated: true)
        XCTAssertEqual(state.endTransaction(), .notInTransaction)
    }

    func testRejectedCommandInsideMultiMarksItFailedAndExecAborts() throws {
        let rejections: [(words: [String], locked: Bool, reply: String)] = [
            (["NOSUCH", "x"], false, "ERR unknown command 'NOSUCH', with args beginning with: 'x' "),
            (["GET"], false, "ERR wrong number of arguments for 'get' command"),
            (["GET", "k"], true, "NOAUTH Authentication required."),
            (["CLIENT", "FOO"], false, "ERR unknown subcommand 'FOO'. Try CLIENT HELP."),
            (["CLIENT", "SETNAME"], false, "ERR wrong number of arguments for 'client|setname' command"),
            (["MONITOR"], false, "ERR Command not allowed inside a transaction"),
        ]
        for rejection in rejections {
            var state = ConnectionState(authenticated: true)
            try state.beginTransaction()
            XCTAssertEqual(receive(&state, "SET", "k", "v"), .queue)
            let request = rejection.words.map { ByteBuffer(string: $0) }
            let lookedUp = CommandTable.standard.lookup(request[0])
            XCTAssertEqual(
                state.receive(lookedUp, arguments: request, locked: rejection.locked),
                .reject(rejection.reply),
                "\(rejection.words)"
            )
            XCTAssertEqual(state.transaction?.failed, true, "\(rejection.words)")
            XCTAssertEqual(state.transaction?.queued.count, 1, "the refused command is not queued")
            XCTAssertEqual(receive(&state, "GET", "k"), .queue, "later commands are still queued, as in Redis")
            XCTAssertEqual(state.endTransaction(), .abortedByErrors, "\(rejection.words)")
            XCTAssertFalse(state.inTransaction, "EXECABORT ends the transaction")
        }
    }

    func testRejectionOutsideMultiLeavesNoTransaction() {
        var state = ConnectionState(authenticated: true)
        _ = receive(&state, "NOSUCH")
        XCTAssertNil(state.transaction)
        XCTAssertEqual(state.endTransaction(), .notInTransaction)
    }

    func testNestedMultiErrorsAndKeepsTheTransaction() throws {
        var state = ConnectionState(authenticated: true)
        try state.beginTransaction()
        XCTAssertEqual(receive(&state, "INCR", "c"), .queue)
        XCTAssertThrowsError(try state.beginTransaction()) { error in
            XCTAssertEqual(error as? CommandError, CommandError("ERR MULTI calls can not be nested"))
        }
        XCTAssertTrue(state.inTransaction)
        XCTAssertEqual(state.transaction?.failed, false, "a nested MULTI does not make EXEC abort, as in Redis")
        XCTAssertEqual(state.endTransaction(), .run([arguments("INCR", "c")], watched: []))
    }

    // MARK: - DISCARD and abort

    func testDiscardWithoutMulti() {
        var state = ConnectionState(authenticated: true)
        XCTAssertThrowsError(try state.discardTransaction()) { error in
            XCTAssertEqual(error as? CommandError, CommandError("ERR DISCARD without MULTI"))
        }
    }

    func testDiscardDropsTheQueueAndUnwatches() throws {
        var state = ConnectionState(authenticated: true)
        try state.watch([watched("a"), watched("b", expiresAt: 99)])
        try state.beginTransaction()
        XCTAssertEqual(receive(&state, "SET", "a", "1"), .queue)
        XCTAssertEqual(try state.discardTransaction(), [watched("a"), watched("b", expiresAt: 99)])
        XCTAssertFalse(state.inTransaction)
        XCTAssertEqual(state.watched, [])
        XCTAssertEqual(state.endTransaction(), .notInTransaction)
    }

    func testDiscardOfAFailedTransactionForgetsTheFailure() throws {
        var state = ConnectionState(authenticated: true)
        try state.beginTransaction()
        _ = receive(&state, "NOSUCH")
        _ = try state.discardTransaction()
        try state.beginTransaction()
        XCTAssertEqual(receive(&state, "PING"), .queue)
        XCTAssertEqual(state.endTransaction(), .run([arguments("PING")], watched: []))
    }

    func testAbortTransactionDropsTheQueueAndReturnsTheWatchedKeys() throws {
        var state = ConnectionState(authenticated: true)
        try state.watch([watched("w")])
        try state.beginTransaction()
        _ = receive(&state, "SET", "w", "1")
        XCTAssertEqual(state.abortTransaction(), [watched("w")])
        XCTAssertFalse(state.inTransaction)
        XCTAssertEqual(state.watched, [])

        XCTAssertEqual(state.abortTransaction(), [], "without a transaction or watches it does nothing")
        XCTAssertFalse(state.inTransaction)
    }

    // MARK: - WATCH

    func testWatchKeepsEachKeyOnceWithItsFirstSnapshot() throws {
        var state = ConnectionState(authenticated: true)
        try state.watch([watched("a", expiresAt: 10), watched("b")])
        try state.watch([watched("a", expiresAt: 20), watched("c", expiresAt: 30)])
        XCTAssertEqual(state.watched, [watched("a", expiresAt: 10), watched("b"), watched("c", expiresAt: 30)])
    }

    func testWatchInsideMultiIsRefusedAndChangesNothing() throws {
        var state = ConnectionState(authenticated: true)
        try state.watch([watched("a")])
        try state.beginTransaction()
        XCTAssertThrowsError(try state.watch([watched("b")])) { error in
            XCTAssertEqual(error as? CommandError, CommandError("ERR WATCH inside MULTI is not allowed"))
        }
        XCTAssertEqual(state.watched, [watched("a")])
        XCTAssertEqual(state.transaction?.failed, false, "the WATCH ran and errored; EXEC still runs, as in Redis")
        XCTAssertEqual(state.endTransaction(), .run([], watched: [watched("a")]))
    }

    func testExecHandsTheWatchedKeysToTheCallerWhoUnwatches() throws {
        var state = ConnectionState(authenticated: true)
        try state.watch([watched("a", expiresAt: 5)])
        try state.beginTransaction()
        _ = receive(&state, "GET", "a")
        XCTAssertEqual(state.endTransaction(), .run([arguments("GET", "a")], watched: [watched("a", expiresAt: 5)]))
        XCTAssertEqual(state.watched, [watched("a", expiresAt: 5)], "kept until the caller checked them")
        XCTAssertEqual(state.unwatchAll(), [watched("a", expiresAt: 5)])
        XCTAssertEqual(state.watched, [])
    }

    func testFailedExecLeavesTheWatchesForTheCallerToDrop() throws {
        var state = ConnectionState(authenticated: true)
        try state.watch([watched("a")])
        try state.beginTransaction()
        _ = receive(&state, "GET")
        XCTAssertEqual(state.endTransaction(), .abortedByErrors)
        XCTAssertEqual(state.unwatchAll(), [watched("a")])
    }

    func testUnwatchAllReturnsEveryKeyOnceAndForgetsThem() throws {
        var state = ConnectionState(authenticated: true)
        XCTAssertEqual(state.unwatchAll(), [])
        try state.watch([watched("x"), watched("y")])
        XCTAssertEqual(state.unwatchAll(), [watched("x"), watched("y")])
        XCTAssertEqual(state.unwatchAll(), [])
        try state.watch([watched("x", expiresAt: 7)])
        XCTAssertEqual(state.watched, [watched("x", expiresAt: 7)], "a key watched again gets a new snapshot")
    }

    // MARK: - Protocol and monitor

    func testSwitchProtocol() {
        var state = ConnectionState(authenticated: true)
        state.switchProtocol(to: .resp3)
        XCTAssertEqual(state.protocolVersion, .resp3)
        state.switchProtocol(to: .resp2)
        XCTAssertEqual(state.protocolVersion, .resp2)
    }

    func testSwitchProtocolKeepsTheTransactionAndWatches() throws {
        var state = ConnectionState(authenticated: true)
        try state.watch([watched("a")])
        try state.beginTransaction()
        _ = receive(&state, "PING")
        state.switchProtocol(to: .resp3)
        XCTAssertEqual(state.endTransaction(), .run([arguments("PING")], watched: [watched("a")]))
    }

    func testStartMonitoring() {
        var state = ConnectionState(authenticated: true)
        state.startMonitoring()
        XCTAssertTrue(state.isMonitor)
        XCTAssertEqual(receive(&state, "PING"), .run, "a monitor may still send commands")
    }

    func testMonitorOutsideMultiRuns() {
        var state = ConnectionState(authenticated: true)
        XCTAssertEqual(receive(&state, "MONITOR"), .run)
    }
}
