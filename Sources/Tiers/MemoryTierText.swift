#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The key and proxy URL bytes of one L1 record, in one heap block: a 16-byte object header and the bytes, with no
/// lengths (the record keeps them) and no terminator.
///
/// Never changed after `make`, so copies of a record may share it. Not `Sendable` (`ManagedBuffer` is not): it
/// stays inside a shard and is only read under the shard's lock.
final class MemoryTierText: ManagedBuffer<Void, UInt8> {
    /// The bytes before the first byte of text: the object header (type and reference counts).
    static let headerBytes = 16

    /// A block holding `key`'s UTF-8 bytes, then `url`'s.
    static func make(_ key: String, _ url: String) -> MemoryTierText {
        let keyCount = key.utf8.count
        let urlCount = url.utf8.count
        let made = create(minimumCapacity: keyCount + urlCount) { _ in () }
        let text = unsafeDowncast(made, to: MemoryTierText.self)
        text.withUnsafeMutablePointerToElements { bytes in
            copy(key, to: bytes, count: keyCount)
            copy(url, to: bytes + keyCount, count: urlCount)
        }
        return text
    }

    private static func copy(_ string: String, to target: UnsafeMutablePointer<UInt8>, count: Int) {
        let copied: Void? = string.utf8.withContiguousStorageIfAvailable { source in
            guard let base = source.baseAddress else { return }
            target.update(from: base, count: count)
        }
        if copied == nil {
            _ = UnsafeMutableBufferPointer(start: target, count: count).initialize(from: string.utf8)
        }
    }

    /// The text of `count` bytes from `offset`, as a `String` (the bytes came from one, so they are valid UTF-8).
    func string(from offset: Int, count: Int) -> String {
        withUnsafeMutablePointerToElements { bytes in
            String(unsafeUninitializedCapacity: count) { target in
                guard let base = target.baseAddress else { return 0 }
                base.update(from: bytes + offset, count: count)
                return count
            }
        }
    }

    /// Whether the `count` bytes from `offset` are `given`'s.
    func bytesEqual(_ given: UnsafeBufferPointer<UInt8>, from offset: Int, count: Int) -> Bool {
        guard given.count == count else { return false }
        guard count > 0, let base = given.baseAddress else { return true }
        return withUnsafeMutablePointerToElements { bytes in memcmp(bytes + offset, base, count) == 0 }
    }

    /// Whether the `count` bytes from `offset` are `string`'s UTF-8 bytes.
    func bytesEqual(_ string: String, from offset: Int, count: Int) -> Bool {
        if let same = string.utf8.withContiguousStorageIfAvailable({ bytesEqual($0, from: offset, count: count) }) {
            return same
        }
        return Array(string.utf8).withUnsafeBufferPointer { bytesEqual($0, from: offset, count: count) }
    }

    /// Whether the block holds exactly `key`'s bytes, then `url`'s.
    func holds(_ key: String, _ url: String, keyLength: Int, urlLength: Int) -> Bool {
        bytesEqual(key, from: 0, count: keyLength) && bytesEqual(url, from: keyLength, count: urlLength)
    }
}
