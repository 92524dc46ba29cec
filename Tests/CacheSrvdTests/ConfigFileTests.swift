import XCTest

@testable import cachesrvd

final class ConfigFileTests: XCTestCase {
    func testLinesCommentsQuotesAndFlags() throws {
        let file = try ConfigFile(
            path: "c.conf",
            text: """
                # a comment
                  l1-max-entries 50   # trailing
                source-ttl a=1
                source-ttl b=2\r
                log-file "/var/log/my cache #1.log"

                no-health-invalidation yes
                """
        )
        XCTAssertEqual(
            file.arguments(overriddenBy: []),
            [
                "--l1-max-entries=50", "--source-ttl=a=1", "--source-ttl=b=2", "--log-file=/var/log/my cache #1.log",
                "--no-health-invalidation",
            ]
        )
        XCTAssertEqual(file.settings["source-ttl"], ["a=1", "b=2"])
    }

    func testTheCommandLineReplacesEveryLineOfAnOption() throws {
        let file = try ConfigFile(path: "c", text: "source-ttl a=1\nsource-ttl b=2\nthreads 4\n")
        XCTAssertEqual(file.arguments(overriddenBy: ["--source-ttl", "c=3"]), ["--threads=4"])
        XCTAssertEqual(file.arguments(overriddenBy: ["--threads=1"]), ["--source-ttl=a=1", "--source-ttl=b=2"])
    }

    func testAValueStartingWithADashStaysAValue() throws {
        let file = try ConfigFile(path: "c", text: "key-file -odd-name\n")
        let options = try ServeOptions.parse(file.arguments(overriddenBy: []))
        XCTAssertEqual(options.keyFile, "-odd-name")
    }

    func testErrorsNameTheFileAndLine() {
        for (text, expected) in [
            ("threads\n", "c.conf:1: threads needs a value"),
            ("\n\nlog-file \"open\n", "c.conf:3: unterminated quoted value"),
            ("no-health-invalidation maybe\n", "c.conf:1: no-health-invalidation takes yes or no"),
            ("config other.conf\n", "c.conf:1: a configuration file cannot include another"),
        ] {
            XCTAssertThrowsError(try ConfigFile(path: "c.conf", text: text)) { error in
                XCTAssertTrue("\(error)".hasPrefix(expected), "\(error)")
            }
        }
    }

    func testEveryPropertyNameIsTheOptionsName() {
        let help = ServeOptions.helpMessage(columns: 10_000)
        let names = ServeOptions().settingValues.map(\.0)
        XCTAssertTrue(names.contains("allow-uid"))
        XCTAssertTrue(names.contains("default-ttl"))
        for name in names {
            XCTAssertTrue(help.contains("--\(name)"), "\(name) is not an option of serve")
        }
    }

    func testReloadSeesWhatChanged() throws {
        let old = try ServeOptions.parse(["--allow-uid", "1", "--l1-max-entries", "5"])
        let new = try ServeOptions.parse(["--allow-uid", "2", "--l1-max-entries", "5", "--default-ttl", "9"])
        XCTAssertEqual(ReloadService.changedSettings(old, new), ["allow-uid", "default-ttl"])
        XCTAssertEqual(
            ReloadService.changedSettings(old, new).subtracting(ReloadService.reloadable),
            ["default-ttl"],
            "allow-uid is applied by a reload"
        )
    }
}
