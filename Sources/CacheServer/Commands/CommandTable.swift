import NIOCore

/// Every command the server knows, declared once.
struct CommandTable: Sendable {
    private let byName: [String: CommandSpec]
    /// In declaration order, for COMMAND and the docs.
    let all: [CommandSpec]

    init(_ specs: [CommandSpec]) {
        var byName: [String: CommandSpec] = [:]
        for spec in specs {
            precondition(byName[spec.name.uppercased()] == nil, "command \(spec.name) declared twice")
            byName[spec.name.uppercased()] = spec
        }
        self.byName = byName
        self.all = specs
    }

    /// Looks a command up by its name as the client sent it (any case).
    func lookup(_ name: ByteBuffer) -> CommandSpec? {
        guard name.readableBytes <= 32 else { return nil }
        let upper = name.withUnsafeReadableBytes { raw in
            String(unsafeUninitializedCapacity: raw.count) { target in
                for (index, byte) in raw.enumerated() {
                    target[index] = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) ? byte - 32 : byte
                }
                return raw.count
            }
        }
        return byName[upper]
    }

    func lookup(_ name: String) -> CommandSpec? {
        byName[name.uppercased()]
    }

    /// The table of this server.
    static let standard = CommandTable(
        CommandTable.connectionCommands + CommandTable.serverCommands + CommandTable.stringCommands
            + CommandTable.stringVariantCommands + CommandTable.stringEditCommands + CommandTable.counterCommands
            + CommandTable.keyspaceCommands + CommandTable.expiryCommands + CommandTable.renameCommands
            + CommandTable.introspectionCommands + CommandTable.hashCommands + CommandTable.cacheCommands
            + CommandTable.transactionCommands + CommandTable.observabilityCommands
    )
}
