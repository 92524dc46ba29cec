import Logging

/// Redis's `loglevel` names for swift-log's levels: debug, verbose (info), notice, warning.
enum LogLevelNames {
    static func redis(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: "debug"
        case .info: "verbose"
        case .notice: "notice"
        case .warning, .error, .critical: "warning"
        }
    }

    static func level(redisName name: String) -> Logger.Level? {
        switch name.lowercased() {
        case "debug": .debug
        case "verbose": .info
        case "notice": .notice
        case "warning": .warning
        default: nil
        }
    }
}
