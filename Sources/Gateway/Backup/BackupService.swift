import Logging
import ServiceLifecycle
import Storage

/// Backs the database up every `interval` into `directory`, keeping the
/// newest `keep` files. A failed backup is logged and retried at the next
/// tick; it never stops the gateway. Ends at graceful shutdown.
public struct BackupService: Service {
    public let store: Store
    public let directory: String
    public let interval: Duration
    public let keep: Int
    public let logger: Logger
    /// Told about each backup: the new file, or why it failed.
    public let onBackup: @Sendable (Result<String, any Error>) -> Void

    public init(
        store: Store, directory: String, interval: Duration, keep: Int, logger: Logger,
        onBackup: @escaping @Sendable (Result<String, any Error>) -> Void = { _ in }
    ) {
        self.store = store
        self.directory = directory
        self.interval = interval
        self.keep = keep
        self.logger = logger
        self.onBackup = onBackup
    }

    public func run() async throws {
        await everyInterval(interval) {
            do {
                let file = try await store.backupRotating(into: directory, keep: keep)
                logger.info("database backed up", metadata: ["file": "\(file)"])
                onBackup(.success(file))
            } catch {
                logger.error("database backup failed; will retry", metadata: ["error": "\(error)"])
                onBackup(.failure(error))
            }
        }
    }
}
