#if canImport(Glibc)
import Glibc
#endif

/// glibc malloc settings for a server that runs for months and sees requests of up to a megabyte or more.
///
/// glibc serves an allocation of at least `M_MMAP_THRESHOLD` bytes (128 KiB at start) with its own mapping, returned
/// to the kernel on free, but raises that threshold each time such a block is freed, up to 32 MiB. After the first
/// 1 MB request a server's large buffers therefore come from the heaps of its threads' arenas, where they fragment
/// and stay resident. Measured with `scripts/soak.py` (100,000 short connections, requests of up to 1 MB, debug
/// build, 2 cores): with glibc's defaults resident memory ended 2 to 7 MB above its baseline, about 9 MB of it freed
/// heap that `malloc_trim` gave back; with the threshold fixed at 128 KiB it ended 0.4 to 1.2 MB above. Limiting
/// the arenas (`M_ARENA_MAX` 2) did as well in that run but adds lock contention between threads, and trimming after
/// large frees would need a call on every connection's path; a fixed threshold costs only a map and an unmap per
/// buffer above it.
///
/// The operator's own glibc settings win: with `MALLOC_MMAP_THRESHOLD_` or an `mmap_threshold` in
/// `GLIBC_TUNABLES` in the environment nothing is changed.
enum MallocTuning {
    /// Allocations of at least this many bytes get their own mapping, given back to the kernel on free. Setting it
    /// also turns off glibc's dynamic raising of the threshold.
    static let mmapThreshold: Int32 = 128 * 1024

    /// `M_MMAP_THRESHOLD` from glibc's `<malloc.h>`, which Swift's Glibc module does not import.
    private static let optionMmapThreshold: Int32 = -3

    /// Applies the settings unless the environment sets them; returns what was done, for the log.
    static func apply(environment: [String: String]) -> String {
        #if canImport(Glibc)
        if environment["MALLOC_MMAP_THRESHOLD_"] != nil
            || (environment["GLIBC_TUNABLES"] ?? "").contains("glibc.malloc.mmap_threshold")
        {
            return "malloc mmap threshold left to the environment"
        }
        // mallopt is looked up at run time: <malloc.h> is not part of the Glibc module, and a C function must be
        // called through a C function pointer.
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "mallopt") else {
            return "mallopt not found; malloc left at its defaults"
        }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        guard mallopt(optionMmapThreshold, mmapThreshold) == 1 else {
            return "mallopt(M_MMAP_THRESHOLD) failed; malloc left at its defaults"
        }
        return "malloc mmap threshold fixed at \(mmapThreshold) bytes"
        #else
        return "malloc left at its defaults"
        #endif
    }
}
