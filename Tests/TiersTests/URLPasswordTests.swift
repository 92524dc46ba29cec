import Redaction
import XCTest

/// `URLPassword`: which bytes of a URL or a text are a userinfo password, and that nothing else changes.
final class URLPasswordTests: XCTestCase {
    func testOneURL() {
        let cases: [(String, String?)] = [
            ("http://alice:s3cret@10.0.0.1:3128", "http://alice:***@10.0.0.1:3128"),
            ("socks5h://u:p@host/path?q=1#f", "socks5h://u:***@host/path?q=1#f"),
            ("HTTP://u:pa:ss@h", "HTTP://u:***@h"),
            ("http://u:p@ss@h:1", "http://u:***@h:1"),
            ("alice:pw@10.0.0.1:8080", "alice:***@10.0.0.1:8080"),
            ("http://[::1]:80", nil),
            ("http://u@h:80", nil),
            ("http://u:@h:80", nil),
            // Generated passwords hold '/', '?', '#' and '@': they end the authority only after its last '@'.
            ("http://u:ab/cd@host:8080", "http://u:***@host:8080"),
            ("http://u:p#ss@host", "http://u:***@host"),
            ("socks5://u:x?y@h:1/p@q", "socks5://u:***@h:1/p@q"),
            // So an '@' in a path without userinfo is masked as well: the safe side of an ambiguous URL.
            ("http://h:80/a:b@c", "http://h:***@c"),
            ("http://h:80?x=u:p@h", "http://h:***@h"),
            ("http://h:80/a", nil),
            ("10.0.0.1:3128", nil),
            ("", nil),
            ("http://ünï:çødé@hôst", "http://ünï:***@hôst"),
        ]
        for (url, expected) in cases {
            XCTAssertEqual(URLPassword.masked(in: url), expected, url)
            XCTAssertEqual(URLPassword.isPresent(in: url), expected != nil, url)
        }
    }

    func testFreeText() {
        XCTAssertEqual(
            URLPassword.maskedEverywhere(in: "connect http://a:b@h1 failed; retry 'https://c:d@h2/x' then ftp://e@h3"),
            "connect http://a:***@h1 failed; retry 'https://c:***@h2/x' then ftp://e@h3"
        )
        XCTAssertEqual(URLPassword.maskedEverywhere(in: "timeout after 5 s"), "timeout after 5 s")
        XCTAssertEqual(URLPassword.maskedEverywhere(in: "://x:y@z and a:b@c"), "://x:y@z and a:b@c", "no scheme")
        XCTAssertEqual(
            URLPassword.maskedEverywhere(in: "proxy http://u:a/b#c@h:1/x failed"),
            "proxy http://u:***@h:1/x failed",
            "a password with '/' and '#' in an error text"
        )
        XCTAssertEqual(URLPassword.maskedEverywhere(in: "http://a:b@h\nhttp://c:d@i"), "http://a:***@h\nhttp://c:***@i")
        XCTAssertNil(URLPassword.maskedEverywhere(in: nil as String?))
    }
}
