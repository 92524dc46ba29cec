// Custom fields: the entry's own attributes beyond the schema, and field names that address either kind.

extension CacheEntry {
    /// A hash field name as a client gives it: a schema field when it matches one ignoring ASCII case, else a
    /// custom field of exactly that name.
    public enum FieldName: Sendable, Equatable {
        case schema(Field)
        case custom(String)

        /// Resolves `name`: the schema field it names ignoring ASCII case, else the custom field `name`.
        public init(_ name: String) {
            if let field = Field(name: name.utf8) {
                self = .schema(field)
            } else {
                self = .custom(name)
            }
        }

        /// The name as replies give it: the schema field's canonical name, or the custom name as given.
        public var text: String {
            switch self {
            case .schema(let field): field.rawValue
            case .custom(let name): name
            }
        }

        public static func == (lhs: FieldName, rhs: FieldName) -> Bool {
            switch (lhs, rhs) {
            case (.schema(let a), .schema(let b)): a == b
            case (.custom(let a), .custom(let b)): a.utf8.elementsEqual(b.utf8)
            default: false
            }
        }
    }

    /// The value of the custom field `name` (compared as bytes), nil when the entry has none.
    public func customValue(of name: String) -> String? {
        customFields.first { $0.isNamed(name) }?.value
    }

    /// The value of a schema or custom field, nil when unset.
    public func value(of name: FieldName) -> String? {
        switch name {
        case .schema(let field): value(of: field)
        case .custom(let name): customValue(of: name)
        }
    }

    /// Every set field with its value: schema fields in canonical order, then custom fields in insertion order
    /// (HGETALL, HKEYS, HVALS).
    public var allFieldValues: [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        result.reserveCapacity(Field.all.count + customFields.count)
        for (field, value) in fieldValues {
            result.append((field.rawValue, value))
        }
        for custom in customFields {
            result.append((custom.name, custom.value))
        }
        return result
    }

    /// How many fields are set, schema and custom (HLEN).
    public var fieldCount: Int {
        fieldValues.count + customFields.count
    }

    /// Sets a schema or custom field; on a bad value or a custom field over `limits` throws and changes nothing.
    ///
    /// - Returns: whether the field was unset before (HSET's count).
    /// - Throws: `TieredCacheError.invalid` with a client-facing message (see `set(_:to:now:)` and
    ///   `setCustom(_:to:limits:)`).
    @discardableResult
    public mutating func set(
        _ name: FieldName,
        to value: String,
        now: Double,
        limits: CustomFieldLimits
    ) throws(TieredCacheError) -> Bool {
        switch name {
        case .schema(let field):
            let wasUnset = self.value(of: field) == nil
            try set(field, to: value, now: now)
            return wasUnset
        case .custom(let name):
            return try setCustom(name, to: value, limits: limits)
        }
    }

    /// Sets the custom field `name`: replaces its value in place, or appends it.
    ///
    /// - Returns: whether the field is new.
    /// - Throws: `TieredCacheError.invalid` when `name` is a schema field's, when name and value together exceed
    ///   `limits.maxFieldSize` bytes, or when a new field would exceed `limits.maxCount`; nothing is changed.
    @discardableResult
    public mutating func setCustom(
        _ name: String,
        to value: String,
        limits: CustomFieldLimits
    ) throws(TieredCacheError) -> Bool {
        guard Field(name: name.utf8) == nil else {
            throw .invalid("'\(name)' is a schema field, not a custom field")
        }
        let field = CustomField(name: name, value: value)
        guard field.size <= limits.maxFieldSize else {
            throw .invalid(
                "custom field of \(field.size) bytes (name and value): the most is \(limits.maxFieldSize) "
                    + "(max-custom-field-size)"
            )
        }
        if let index = customFields.firstIndex(where: { $0.isNamed(name) }) {
            changeRare { $0.customFields[index].value = value }
            return false
        }
        guard customFields.count < limits.maxCount else {
            throw .invalid("too many custom fields: an entry holds at most \(limits.maxCount) (max-custom-fields)")
        }
        changeRare { $0.customFields.append(field) }
        return true
    }

    /// Removes the custom field `name` (compared as bytes); returns whether it was set.
    @discardableResult
    public mutating func unsetCustom(_ name: String) -> Bool {
        guard let index = customFields.firstIndex(where: { $0.isNamed(name) }) else { return false }
        changeRare { fields in
            fields.customFields.remove(at: index)
            if fields.customFields.isEmpty {
                fields.customFields = []  // give the storage back
            }
        }
        return true
    }

    /// Unsets a schema field (see `unset(_:)`, required ones throw) or removes a custom field; returns whether it
    /// was set.
    public mutating func unset(_ name: FieldName) throws(TieredCacheError) -> Bool {
        switch name {
        case .schema(let field): try unset(field)
        case .custom(let name): unsetCustom(name)
        }
    }

    /// Removes every custom field (SET replaces the whole entry).
    public mutating func removeAllCustomFields() {
        customFields = []
    }

    /// Puts back custom fields read from a tier or a file, in their order, without bounds (they were bounded when
    /// written). A pair named like a schema field, or repeating an earlier name, comes from a damaged or
    /// hand-edited file and is dropped.
    ///
    /// - Returns: how many pairs were dropped.
    @discardableResult
    public mutating func restoreCustomFields(_ fields: [CustomField]) -> Int {
        var kept: [CustomField] = []
        kept.reserveCapacity(fields.count)
        var names = Set<[UInt8]>()
        for field in fields where Field(name: field.name.utf8) == nil {
            if names.insert(Array(field.name.utf8)).inserted {
                kept.append(field)
            }
        }
        customFields = kept
        return fields.count - kept.count
    }
}
