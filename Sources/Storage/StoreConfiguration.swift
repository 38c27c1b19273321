import Foundation

/// Limits the store enforces on what it is asked to keep. A request over a
/// limit fails with a typed error before anything is written.
public struct StoreLimits: Sendable, Equatable {
    /// Longest chat session title, in characters.
    public var maxTitleLength: Int = 200
    /// Largest message content, in UTF-8 bytes.
    public var maxMessageBytes: Int = 1 << 20
    /// The largest agent-run snapshot kept (a run's whole state).
    public var maxRunSnapshotBytes: Int = 64 << 20
    /// The most a project's durable copy holds (its files' bytes).
    public var maxProjectCopyBytes: Int = 256 << 20
    /// Longest id (session, message, project, user), in UTF-8 bytes.
    public var maxIdBytes: Int = 128
    /// Largest page a history query returns; larger requests are clamped.
    public var maxPageSize: Int = 500

    public init() {}
}

/// How a `Store` is opened.
public struct StoreConfiguration: Sendable {
    public var limits = StoreLimits()
    /// The store's clock: timestamps of new rows come from here, so tests can
    /// pass a fake one.
    public var now: @Sendable () -> Date = { Date() }
    /// How long a writer waits for another connection's lock before failing.
    public var busyTimeout: TimeInterval = 5

    public init() {}
}
