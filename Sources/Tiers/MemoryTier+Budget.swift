#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The memory bound's default, from the machine, and the sizes `--l1-max-memory` and CONFIG SET maxmemory take.

extension MemoryTier {
    /// The default memory bound (`--l1-max-memory`): a quarter of the memory this process may use, the machine's
    /// physical memory or its cgroup's limit (v2 `memory.max`, v1 `memory.limit_in_bytes`) when that is lower,
    /// and at least `smallestDefaultMaxMemory`.
    ///
    /// A quarter, not all of it as Redis's unbounded default lets happen: the estimate leaves out allocator
    /// slack and the process's other memory (connections, disk tiers' caches), other processes share the machine,
    /// and a cache that grows until the kernel's OOM killer ends it loses everything it held. A fixed size would
    /// be too much for a small container and far too little for a large machine.
    public static let defaultMaxMemory: Int = defaultMaxMemory(
        physical: physicalMemoryBytes(),
        limit: cgroupMemoryLimitBytes()
    )

    /// The default bound is never below this (64 MiB), whatever a broken limit file says.
    public static let smallestDefaultMaxMemory = 64 << 20

    /// A quarter of `physical`, or of `limit` when that is lower, at least `smallestDefaultMaxMemory`.
    public static func defaultMaxMemory(physical: Int, limit: Int?) -> Int {
        max(smallestDefaultMaxMemory, min(physical, limit ?? .max) / 4)
    }

    /// The machine's physical memory, bytes.
    static func physicalMemoryBytes() -> Int {
        Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The lowest memory limit of this process's cgroups (v2 and v1), nil when none is set or readable.
    static func cgroupMemoryLimitBytes() -> Int? {
        var limits: [Int] = []
        for line in (readSmallFile("/proc/self/cgroup") ?? "").split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = parts[2] == "/" ? "" : String(parts[2])
            if parts[0] == "0", parts[1].isEmpty {
                for file in ["/sys/fs/cgroup\(path)/memory.max", "/sys/fs/cgroup/memory.max"] {
                    if let limit = readSmallFile(file).flatMap(parseLimit) { limits.append(limit) }
                }
            } else if parts[1].split(separator: ",").contains("memory") {
                for file in [
                    "/sys/fs/cgroup/memory\(path)/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                ] {
                    if let limit = readSmallFile(file).flatMap(parseLimit) { limits.append(limit) }
                }
            }
        }
        return limits.min()
    }

    /// A cgroup limit file's value: bytes, nil for `max` (no limit) or anything unreadable.
    static func parseLimit(_ text: String) -> Int? {
        let trimmed = text.split(separator: "\n").first.map(String.init) ?? ""
        guard let value = Int(trimmed), value > 0 else { return nil }
        return value
    }

    /// The text of a small file (at most 64 KiB read), nil when it cannot be read.
    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 65536 {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads a memory size as Redis reads maxmemory: a whole number of bytes, optionally followed by a unit,
    /// case-insensitive: `b`; `k`, `m`, `g` (powers of 1000); `kb`, `mb`, `gb` (powers of 1024). `512mb` is
    /// 536870912, `1gb` 1073741824, `1g` 1000000000. Nil for anything else (a sign, a fraction, another unit, an
    /// overflow).
    public static func parseMemorySize(_ text: String) -> Int? {
        let lowered = text.lowercased()
        let digits = lowered.prefix { $0 >= "0" && $0 <= "9" }
        guard !digits.isEmpty, let number = Int(digits) else { return nil }
        let multiplier: Int
        switch lowered.dropFirst(digits.count) {
        case "", "b": multiplier = 1
        case "k": multiplier = 1000
        case "kb": multiplier = 1024
        case "m": multiplier = 1000 * 1000
        case "mb": multiplier = 1024 * 1024
        case "g": multiplier = 1000 * 1000 * 1000
        case "gb": multiplier = 1024 * 1024 * 1024
        default: return nil
        }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : bytes
    }
}
