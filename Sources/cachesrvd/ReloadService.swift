import ArgumentParser
import CacheServer
import Logging
import ServiceLifecycle
import UnixSignals

/// Handles SIGHUP (reload `--config` and reopen the log file) and SIGUSR1 (reopen the log file) for as long as the
/// server runs. A reload that fails keeps every setting as it was and says why; it never stops the server.
struct ReloadService: Service {
    let signals: UnixSignalsSequence
    /// The options in force (the file's under the command line's).
    let options: ServeOptions
    let commandLine: [String]
    let server: CacheServer
    let output: LogOutput
    let logger: Logger

    /// What a reload applies while running; everything else is read once at start.
    static let reloadable: Set<String> = ["log-level", "log-file", "allow-uid", "allow-gid", "requirepass-file"]

    func run() async throws {
        var current = options
        for await signal in signals.cancelOnGracefulShutdown() {
            if signal == .sighup {
                current = reload(from: current)
            } else {
                reopenLog(current)
            }
        }
    }

    private func reload(from current: ServeOptions) -> ServeOptions {
        let next: ServeOptions
        let access: AccessControl.Settings
        do {
            next = try Serve.effectiveOptions(ServeOptions.parse(commandLine), commandLine: commandLine)
            access = try next.accessSettings()
            try output.reopen(level: next.parsedLogLevel, path: next.logFile)
        } catch {
            logger.error("SIGHUP: reload failed, keeping the settings in force: \(Self.describe(error))")
            return current
        }
        server.updateAccess(access)
        let ignored = Self.changedSettings(current, next).subtracting(Self.reloadable).sorted()
        if !ignored.isEmpty {
            logger.warning(
                "SIGHUP: changed settings that take effect at the next start: \(ignored.joined(separator: ", "))"
            )
        }
        logger.notice(
            "SIGHUP: reloaded",
            metadata: ["config": "\(next.config ?? "none")", "log.level": "\(next.parsedLogLevel)"]
        )
        return next
    }

    private func reopenLog(_ current: ServeOptions) {
        do {
            try output.reopen(level: current.parsedLogLevel, path: current.logFile)
            logger.notice("SIGUSR1: log file reopened")
        } catch {
            logger.error("SIGUSR1: \(Self.describe(error))")
        }
    }

    /// Names of the options whose values differ.
    static func changedSettings(_ old: ServeOptions, _ new: ServeOptions) -> Set<String> {
        let before = Dictionary(uniqueKeysWithValues: old.settingValues)
        return Set(new.settingValues.filter { before[$0.0] != $0.1 }.map(\.0))
    }

    private static func describe(_ error: any Error) -> String {
        (error as? ConfigFileError)?.description ?? ServeOptions.message(for: error)
    }
}

extension ServeOptions {
    /// Each option's name (as on the command line) and value as text, for telling what a reload changed.
    var settingValues: [(String, String)] {
        Mirror(reflecting: self).children.compactMap { child in
            guard let label = child.label else { return nil }
            return (Self.optionName(label), String(describing: child.value))
        }
    }

    /// `_allowUID` -> `allow-uid`, `_l1MaxEntries` -> `l1-max-entries`: a dash before each run of capitals.
    static func optionName(_ property: String) -> String {
        var name = ""
        var previousWasUpper = true
        for character in property.drop(while: { $0 == "_" }) {
            if character.isUppercase, !previousWasUpper { name += "-" }
            previousWasUpper = character.isUppercase
            name += character.lowercased()
        }
        return name
    }
}

extension ReloadService: CustomStringConvertible {
    /// Its name only: swift-service-lifecycle logs its services at debug level, and the default description
    /// would print every option, `--l3-url`'s password included.
    var description: String { "ReloadService" }
}
