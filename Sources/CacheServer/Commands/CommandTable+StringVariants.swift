import Tiers

extension CommandTable {
    /// SETNX, SETEX, PSETEX, GETSET and GETEX: Redis's older forms of SET, and GET with an expiry.
    static let stringVariantCommands: [CommandSpec] = [
        CommandSpec(
            "setnx",
            arity: 3,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "string",
            syntax: "key value",
            summary: "SET NX: 1 if the key was set, 0 if it existed."
        ) { call in
            var options = StringOptions()
            options.nx = true
            let key = call.binary(1)
            let value = call.binary(2)
            try SetCommand.set(
                &call,
                key: key,
                value: value,
                options: options,
                expiry: nil,
                setReply: .integer(1),
                abortReply: .integer(0)
            )
        },
        CommandSpec(
            "setex",
            arity: 4,
            flags: [.write],
            keys: (1, 1, 1),
            group: "string",
            syntax: "key seconds value",
            summary: "SET with EX."
        ) { call in try StringVariantCommands.setWithExpiry(&call, unitMilliseconds: 1000, name: "setex") },
        CommandSpec(
            "psetex",
            arity: 4,
            flags: [.write],
            keys: (1, 1, 1),
            group: "string",
            syntax: "key milliseconds value",
            summary: "SET with PX."
        ) { call in try StringVariantCommands.setWithExpiry(&call, unitMilliseconds: 1, name: "psetex") },
        CommandSpec(
            "getset",
            arity: 3,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "string",
            syntax: "key value",
            summary: "SET with GET: the old value (or nil), the new entry kept until deleted."
        ) { call in
            var options = StringOptions()
            options.get = true
            let key = call.binary(1)
            let value = call.binary(2)
            try SetCommand.set(&call, key: key, value: value, options: options, expiry: nil)
        },
        CommandSpec(
            "getex",
            arity: -2,
            flags: [.write, .fast],
            keys: (1, 1, 1),
            group: "string",
            syntax: "key [EX seconds | PX milliseconds | EXAT unix-time | PXAT unix-ms | PERSIST]",
            summary: "GET that also sets or removes the expiry; a time already past removes the entry."
        ) { call in try StringVariantCommands.getWithExpiry(&call) },
    ]
}

enum StringVariantCommands {
    /// SETEX and PSETEX: the amount is checked first, with the command's own name in the error.
    static func setWithExpiry(_ call: inout CommandCall, unitMilliseconds: Int, name: String) throws {
        let milliseconds = try call.expiryAmount(2, unitMilliseconds: unitMilliseconds, command: name)
        let key = call.binary(1)
        let value = call.binary(3)
        try SetCommand.set(
            &call,
            key: key,
            value: value,
            options: StringOptions(),
            expiry: .relative(milliseconds: milliseconds)
        )
    }

    private enum GetExOutcome {
        case missing
        case failed(any Error)
        case value(String)
    }

    /// GETEX, as `getexCommand`: options first (syntax errors), then the key (nil when missing, whatever the
    /// amount), then the amount; the value is replied before an expiry already past deletes the entry.
    static func getWithExpiry(_ call: inout CommandCall) throws {
        let options = try StringOptions.parse(call, from: 2, for: .getex)
        let expiry = Result { () throws -> Expiry? in try options.expiry(call, command: "getex") }
        let key = call.binary(1)
        let now = call.cache.now()
        let outcome = try call.tier { () throws(TieredCacheError) in
            try call.cache.update(key, mode: call.mode) { entry -> GetExOutcome in
                guard let current = entry else { return .missing }
                switch expiry {
                case .failure(let error): return .failed(error)
                case .success(let expiry?):
                    let expiresAt = expiry.expiresAt(now: now)
                    if let expiresAt, expiresAt <= now {
                        entry = nil
                    } else {
                        entry!.setExpiry(at: expiresAt, now: now)
                    }
                case .success(nil):
                    if options.expiryKind == .persist { entry!.setExpiry(at: nil, now: now) }
                }
                return .value(current.proxyURL)
            }
        }
        switch outcome {
        case .missing: call.out.writeRESPNull()
        case .failed(let error): throw error
        case .value(let value): call.out.writeRESPBulkString(value)
        }
    }
}
