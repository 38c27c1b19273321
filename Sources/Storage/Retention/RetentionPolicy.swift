import Foundation

/// How long an idle project is kept in each stage. Idle time counts from the
/// project's last activity (a message in its session, a file write, a status
/// change back to active).
public struct RetentionPolicy: Sendable, Equatable {
    public var archiveAfter: TimeInterval
    public var compressAfter: TimeInterval
    public var deleteAfter: TimeInterval

    public static let day: TimeInterval = 86_400

    /// Defaults: archive after 30 days, compress after 90, delete after 180.
    public init(
        archiveAfterDays: Double = 30, compressAfterDays: Double = 90, deleteAfterDays: Double = 180
    ) throws {
        guard archiveAfterDays > 0, archiveAfterDays < compressAfterDays, compressAfterDays < deleteAfterDays else {
            throw StorageError.invalidConfiguration(
                "retention needs 0 < archive (\(archiveAfterDays)) < compress (\(compressAfterDays)) < delete (\(deleteAfterDays)) days")
        }
        archiveAfter = archiveAfterDays * Self.day
        compressAfter = compressAfterDays * Self.day
        deleteAfter = deleteAfterDays * Self.day
    }

    /// What is due for one project at `now`, or nil. Pure: no I/O, no clock.
    public func decide(
        status: ProjectStatus, lastActivity: Date, compressed: Bool, now: Date
    ) -> RetentionAction.Kind? {
        let idle = now.timeIntervalSince(lastActivity)
        if idle >= deleteAfter { return .delete }
        if idle >= compressAfter && !compressed { return .compress }
        if idle >= archiveAfter && status != .archived { return .archive }
        return nil
    }
}

/// One step retention took for a project. The store has already changed the
/// project's row; the caller does the matching work on the project's files
/// (the workspace host compresses or removes the folder).
public struct RetentionAction: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// status → archived.
        case archive
        /// status → archived and `compressedAt` set.
        case compress
        /// row removed; chat sessions remain, unlinked.
        case delete
    }

    public var projectId: String
    public var projectPath: String
    public var kind: Kind
}
