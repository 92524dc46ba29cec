/// The options SET and GETEX share, parsed as Redis 7.0's `parseExtendedStringArgumentsOrReply` parses them.
///
/// SET takes NX, XX, GET, KEEPTTL, EX, PX, EXAT and PXAT; GETEX takes PERSIST, EX, PX, EXAT and PXAT. An option
/// may be repeated (the last amount wins), but two different expiry options, or NX with XX, are a syntax error. The
/// amount is only checked after every option parsed (a syntax error further on wins), and only when the command
/// gets that far: GETEX of a missing key never checks it.
struct StringOptions {
    /// Which command's options are parsed.
    enum Command {
        case set
        case getex
    }

    /// The expiry option given, if any.
    enum ExpiryKind: Equatable {
        case ex
        case px
        case exat
        case pxat
        case keepTTL
        case persist
    }

    var nx = false
    var xx = false
    var get = false
    var expiryKind: ExpiryKind?
    /// The argument holding the amount of EX, PX, EXAT or PXAT.
    var amountIndex = 0

    /// Parses the options from argument `start` on.
    ///
    /// - Throws: `CommandError.syntax` for an unknown option, a missing amount or options that conflict.
    static func parse(_ call: CommandCall, from start: Int, for command: Command) throws -> StringOptions {
        var options = StringOptions()
        var index = start
        while index < call.count {
            let option = call.option(index)
            let hasNext = index + 1 < call.count
            switch (option, command) {
            case ("NX", .set) where !options.xx: options.nx = true
            case ("XX", .set) where !options.nx: options.xx = true
            case ("GET", .set): options.get = true
            case ("KEEPTTL", .set) where options.allows(.keepTTL): options.expiryKind = .keepTTL
            case ("PERSIST", .getex) where options.allows(.persist): options.expiryKind = .persist
            case ("EX", _) where hasNext && options.allows(.ex): options.setAmount(.ex, at: &index)
            case ("PX", _) where hasNext && options.allows(.px): options.setAmount(.px, at: &index)
            case ("EXAT", _) where hasNext && options.allows(.exat): options.setAmount(.exat, at: &index)
            case ("PXAT", _) where hasNext && options.allows(.pxat): options.setAmount(.pxat, at: &index)
            default: throw CommandError.syntax
            }
            index += 1
        }
        return options
    }

    /// Whether `kind` may follow the options seen so far: the same kind again, or the first expiry option.
    private func allows(_ kind: ExpiryKind) -> Bool {
        expiryKind == nil || expiryKind == kind
    }

    private mutating func setAmount(_ kind: ExpiryKind, at index: inout Int) {
        expiryKind = kind
        index += 1
        amountIndex = index
    }

    /// The expiry the options ask for, its amount checked: nil for none (and for PERSIST), `.keep` for KEEPTTL.
    ///
    /// - Parameter name: The command's name for the error text ("set", "getex").
    /// - Throws: `CommandError.notInteger` for an amount that is not an integer, `invalidExpire(name)` for one
    ///   that is not positive or too far away.
    func expiry(_ call: CommandCall, command name: String) throws -> Expiry? {
        switch expiryKind {
        case nil, .persist: return nil
        case .keepTTL: return .keep
        case .ex:
            return .relative(milliseconds: try call.expiryAmount(amountIndex, unitMilliseconds: 1000, command: name))
        case .px: return .relative(milliseconds: try call.expiryAmount(amountIndex, unitMilliseconds: 1, command: name))
        case .exat:
            return .absolute(milliseconds: try call.expiryAmount(amountIndex, unitMilliseconds: 1000, command: name))
        case .pxat:
            return .absolute(milliseconds: try call.expiryAmount(amountIndex, unitMilliseconds: 1, command: name))
        }
    }
}
