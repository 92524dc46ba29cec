import EntrySchema

/// The journal's binary record format.
///
/// A record is `length` (UInt32, little-endian, of the body), `crc` (CRC-32 of the body), then the body:
/// the sequence number (UInt64), a kind byte and the kind's fields. Strings are a UInt32 byte count and their
/// UTF-8 (keys and values are already in `BinaryText`'s form), optionals a 0/1 byte first, times their IEEE-754
/// bits, integers 64-bit two's complement. Credentials are written only as Fernet tokens: the username, the
/// password, and a `proxy_url` with a password in it (masked text, and the whole URL as a token), as the stores
/// keep them.
enum JournalCodec {
    enum Kind: UInt8 {
        case put = 1
        case delete = 2
        case health = 3
        case flush = 4
    }

    /// The bytes before a record's body.
    static let headerSize = 8
    /// The largest body accepted when reading (a length beyond it is damage, not a record).
    static let maxBodySize = 1 << 30

    /// Appends one framed record to `output`.
    static func append(
        _ record: JournalRecord,
        sequence: UInt64,
        cipher: CredentialCipher,
        to output: inout [UInt8]
    ) {
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: headerSize))
        // The buffer moves into the writer and back (swapped, never copied: a copy per record is quadratic).
        var body = JournalWriter(output: [])
        swap(&body.output, &output)
        body.integer(sequence)
        switch record {
        case .flush:
            body.byte(Kind.flush.rawValue)
        case .write(.delete(let key)):
            body.byte(Kind.delete.rawValue)
            body.string(key)
        case .write(.appendHealth(let key, let check, let keep)):
            body.byte(Kind.health.rawValue)
            body.string(key)
            body.integer(UInt64(bitPattern: Int64(keep)))
            body.double(check.checkTime)
            body.string(check.status.rawValue)
            body.optionalDouble(check.responseTimeMs)
            body.optionalString(check.errorMessage)
            body.optionalString(check.checkURL)
        case .write(.put(let entry)):
            body.byte(Kind.put.rawValue)
            encode(entry, cipher: cipher, into: &body)
        }
        swap(&body.output, &output)
        let length = output.count - start - headerSize
        let crc = output.withUnsafeBytes {
            CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[(start + headerSize)...]))
        }
        withUnsafeBytes(of: UInt32(length).littleEndian) { output.replaceSubrange(start..<(start + 4), with: $0) }
        withUnsafeBytes(of: crc.littleEndian) { output.replaceSubrange((start + 4)..<(start + 8), with: $0) }
    }

    /// An entry: its key, then its fields in `EntryField.all`'s order, each as its kind says (the proxy URL as its
    /// masked text and its optional token, a credential as its optional token), then its custom fields.
    private static func encode(_ entry: CacheEntry, cipher: CredentialCipher, into body: inout JournalWriter) {
        body.string(entry.key)
        for field in EntryField.all {
            switch (field, entry[field]) {
            case (.proxyURL, _):
                let sealed = ProxyURLSeal.seal(entry.proxyURL, with: cipher)
                body.string(sealed.text)
                body.optionalString(sealed.token)
            case (_, .text(let text)) where field.isCredential: body.optionalString(text.map(cipher.encrypt))
            case (_, .text(let text)) where field.isOptional: body.optionalString(text)
            case (_, .text(let text)): body.string(text ?? "")
            case (_, .status(let status)): body.string(status.rawValue)
            case (_, .integer(let number)): body.int(number)
            case (_, .time(let time)) where field.isOptional: body.optionalDouble(time)
            case (_, .time(let time)): body.double(time ?? 0)
            case (_, .flag(let flag)): body.byte(flag ? 1 : 0)
            }
        }
        body.int(entry.customFields.count)
        for field in entry.customFields {
            body.string(field.name)
            body.string(field.value)
        }
    }

    /// Decodes one record body (after its header, checksum verified).
    static func decode(
        body: UnsafeRawBufferPointer,
        cipher: CredentialCipher
    ) throws(JournalError) -> (sequence: UInt64, record: JournalRecord) {
        var reader = JournalReader(bytes: body)
        let sequence = try reader.integer()
        guard let kind = Kind(rawValue: try reader.byte()) else {
            throw JournalError("unknown record kind at sequence \(sequence)")
        }
        let record: JournalRecord
        switch kind {
        case .flush:
            record = .flush
        case .delete:
            record = .write(.delete(key: try reader.string()))
        case .health:
            let key = try reader.string()
            let keep = Int(Int64(bitPattern: try reader.integer()))
            let checkTime = try reader.double()
            let status = try reader.status()
            let check = HealthCheckRecord(
                checkTime: checkTime,
                status: status,
                responseTimeMs: try reader.optionalDouble(),
                errorMessage: try reader.optionalString(),
                checkURL: try reader.optionalString()
            )
            record = .write(.appendHealth(key: key, record: check, keep: keep))
        case .put:
            record = .write(.put(try decodeEntry(&reader, cipher: cipher)))
        }
        guard reader.isAtEnd else { throw JournalError("trailing bytes in the record at sequence \(sequence)") }
        return (sequence, record)
    }

    private static func decodeEntry(
        _ reader: inout JournalReader,
        cipher: CredentialCipher
    ) throws(JournalError) -> CacheEntry {
        let key = try reader.string()
        var entry = CacheEntry(key: key, proxyURL: "", now: 0, ttlSeconds: nil)
        var urlText = ""
        var urlToken: String? = nil
        var credentialTokens: [(field: EntryField, token: String)] = []
        for field in EntryField.all {
            switch field.kind {
            case _ where field == .proxyURL:
                urlText = try reader.string()
                urlToken = try reader.optionalString()
            case .credential:
                if let token = try reader.optionalString() { credentialTokens.append((field, token)) }
            case .text: entry[field] = .text(field.isOptional ? try reader.optionalString() : try reader.string())
            case .status: entry[field] = .status(try reader.status())
            case .integer: entry[field] = .integer(try reader.int())
            case .time: entry[field] = .time(field.isOptional ? try reader.optionalDouble() : try reader.double())
            case .flag: entry[field] = .flag(try reader.byte() != 0)
            }
        }
        do {
            entry.proxyURL = try ProxyURLSeal.open(text: urlText, token: urlToken, with: cipher, key: key)
            for (field, token) in credentialTokens {
                entry[field] = .text(try cipher.decrypt(token))
            }
        } catch {
            throw JournalError("a credential of key \(key) cannot be decrypted: \(error.message)")
        }
        let fieldCount = try reader.int()
        guard fieldCount >= 0, fieldCount <= reader.remaining else {
            throw JournalError("bad custom field count in the record of key \(key)")
        }
        var fields: [CustomField] = []
        fields.reserveCapacity(fieldCount)
        for _ in 0..<fieldCount {
            fields.append(CustomField(name: try reader.string(), value: try reader.string()))
        }
        entry.customFields = fields
        return entry
    }
}

