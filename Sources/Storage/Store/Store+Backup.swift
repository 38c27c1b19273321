import Foundation
import GRDB

extension Store {
    /// Copies the live database to `destination` through SQLite's online
    /// backup API while readers and writers go on. The copy appears under its
    /// name only once complete (written beside it, then renamed), so a crash
    /// mid-backup never leaves a truncated file with the final name.
    /// - Throws: `.invalidField` when `destination` is the live database,
    ///   `.readOnly`, `.diskFull`, `.cannotOpen`.
    public func backup(to destination: String) async throws {
        let target = URL(fileURLWithPath: destination).standardizedFileURL.path
        guard target != URL(fileURLWithPath: path).standardizedFileURL.path else {
            throw StorageError.invalidField(name: "backup destination", reason: "it is the live database itself")
        }
        let partial = target + ".partial-\(Self.newId())"
        let pool = self.pool
        do {
            try await Self.offCooperativePool {
                defer { try? FileManager.default.removeItem(atPath: partial) }
                let copy = try DatabaseQueue(path: partial)
                try pool.backup(to: copy)
                try copy.close()
                if rename(partial, target) != 0 {
                    throw StorageError.cannotOpen(path: target, detail: String(cString: strerror(errno)))
                }
            }
        } catch {
            throw StorageError.wrap(error, path: target)
        }
    }

    /// Writes a backup named `hma-<UTC time>.sqlite` into `directory` and
    /// removes the oldest such files beyond `keep`. Returns the new file.
    @discardableResult
    public func backupRotating(into directory: String, keep: Int) async throws -> String {
        guard keep >= 1 else { throw StorageError.invalidConfiguration("keep at least 1 backup") }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw Self.classifyFolderError(error, path: directory)
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss.SSS'Z'"
        let file = (directory as NSString).appendingPathComponent("hma-\(formatter.string(from: now)).sqlite")
        try await backup(to: file)
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let backups = existing.filter { $0.hasPrefix("hma-") && $0.hasSuffix(".sqlite") }.sorted()
        for old in backups.dropLast(keep) {
            try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(old))
        }
        return file
    }

    /// Replaces the database at `path` with the backup at `backup`. Run it
    /// while no HMA process has `path` open (the gateway is stopped).
    ///
    /// The backup is checked first (an SQLite file whose schema this version
    /// knows); the current database is replaced only after the copy is
    /// complete, and is kept as `<path>.before-restore`.
    public static func restore(from backup: String, to path: String) async throws {
        try refuseForeignFile(at: backup)
        guard FileManager.default.fileExists(atPath: backup) else {
            throw StorageError.cannotOpen(path: backup, detail: "no such file")
        }
        let staging = path + ".restoring-\(newId())"
        do {
            try await offCooperativePool {
                defer { try? FileManager.default.removeItem(atPath: staging) }
                var readOnly = Configuration()
                readOnly.readonly = true
                let source = try DatabaseQueue(path: backup, configuration: readOnly)
                defer { try? source.close() }
                let unknown = try source.read { db -> [String] in
                    let migrator = Migrations.migrator
                    guard try migrator.hasBeenSuperseded(db) else { return [] }
                    let known = Set(migrator.migrations)
                    return try migrator.appliedIdentifiers(db).filter { !known.contains($0) }.sorted()
                }
                guard unknown.isEmpty else {
                    throw StorageError.schemaTooNew(path: backup, unknownMigrations: unknown)
                }
                let copy = try DatabaseQueue(path: staging)
                try source.backup(to: copy)
                try copy.close()
                let fm = FileManager.default
                if fm.fileExists(atPath: path) {
                    let kept = path + ".before-restore"
                    try? fm.removeItem(atPath: kept)
                    try fm.moveItem(atPath: path, toPath: kept)
                }
                for suffix in ["-wal", "-shm"] { try? fm.removeItem(atPath: path + suffix) }
                if rename(staging, path) != 0 {
                    throw StorageError.cannotOpen(path: path, detail: String(cString: strerror(errno)))
                }
            }
        } catch {
            throw StorageError.wrap(error, path: backup)
        }
    }

    /// Runs blocking SQLite work (a backup copies the whole file) on a
    /// dispatch thread so it does not hold one of the few cooperative threads.
    static func offCooperativePool(_ work: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global(qos: .utility).async {
                continuation.resume(with: Result { try work() })
            }
        }
    }
}
