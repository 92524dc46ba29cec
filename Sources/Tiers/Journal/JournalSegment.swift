#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One file of the journal, `journal-<first sequence>.log`: records appended in sequence order.
struct JournalSegment: Sendable {
    /// The sequence of the segment's first record (its name; the segment may be empty).
    var firstSequence: UInt64
    var path: String

    static let prefix = "journal-"
    static let suffix = ".log"

    static func name(firstSequence: UInt64) -> String {
        let digits = String(firstSequence)
        return prefix + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    /// The segments in `directory`, oldest first.
    static func list(in directory: String) throws(JournalError) -> [JournalSegment] {
        guard let handle = opendir(directory) else {
            throw JournalError("cannot list \(directory): \(String(cString: strerror(errno)))")
        }
        defer { closedir(handle) }
        var segments: [JournalSegment] = []
        while let item = readdir(handle) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { continue }
            let digits = name.dropFirst(prefix.count).dropLast(suffix.count)
            guard let first = UInt64(digits) else { continue }
            segments.append(JournalSegment(firstSequence: first, path: directory + "/" + name))
        }
        return segments.sorted { $0.firstSequence < $1.firstSequence }
    }

    /// Reads the segment's valid records in order, `chunk` at a time, and stops at the first record that is torn
    /// (a crash in the middle of a write) or damaged. Returns how many bytes were valid and whether the file has
    /// more bytes after them than the zeros of its unwritten space (`JournalSpace`): a record's length is never 0.
    func read(
        cipher: CredentialCipher,
        chunk: Int,
        _ body: ([(UInt64, JournalRecord)]) throws(JournalError) -> Void
    ) throws(JournalError) -> (validBytes: Int, damagedTail: Bool, problem: String?) {
        let bytes = try Self.readWholeFile(path)
        var offset = 0
        var records: [(UInt64, JournalRecord)] = []
        var problem: String? = nil
        var thrown: JournalError? = nil
        bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            while raw.count - offset >= JournalCodec.headerSize {
                let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                let crc = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
                let start = offset + JournalCodec.headerSize
                if length == 0 {
                    problem = "a record's length is 0"
                    break
                }
                guard length <= JournalCodec.maxBodySize, raw.count - start >= length else {
                    problem = "a record is cut short"
                    break
                }
                let recordBody = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
                guard CRC32.checksum(recordBody) == crc else {
                    problem = "a record's checksum does not match"
                    break
                }
                let decoded: (UInt64, JournalRecord)
                do throws(JournalError) {
                    decoded = try JournalCodec.decode(body: recordBody, cipher: cipher)
                } catch {
                    problem = error.description
                    break
                }
                records.append(decoded)
                offset = start + length
                if records.count >= chunk {
                    do throws(JournalError) {
                        try body(records)
                    } catch {
                        thrown = error
                        return
                    }
                    records.removeAll(keepingCapacity: true)
                }
            }
        }
        if let thrown { throw thrown }
        let unwrittenSpace = bytes[offset...].allSatisfy { $0 == 0 }
        if unwrittenSpace { problem = nil }
        if !records.isEmpty { try body(records) }
        return (offset, offset < bytes.count && !unwrittenSpace, problem)
    }

    private static func readWholeFile(_ path: String) throws(JournalError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw JournalError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw JournalError("cannot stat \(path)") }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeMutableBytes { raw in
                Glibc.read(fd, raw.baseAddress! + done, raw.count - done)
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                if count == 0 { break }
                throw JournalError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            done += count
        }
        bytes.removeLast(bytes.count - done)
        return bytes
    }
}
