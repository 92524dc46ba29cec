import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Figures of this process that INFO reports: memory as the kernel and the allocator see it, CPU time, the OS.
enum ProcessFigures {
    /// The largest `heapBytes` seen so far (Redis's `used_memory_peak`).
    private static let peak = Atomic<Int>(0)

    /// Resident memory from /proc/self/statm, bytes (Redis's `used_memory_rss`).
    static func residentBytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 128)
        guard fgets(&line, Int32(line.count), file) != nil else { return 0 }
        let fields = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .split(separator: " ")
        guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Anonymous resident memory (`RssAnon` of /proc/self/status: the heap, stacks and other private
    /// allocations, not the mapped binary and libraries), bytes: Redis's `used_memory`, what the process itself
    /// allocated and holds in RAM. Falls back to the resident size when the field is missing.
    static func heapBytes() -> Int {
        let used = statusField("RssAnon:") ?? residentBytes()
        peak.raiseTo(used)
        return used
    }

    /// A `kB` field of /proc/self/status, in bytes.
    private static func statusField(_ name: String) -> Int? {
        guard let file = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix(name) else { continue }
            let number = text.dropFirst(name.count).split(separator: " ", omittingEmptySubsequences: true).first
            return number.flatMap { Int($0.filter(\.isNumber)) }.map { $0 * 1024 }
        }
        return nil
    }

    /// The largest heap size INFO has seen.
    static var peakHeapBytes: Int {
        peak.load(ordering: .relaxed)
    }

    /// Physical memory of the machine, bytes.
    static func systemMemoryBytes() -> Int {
        Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// CPU seconds used by this process: system, user.
    static func cpuSeconds() -> (system: Double, user: Double) {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return (0, 0) }
        func seconds(_ time: timeval) -> Double {
            Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000
        }
        return (seconds(usage.ru_stime), seconds(usage.ru_utime))
    }

    /// `uname -srm`.
    static func osName() -> String {
        var name = utsname()
        uname(&name)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
        }
        return "\(field(name.sysname)) \(field(name.release)) \(field(name.machine))"
    }
}

extension Atomic where Value == Int {
    /// Raises the value to `candidate` if it is larger.
    fileprivate func raiseTo(_ candidate: Int) {
        var current = load(ordering: .relaxed)
        while candidate > current {
            let (exchanged, original) = compareExchange(
                expected: current,
                desired: candidate,
                ordering: .relaxed
            )
            if exchanged { return }
            current = original
        }
    }
}
