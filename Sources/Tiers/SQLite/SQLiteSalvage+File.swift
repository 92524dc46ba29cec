#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The file's header, its freelist, its WAL.

extension SQLiteSalvage {
    /// The magic string at the start of a database file.
    static let headerMagic = Array("SQLite format 3\0".utf8)

    /// The page size in page 1's header, or `nil` when the header is damaged.
    static func headerPageSize(_ file: [UInt8]) -> Int? {
        guard file.count >= 100, Array(file[0..<16]) == headerMagic else { return nil }
        let raw = Int(uint16(file[...], 16))
        let size = raw == 1 ? 65536 : raw
        return isPageSize(size) ? size : nil
    }

    static func isPageSize(_ size: Int) -> Bool {
        size >= 512 && size <= 65536 && size & (size - 1) == 0
    }

    /// The pages on the freelist (trunk and leaf pages), following page 1's header; stops at anything odd.
    static func freelist(_ pages: [ArraySlice<UInt8>], pageSize: Int) -> Set<Int> {
        guard let first = pages.first else { return [] }
        var free: Set<Int> = []
        var trunk = Int(uint32(first, first.startIndex + 32))
        while trunk >= 2, trunk <= pages.count, !free.contains(trunk) {
            free.insert(trunk)
            let page = pages[trunk - 1]
            let count = Int(uint32(page, page.startIndex + 4))
            guard count <= (pageSize - 8) / 4 else { break }
            for index in 0..<count {
                let leaf = Int(uint32(page, page.startIndex + 8 + 4 * index))
                if leaf >= 2, leaf <= pages.count { free.insert(leaf) }
            }
            trunk = Int(uint32(page, page.startIndex))
        }
        return free
    }

    // MARK: WAL

    /// The page size in a WAL header, or `nil` when there is no valid header.
    static func walPageSize(_ wal: [UInt8]) -> Int? {
        guard wal.count >= 32 else { return nil }
        let magic = uint32(wal[...], 0)
        guard magic == 0x377f_0682 || magic == 0x377f_0683 else { return nil }
        let size = Int(uint32(wal[...], 8))
        return isPageSize(size) ? size : nil
    }

    /// The newest frame of each page up to the last commit frame whose salts match the header's (frames after
    /// it belong to an unfinished transaction or an older generation of the WAL). Checksums are not verified:
    /// the records read from the pages are validated instead.
    static func committedWALFrames(_ wal: [UInt8], pageSize: Int) -> [(Int, ArraySlice<UInt8>)] {
        guard walPageSize(wal) == pageSize else { return [] }
        let salts = wal[16..<24]
        var pending: [Int: ArraySlice<UInt8>] = [:]
        var committed: [Int: ArraySlice<UInt8>] = [:]
        var offset = 32
        while offset + 24 + pageSize <= wal.count {
            let number = Int(uint32(wal[...], offset))
            let commitSize = uint32(wal[...], offset + 4)
            guard wal[(offset + 8)..<(offset + 16)].elementsEqual(salts), number >= 1 else { break }
            pending[number] = wal[(offset + 24)..<(offset + 24 + pageSize)]
            if commitSize != 0 {
                committed.merge(pending) { _, newer in newer }
                pending.removeAll()
            }
            offset += 24 + pageSize
        }
        return committed.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    // MARK: Reading

    /// The whole file (`.io` when it cannot be opened or read; files beyond `maxFileSize` are refused).
    static func readFile(_ path: String) throws(StoreError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SQLiteFiles.posixError("open \(path) to salvage it") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SQLiteFiles.posixError("stat \(path)") }
        let size = Int(info.st_size)
        guard size <= maxFileSize else { throw StoreError(.io, "\(path) is too large to salvage (\(size) bytes)") }
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let count = bytes.withUnsafeMutableBytes { buffer in
                pread(fd, buffer.baseAddress! + filled, size - filled, off_t(filled))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw SQLiteFiles.posixError("read \(path)")
            }
            if count == 0 { break }
            filled += count
        }
        return Array(bytes[0..<filled])
    }
}
