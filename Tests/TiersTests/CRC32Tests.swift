import XCTest

@testable import Tiers

/// The journal's CRC-32 against the standard check value and zlib's own checksums, at every length around the
/// eight-byte steps and at every alignment.
final class CRC32Tests: XCTestCase {
    private func crc(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { CRC32.checksum($0) }
    }

    /// The byte-at-a-time definition, the reference for the sliced one.
    private func reference(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }

    func testKnownValues() {
        XCTAssertEqual(crc(Array("123456789".utf8)), 0xCBF4_3926, "the CRC-32/ISO-HDLC check value")
        XCTAssertEqual(crc([]), 0)
        // zlib.crc32(b"The quick brown fox jumps over the lazy dog")
        XCTAssertEqual(crc(Array("The quick brown fox jumps over the lazy dog".utf8)), 0x414F_A339)
    }

    func testEveryLengthAndAlignmentMatchesTheBytewiseDefinition() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for start in 0..<9 {
            for length in 0...(bytes.count - start) where length < 40 || length % 7 == 0 {
                let slice = bytes[start..<(start + length)]
                let sliced = slice.withUnsafeBytes { CRC32.checksum($0) }
                XCTAssertEqual(sliced, reference(slice), "start \(start), length \(length)")
            }
        }
    }
}
