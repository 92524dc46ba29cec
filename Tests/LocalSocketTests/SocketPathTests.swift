import Foundation
import XCTest

@testable import LocalSocket

final class SocketPathTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "localsocket-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testDefaultPathOrder() {
        func path(_ env: [String: String], privateRuntime: Bool = false) -> String {
            SocketPath.defaultPath(environment: { env[$0] }, uid: 1000, isPrivate: { _, _ in privateRuntime })
        }
        XCTAssertEqual(path([:]), "/tmp/cachesrvd-1000/cachesrvd.sock", "never a bare name in /tmp")
        XCTAssertEqual(path([:], privateRuntime: true), "/run/user/1000/cachesrvd.sock")
        XCTAssertEqual(path(["XDG_RUNTIME_DIR": "/run/user/1000"]), "/run/user/1000/cachesrvd.sock")
        XCTAssertEqual(path(["XDG_RUNTIME_DIR": "/x/"]), "/x/cachesrvd.sock")
        XCTAssertEqual(path(["XDG_RUNTIME_DIR": "", "CACHESRVD_SOCKET": ""]), "/tmp/cachesrvd-1000/cachesrvd.sock")
        XCTAssertEqual(path(["XDG_RUNTIME_DIR": "/run/u", "CACHESRVD_SOCKET": "/s.sock"]), "/s.sock")
    }

    func testDirectoryOfAPath() {
        XCTAssertEqual(SocketPath.directory(of: "/tmp/cachesrvd-0/cachesrvd.sock"), "/tmp/cachesrvd-0")
        XCTAssertEqual(SocketPath.directory(of: "/s.sock"), "/")
        XCTAssertEqual(SocketPath.directory(of: "s.sock"), ".")
    }

    func testPrivateDirectoryIsCreatedOwnerOnlyAndChecked() throws {
        let path = directory + "/private"
        try PrivateDirectory.ensure(path)
        var info = stat()
        XCTAssertEqual(lstat(path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700)
        XCTAssertNil(PrivateDirectory.check(path, owner: getuid()))
        try PrivateDirectory.ensure(path)  // a second start reuses it
    }

    func testLooseOrForeignDirectoriesAreRefused() throws {
        let loose = directory + "/loose"
        XCTAssertEqual(mkdir(loose, 0o700), 0)
        XCTAssertEqual(chmod(loose, 0o777), 0)
        XCTAssertThrowsError(try PrivateDirectory.ensure(loose)) { error in
            XCTAssertTrue("\(error)".contains("mode 777"), "\(error)")
        }
        XCTAssertEqual(chmod(loose, 0o700), 0)
        XCTAssertNotNil(PrivateDirectory.check(loose, owner: getuid() + 1), "another user's directory")
        let link = directory + "/link"
        XCTAssertEqual(symlink(loose, link), 0)
        XCTAssertThrowsError(try PrivateDirectory.ensure(link), "a symbolic link is never followed")
    }

    func testOccupants() throws {
        let path = directory + "/s.sock"
        XCTAssertEqual(SocketPath.occupant(of: path), .free)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
        XCTAssertEqual(SocketPath.occupant(of: path), .notASocket)
        unlink(path)

        let listener = try listen(at: path)
        XCTAssertEqual(SocketPath.occupant(of: path), .liveServer)
        XCTAssertEqual(
            SocketPath.occupant(of: path, uid: getuid() + 1),
            .otherOwner(getuid()),
            "a live socket of another user is never ours"
        )
        close(listener)
        XCTAssertEqual(SocketPath.occupant(of: path), .staleSocket, "nobody listens: ECONNREFUSED")
        XCTAssertEqual(SocketPath.occupant(of: path, uid: getuid() + 1), .otherOwner(getuid()))
    }

    func testPeerCredentialsOfAConnectedSocket() throws {
        let path = directory + "/peer.sock"
        let listener = try listen(at: path)
        defer { close(listener) }
        let client = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        XCTAssertEqual(SocketPath.connect(client, path: path), 0)
        let accepted = accept(listener, nil, nil)
        defer { close(accepted) }
        XCTAssertEqual(
            PeerCredentials.of(descriptor: client),
            PeerCredentials(pid: getpid(), uid: getuid(), gid: getgid()),
            "the listener's credentials, as the client sees them"
        )
        XCTAssertEqual(PeerCredentials.of(descriptor: accepted)?.uid, getuid())
        XCTAssertNil(PeerCredentials.of(descriptor: -1))
    }

    func listen(at path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        XCTAssertEqual(bound, 0)
        XCTAssertEqual(Glibc.listen(fd, 8), 0)
        return fd
    }
}

extension SocketPathTests {
    func testServerMayAnswerFailsClosed() throws {
        let path = directory + "/m.sock"
        XCTAssertFalse(SocketPath.serverMayAnswer(at: path), "no file: no server")
        let listener = try listen(at: path)
        XCTAssertTrue(SocketPath.serverMayAnswer(at: path))
        if getuid() == 0 {
            XCTAssertEqual(chown(path, 54_321, 54_321), 0)
            XCTAssertTrue(SocketPath.serverMayAnswer(at: path), "a live server of another user is still a server")
        }
        close(listener)
        XCTAssertFalse(SocketPath.serverMayAnswer(at: path), "nobody listens: ECONNREFUSED")
        XCTAssertTrue(SocketPath.serverMayAnswer(at: path + "/under-a-file"), "ENOTDIR: cannot tell, so refuse")
    }
}
