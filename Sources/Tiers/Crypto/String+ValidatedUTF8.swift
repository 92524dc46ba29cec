extension String {
    /// `bytes` as text when they are valid UTF-8, `nil` otherwise (portable to every platform the
    /// package declares, unlike `String(validating:as:)`).
    init?(validatedUTF8 bytes: [UInt8]) {
        let decoded = String(decoding: bytes, as: UTF8.self)
        guard decoded.utf8.elementsEqual(bytes) else { return nil }
        self = decoded
    }
}
