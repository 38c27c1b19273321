import ArgumentParser
import Foundation
import Storage

/// `hma backup --to FILE`: an online copy of the database; the gateway may keep running.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the database to FILE through SQLite's online backup (safe while HMA runs)."
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "Where to write the backup.")
    var to: String

    func run() async throws {
        let settings = try await NodeSettings.load(flags: common.configValues, configFile: common.config)
        guard FileManager.default.fileExists(atPath: settings.databasePath) else {
            throw ValidationError("There is no database at \(settings.databasePath); check --data-dir.")
        }
        do {
            let store = try Store(path: settings.databasePath)
            try await store.backup(to: to)
            try store.close()
        } catch {
            throw StorageFailure(error: error)
        }
        print("Backed up \(settings.databasePath) to \(to)")
    }
}

/// `hma restore --from FILE`: replaces the database with a backup (HMA stopped).
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Replace the database with a backup. Stop HMA first; the old file is kept as hma.sqlite.before-restore."
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "The backup file to restore.")
    var from: String

    func run() async throws {
        let settings = try await NodeSettings.load(flags: common.configValues, configFile: common.config)
        do {
            try await Store.restore(from: from, to: settings.databasePath)
        } catch {
            throw StorageFailure(error: error)
        }
        print("Restored \(settings.databasePath) from \(from)")
    }
}
