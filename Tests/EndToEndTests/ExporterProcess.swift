import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real Prometheus redis_exporter process scraping a server over its Unix socket, and a plain HTTP client that
/// reads its /metrics on a loopback port.
final class ExporterProcess {
    let process = Process()
    let port: UInt16
    let logPath: String

    /// The exporter's binary (Debian's `prometheus-redis-exporter`, or upstream's `redis_exporter`), if installed.
    static var binary: String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for name in ["prometheus-redis-exporter", "redis_exporter"] {
            for directory in paths + ["/usr/bin", "/usr/local/bin"] {
                let path = "\(directory)/\(name)"
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
        }
        return nil
    }

    init(binary: String, socketPath: String, directory: String) throws {
        port = try Self.freeLoopbackPort()
        logPath = directory + "/exporter.log"
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--redis.addr=unix://" + socketPath,
            "--web.listen-address=127.0.0.1:\(port)",
            "--debug",
        ]
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Scrapes /metrics once, waiting (up to 30 s) for the exporter to listen: `name{labels}` to value.
    func scrape() throws -> [String: Double] {
        let deadline = Date().addingTimeInterval(30)
        while true {
            if let body = try? Self.httpGet(port: port, path: "/metrics") { return Self.parse(body) }
            guard process.isRunning, Date() < deadline else { throw ExporterError.noMetrics(log) }
            usleep(20_000)
        }
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
    }

    deinit { stop() }

    /// Prometheus's text format: `name{labels} value` lines, comments skipped.
    static func parse(_ body: String) -> [String: Double] {
        var metrics: [String: Double] = [:]
        for line in body.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            metrics[String(line[..<space])] = value
        }
        return metrics
    }

    /// A port nobody listens on now (bound to port 0 by the kernel, then released).
    static func freeLoopbackPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ExporterError.io("socket: \(errno)") }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw ExporterError.io("bind: \(errno)") }
        return UInt16(bigEndian: address.sin_port)
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return address
    }

    /// HTTP/1.0 GET over a plain TCP socket; the body of a 200 reply.
    static func httpGet(port: UInt16, path: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ExporterError.io("socket: \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { throw ExporterError.io("connect: \(errno)") }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count
        else { throw ExporterError.io("send: \(errno)") }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            guard count > 0 else { throw ExporterError.io("recv: \(errno)") }
            response += chunk[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.") && text.split(separator: " ").dropFirst().first == "200",
            let headerEnd = text.range(of: "\r\n\r\n")
        else { throw ExporterError.io("bad reply: \(text.prefix(200))") }
        return String(text[headerEnd.upperBound...])
    }
}

enum ExporterError: Error {
    case io(String)
    case noMetrics(String)
}
