import Foundation
import GRDB

/// Every failure the storage layer reports. Each case carries what a user or
/// operator needs to act on it; `description` says what to do.
///
/// The store never leaves a half-applied change behind: every operation that
/// throws one of these has rolled back its transaction first.
public enum StorageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file exists but is not an SQLite database (wrong path, or damaged).
    case notADatabase(path: String)
    /// The database was written by a newer HMA; this binary does not know its schema.
    case schemaTooNew(path: String, unknownMigrations: [String])
    /// The database (or its folder) cannot be written: read-only file system or permissions.
    case readOnly(path: String)
    /// The disk (or the database's size limit) is full; the write was rolled back.
    case diskFull(path: String)
    /// The database file is damaged.
    case corrupt(path: String, detail: String)
    /// The database file or its folder cannot be opened.
    case cannotOpen(path: String, detail: String)
    case sessionNotFound(id: String)
    case projectNotFound(id: String)
    case userNotFound(id: String)
    /// An entity with this id already exists.
    case duplicateId(kind: String, id: String)
    case titleTooLong(length: Int, limit: Int)
    case messageTooLarge(bytes: Int, limit: Int)
    /// An id, name or path is empty, too long, or has characters we do not accept.
    case invalidField(name: String, reason: String)
    /// A cursor string that this store did not produce.
    case invalidCursor(String)
    case invalidStatusTransition(from: ProjectStatus, to: ProjectStatus)
    case invalidConfiguration(String)
    /// An SQLite error we have no more specific case for.
    case sqlite(code: Int32, message: String)

    public var description: String {
        switch self {
        case .notADatabase(let path):
            return "\(path) is not an HMA database (not an SQLite file). Point --data-dir at another folder, or move the file away."
        case .schemaTooNew(let path, let unknown):
            return "\(path) was created by a newer version of HMA (unknown migrations: \(unknown.joined(separator: ", "))). Upgrade hma, or restore a backup made by this version."
        case .readOnly(let path):
            return "\(path) cannot be written (read-only file system or missing permissions). Make the data directory writable."
        case .diskFull(let path):
            return "The disk holding \(path) is full; the change was not saved. Free some space and retry."
        case .corrupt(let path, let detail):
            return "\(path) is damaged (\(detail)). Restore it from a backup (hma restore --from FILE)."
        case .cannotOpen(let path, let detail):
            return "Cannot open \(path): \(detail). Check that the folder exists and is writable."
        case .sessionNotFound(let id):
            return "No chat session with id \(id)."
        case .projectNotFound(let id):
            return "No project with id \(id)."
        case .userNotFound(let id):
            return "No user with id \(id)."
        case .duplicateId(let kind, let id):
            return "A \(kind) with id \(id) already exists."
        case .titleTooLong(let length, let limit):
            return "The title has \(length) characters; at most \(limit) are allowed."
        case .messageTooLarge(let bytes, let limit):
            return "The message has \(bytes) bytes; at most \(limit) are allowed."
        case .invalidField(let name, let reason):
            return "Invalid \(name): \(reason)."
        case .invalidCursor(let cursor):
            return "The cursor \"\(cursor.prefix(64))\" is not valid; start again from the first page."
        case .invalidStatusTransition(let from, let to):
            return "A project cannot go from \(from.rawValue) to \(to.rawValue)."
        case .invalidConfiguration(let reason):
            return "Invalid storage configuration: \(reason)."
        case .sqlite(let code, let message):
            return "Database error \(code): \(message)."
        }
    }
}

extension StorageError {
    /// Maps an error thrown by GRDB/SQLite to the case a user can act on.
    /// Errors that are already `StorageError` pass through.
    static func wrap(_ error: any Error, path: String) -> any Error {
        if error is StorageError { return error }
        guard let dbError = error as? DatabaseError else { return error }
        let message = dbError.message ?? "\(dbError)"
        switch dbError.resultCode {
        case .SQLITE_NOTADB:
            return StorageError.notADatabase(path: path)
        case .SQLITE_READONLY:
            return StorageError.readOnly(path: path)
        case .SQLITE_FULL:
            return StorageError.diskFull(path: path)
        case .SQLITE_CORRUPT:
            return StorageError.corrupt(path: path, detail: message)
        case .SQLITE_CANTOPEN:
            return StorageError.cannotOpen(path: path, detail: message)
        case .SQLITE_IOERR:
            // A write that fails for lack of space surfaces as an I/O error
            // (SQLITE_IOERR_WRITE / _FSYNC) on some file systems.
            if errno == ENOSPC { return StorageError.diskFull(path: path) }
            if errno == EROFS { return StorageError.readOnly(path: path) }
            return StorageError.sqlite(code: dbError.extendedResultCode.rawValue, message: message)
        default:
            return StorageError.sqlite(code: dbError.extendedResultCode.rawValue, message: message)
        }
    }
}
