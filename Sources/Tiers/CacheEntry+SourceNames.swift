import Synchronization

extension CacheEntry {
    /// The source names entries share: a process-wide, append-only table that gives each name a 16-bit code, so an
    /// entry holds its source in two bytes instead of a 16-byte `String` (sources are a handful of feed names
    /// shared by millions of entries).
    ///
    /// Names are told apart byte for byte (two names Swift deems canonically equivalent get two codes), so a name
    /// reads back exactly as it was set. The table is bounded: at most `capacity` names of at most `longestName`
    /// bytes; any other name is kept in the entry's rare-fields box instead (`inBox`), so clients that set many
    /// distinct sources cannot grow it without bound.
    enum SourceNames {
        /// The code of an entry whose source is in its box.
        static let inBox = UInt16.max
        /// The code of `"unknown"`, every entry's default source.
        static let unknown: UInt16 = 0
        /// The most names the table holds.
        static let capacity = 4096
        /// The longest name the table takes, bytes.
        static let longestName = 64

        /// A name as the table's key: hashed and compared as UTF-8 bytes.
        private struct Name: Hashable {
            let text: String

            static func == (lhs: Name, rhs: Name) -> Bool {
                lhs.text.utf8.elementsEqual(rhs.text.utf8)
            }

            func hash(into hasher: inout Hasher) {
                var text = text
                text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
            }
        }

        private struct Table {
            var names: [String] = ["unknown"]
            var codes: [Name: UInt16] = [Name(text: "unknown"): 0]
        }

        private static let table = Mutex(Table())

        /// The code of `name`, given one if it has none yet; `inBox` when the table cannot take it.
        static func code(for name: String) -> UInt16 {
            if name.utf8.elementsEqual("unknown".utf8) { return unknown }
            guard name.utf8.count <= longestName else { return inBox }
            let key = Name(text: name)
            return table.withLock { table in
                if let code = table.codes[key] { return code }
                guard table.names.count < capacity else { return inBox }
                let code = UInt16(table.names.count)
                table.names.append(name)
                table.codes[key] = code
                return code
            }
        }

        /// The name of a code `code(for:)` gave (never `inBox`).
        static func name(of code: UInt16) -> String {
            if code == unknown { return "unknown" }
            return table.withLock { $0.names[Int(code)] }
        }
    }

    /// Where the proxy came from (a source name; per-source TTLs key on it).
    public var source: String {
        get {
            sourceCode == SourceNames.inBox ? (rare?.values.source ?? "") : SourceNames.name(of: sourceCode)
        }
        set {
            let code = SourceNames.code(for: newValue)
            if code == SourceNames.inBox {
                changeRare { $0.source = newValue }
            } else if sourceCode == SourceNames.inBox {
                changeRare { $0.source = nil }
            }
            sourceCode = code
        }
    }
}
