import BinaryText

/// One of an entry's own attributes (`HSET key country de`): a field outside the entry's schema.
///
/// Names are compared as bytes (case-sensitive, no Unicode normalisation), unlike schema field names, which are
/// matched ignoring ASCII case. Values are opaque text: never validated, parsed or normalised.
public struct CustomField: Sendable {
    /// The field's name; never the name of a schema field (ignoring ASCII case).
    public var name: String
    /// The field's value.
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// Bytes of name and value, what `CustomFieldLimits.maxFieldSize` bounds.
    public var size: Int { BinaryText.byteCount(of: name) + BinaryText.byteCount(of: value) }

    /// Whether `name` names this field, byte for byte.
    @inlinable
    public func isNamed(_ name: String) -> Bool {
        self.name.utf8.elementsEqual(name.utf8)
    }
}

extension CustomField: Equatable {
    /// Byte equality: two strings Swift deems canonically equivalent are still different names or values.
    public static func == (lhs: CustomField, rhs: CustomField) -> Bool {
        lhs.name.utf8.elementsEqual(rhs.name.utf8) && lhs.value.utf8.elementsEqual(rhs.value.utf8)
    }
}

/// The bounds on one entry's custom fields; both are named settings of the server.
public struct CustomFieldLimits: Sendable, Equatable {
    /// The most custom fields one entry may hold (`--max-custom-fields`); 0 forbids them.
    public var maxCount: Int
    /// The most bytes of name plus value one custom field may take (`--max-custom-field-size`).
    public var maxFieldSize: Int

    /// The defaults: 64 fields of up to 8 KiB each.
    public init(maxCount: Int = 64, maxFieldSize: Int = 8192) {
        self.maxCount = maxCount
        self.maxFieldSize = maxFieldSize
    }

    /// No bounds: for entries read back from a tier or a file, which were bounded when they were written.
    public static let unbounded = CustomFieldLimits(maxCount: .max, maxFieldSize: .max)
}
