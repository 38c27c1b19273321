import ArgumentParser
import Configuration
import Foundation
import Logging
import Storage
import SystemPackage

/// Settings shared by the commands that open the node's data directory.
///
/// Every value comes from, in this order: the command-line flag, the
/// environment (`HMA_` + the key in upper case with `_` for `.`, e.g.
/// `HMA_HTTP_PORT`), the JSON config file (`--config` or `HMA_CONFIG`), then
/// the built-in default. The keys are listed in docs/operations.md.
struct CommonOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Folder for the database and projects (key data.dir; default ~/.local/share/hma).")
    var dataDir: String?

    @Option(help: "JSON configuration file (env HMA_CONFIG).")
    var config: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (key log.level).")
    var logLevel: String?
}

/// The resolved configuration: flags, then environment, then file, then defaults.
struct NodeSettings {
    let reader: ConfigReader

    /// - Parameter flags: values given on the command line, by configuration key.
    static func load(flags: [String: ConfigValue], configFile: String?) async throws -> NodeSettings {
        let environment = EnvironmentVariablesProvider()
        let fileProviderPath = configFile ?? ProcessInfo.processInfo.environment["HMA_CONFIG"]
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "command line", values: Dictionary(uniqueKeysWithValues: flags.map { (AbsoluteConfigKey(ConfigKey($0.key)), $0.value) })),
            environment.prefixKeys(with: ["hma"]),
        ]
        if let fileProviderPath {
            guard FileManager.default.fileExists(atPath: fileProviderPath) else {
                throw ValidationError("The configuration file \(fileProviderPath) does not exist.")
            }
            do {
                providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(fileProviderPath)))
            } catch {
                throw ValidationError("The configuration file \(fileProviderPath) is not valid JSON: \(error)")
            }
        }
        return NodeSettings(reader: ConfigReader(providers: providers))
    }

    func string(_ key: String, default value: String) -> String {
        reader.string(forKey: ConfigKey(key)) ?? value
    }

    func int(_ key: String, default value: Int) throws -> Int {
        if let number = reader.int(forKey: ConfigKey(key)) { return number }
        if let text = reader.string(forKey: ConfigKey(key)) {
            throw ValidationError("The setting \(key) must be an integer (got \"\(text)\").")
        }
        return value
    }

    func double(_ key: String, default value: Double) throws -> Double {
        if let number = reader.double(forKey: ConfigKey(key)) { return number }
        if let number = reader.int(forKey: ConfigKey(key)) { return Double(number) }
        if let text = reader.string(forKey: ConfigKey(key)) {
            throw ValidationError("The setting \(key) must be a number (got \"\(text)\").")
        }
        return value
    }

    var dataDirectory: String {
        if let dir = reader.string(forKey: "data.dir") { return dir }
        // Root runs HMA as a service: its state goes where services keep
        // theirs, which the projects' own uids can pass through (a folder
        // under /root cannot be entered by them; see BwrapSandbox).
        if getuid() == 0 { return "/var/lib/hma" }
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_DATA_HOME"].map { $0 } ?? ((env["HOME"] ?? NSHomeDirectory()) + "/.local/share")
        return base + "/hma"
    }

    var databasePath: String { (dataDirectory as NSString).appendingPathComponent("hma.sqlite") }

    func logLevel() throws -> Logger.Level {
        let text = string("log.level", default: "info")
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw ValidationError("The log level \"\(text)\" is not one of trace, debug, info, notice, warning, error, critical.")
        }
        return level
    }

    func storeConfiguration() throws -> StoreConfiguration {
        var configuration = StoreConfiguration()
        configuration.limits.maxTitleLength = try int("limits.title.chars", default: configuration.limits.maxTitleLength)
        configuration.limits.maxMessageBytes = try int("limits.message.bytes", default: configuration.limits.maxMessageBytes)
        return configuration
    }
}

extension CommonOptions {
    /// The flag values, under their configuration keys.
    var configValues: [String: ConfigValue] {
        var values: [String: ConfigValue] = [:]
        if let dataDir { values["data.dir"] = .init(.string(dataDir), isSecret: false) }
        if let logLevel { values["log.level"] = .init(.string(logLevel), isSecret: false) }
        return values
    }
}

/// Logs go to standard error; standard output carries what a person or a
/// script reads (the URL to open).
enum Logs {
    static func bootstrap(level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "hma")
    }
}

/// A storage error, printed the way the user can act on it.
struct StorageFailure: Error, CustomStringConvertible {
    let error: any Error
    var description: String { "\(error)" }
}

/// Writes a line to standard output and flushes it at once, so a script or
/// test that waits for the line sees it even when output is a pipe.
enum StandardOutput {
    static func line(_ text: String) {
        let bytes = Array((text + "\n").utf8)
        bytes.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(1, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
