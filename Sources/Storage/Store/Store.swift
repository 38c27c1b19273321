import Foundation
import GRDB
import GRDBSQLite
import Logging

/// The gateway's durable state: users, chat sessions and their messages,
/// imported files and project metadata, in one SQLite file in WAL mode.
///
/// Every method is one transaction: it either commits completely or throws a
/// `StorageError` and leaves the database as it was. A method that returns has
/// made its change durable (`synchronous = FULL`): a crash or power cut
/// afterwards does not lose it. Safe to use from any task; reads run
/// concurrently with each other and with the single writer.
public final class Store: Sendable {
    /// The database file.
    public let path: String
    public let configuration: StoreConfiguration
    let pool: DatabasePool

    public var limits: StoreLimits { configuration.limits }
    var now: Date { configuration.now().truncatedToMilliseconds }

    /// Opens the database at `path`, creating it and its folder if needed and
    /// migrating it to the current schema.
    ///
    /// - Throws: `StorageError.notADatabase` when the file is something else
    ///   (it is left untouched), `.schemaTooNew` when a newer HMA wrote it,
    ///   `.readOnly`, `.cannotOpen`, `.diskFull` or `.corrupt`.
    public init(path: String, configuration: StoreConfiguration = .init()) throws {
        self.path = path
        self.configuration = configuration
        try Self.refuseForeignFile(at: path)
        do {
            let folder = (path as NSString).deletingLastPathComponent
            if !folder.isEmpty {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            }
        } catch {
            throw Self.classifyFolderError(error, path: path)
        }

        var grdb = Configuration()
        grdb.foreignKeysEnabled = true
        grdb.busyMode = .timeout(configuration.busyTimeout)
        grdb.prepareDatabase { db in
            // FULL: a commit is on disk when it returns, even across a power cut.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // 64 MiB of page cache per connection (default 2 MiB): index pages of
            // a large message table stay in memory, which keeps appends and
            // pages fast at millions of rows.
            try db.execute(sql: "PRAGMA cache_size = -65536")
        }
        do {
            pool = try DatabasePool(path: path, configuration: grdb)
        } catch {
            throw StorageError.wrap(error, path: path)
        }
        do {
            let migrator = Migrations.migrator
            let unknown = try pool.read { db -> [String] in
                guard try migrator.hasBeenSuperseded(db) else { return [] }
                let known = Set(migrator.migrations)
                return try migrator.appliedIdentifiers(db).filter { !known.contains($0) }.sorted()
            }
            guard unknown.isEmpty else {
                try? pool.close()
                throw StorageError.schemaTooNew(path: path, unknownMigrations: unknown)
            }
            try migrator.migrate(pool)
            // SQLite quietly opens a file it cannot write read-only; a gateway
            // that cannot save would lose acknowledged data, so refuse now.
            let readOnly = try pool.write { db in sqlite3_db_readonly(db.sqliteConnection, "main") == 1 }
            if readOnly { throw StorageError.readOnly(path: path) }
        } catch {
            try? pool.close()
            throw StorageError.wrap(error, path: path)
        }
    }

    /// Closes every connection. Further calls fail.
    public func close() throws {
        try pool.close()
    }

    /// The identifier of the newest migration applied to this database.
    public func schemaVersion() async throws -> String {
        try await read { db in
            try Migrations.migrator.completedMigrations(db).last ?? "empty"
        }
    }

    /// A cheap liveness check for `/health`: a read through the pool.
    public func check() async throws {
        _ = try await read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM grdb_migrations") }
    }

    // MARK: - Transactions with error mapping

    /// Reads run on the calling task's thread: a read is a short SQLite
    /// query on a WAL snapshot (it never waits for writers, and the body
    /// cannot await), and handing each one to a dispatch queue and back
    /// cost more than the query itself — two thirds of a gateway request's
    /// time (docs/benchmarks.md, "Gateway"). Writes stay asynchronous: they
    /// queue behind each other.
    func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do {
            return try readHere(body)
        } catch {
            throw StorageError.wrap(error, path: path)
        }
    }

    /// GRDB's blocking read (a synchronous context picks that overload).
    private func readHere<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }

    func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw StorageError.wrap(error, path: path)
        }
    }

    // MARK: - Opening checks

    /// SQLite files start with this 16-byte header.
    static let sqliteHeader = Array("SQLite format 3\0".utf8)

    /// Refuses, without writing anything, a non-empty file that is not SQLite.
    static func refuseForeignFile(at path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: sqliteHeader.count)) ?? Data()
        if !head.isEmpty && Array(head) != sqliteHeader {
            throw StorageError.notADatabase(path: path)
        }
    }

    static func classifyFolderError(_ error: any Error, path: String) -> StorageError {
        switch (error as? CocoaError)?.code {
        case .fileWriteVolumeReadOnly?, .fileWriteNoPermission?: return .readOnly(path: path)
        case .fileWriteOutOfSpace?: return .diskFull(path: path)
        default: return .cannotOpen(path: path, detail: "\(error)")
        }
    }
}
