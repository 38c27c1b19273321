import ServiceLifecycle

/// Runs `tick` every `interval` until graceful shutdown or cancellation —
/// the loop of the gateway's scheduled services (backups, retention). A
/// shutdown that arrives while waiting ends it at once; a tick in progress
/// finishes first.
func everyInterval(_ interval: Duration, _ tick: () async -> Void) async {
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
        do {
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        } catch {
            return  // shutdown (or cancellation) while waiting
        }
        await tick()
    }
}