/// A journal that cannot be read or written.
struct JournalError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Appends the fields of a record body.
struct JournalWriter {
    var output: [UInt8]

    mutating func byte(_ value: UInt8) { output.append(value) }

    mutating func integer(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { output.append(contentsOf: $0) }
    }

    mutating func int(_ value: Int) { integer(UInt64(bitPattern: Int64(value))) }

    mutating func double(_ value: Double) { integer(value.bitPattern) }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { output.append(contentsOf: $0) }
            output.append(contentsOf: utf8)
        }
    }

    mutating func optionalString(_ value: String?) {
        guard let value else { return byte(0) }
        byte(1)
        string(value)
    }

    mutating func optionalDouble(_ value: Double?) {
        guard let value else { return byte(0) }
        byte(1)
        double(value)
    }
}

/// Reads the fields of a record body; every read is bounds-checked.
struct JournalReader {
    let bytes: UnsafeRawBufferPointer
    private var offset = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }
    var remaining: Int { bytes.count - offset }

    private mutating func take(_ count: Int) throws(JournalError) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else { throw JournalError("a record ends early") }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }

    mutating func byte() throws(JournalError) -> UInt8 { try take(1)[0] }

    mutating func integer() throws(JournalError) -> UInt64 {
        UInt64(littleEndian: try take(8).loadUnaligned(as: UInt64.self))
    }

    mutating func int() throws(JournalError) -> Int { Int(Int64(bitPattern: try integer())) }

    mutating func double() throws(JournalError) -> Double { Double(bitPattern: try integer()) }

    mutating func string() throws(JournalError) -> String {
        let count = Int(UInt32(littleEndian: try take(4).loadUnaligned(as: UInt32.self)))
        let utf8 = try take(count)
        guard let text = String(validating: utf8, as: UTF8.self) else {
            throw JournalError("a string in a record is not UTF-8")
        }
        return text
    }

    mutating func optionalString() throws(JournalError) -> String? {
        try byte() == 0 ? nil : try string()
    }

    mutating func optionalDouble() throws(JournalError) -> Double? {
        try byte() == 0 ? nil : try double()
    }

    mutating func status() throws(JournalError) -> HealthStatus {
        let text = try string()
        guard let status = HealthStatus(rawValue: text) else { throw JournalError("unknown health status \(text)") }
        return status
    }
}
