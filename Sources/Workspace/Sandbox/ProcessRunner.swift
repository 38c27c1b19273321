import CSystemCalls
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs one argv to completion (posix_spawn in a new session, signals at
/// their defaults): output (standard output and error on one pipe) kept up
/// to a cap, a deadline, cancellation; the process is killed with SIGKILL
/// on either. Sandboxes make the argv; killing its first
/// process ends the whole tree (bwrap's `--die-with-parent` and its own pid
/// namespace; the container for docker).
enum ProcessRunner {
    /// - Parameter killTree: ends everything the command started (the
    ///   sandbox kills its cgroup); called on timeout and cancellation after
    ///   the first process is killed.
    static func run(_ argv: [String], environment: [String: String] = [:], timeout: Duration, maxOutputBytes: Int,
                    killTree: @escaping @Sendable () -> Void = {}) async throws -> RunResult {
        guard !argv.isEmpty else { throw SandboxError.emptyCommand }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SandboxError.launchFailed("pipe: \(String(cString: strerror(errno)))") }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        // Not inherited by other children (the spawned one gets its copy by dup2).
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        let start = ContinuousClock.now
        let spawned = withCStrings(argv) { arguments in
            withCStrings(environment.map { "\($0.key)=\($0.value)" }) { variables in
                var pid: Int32 = 0
                let code = hma_spawn(argv[0], arguments, variables, writeEnd, &pid)
                return code == 0 ? pid : code
            }
        }
        close(writeEnd)
        guard spawned > 0 else {
            close(readEnd)
            throw SandboxError.launchFailed("\(argv[0]): \(String(cString: strerror(-spawned)))")
        }
        let pid = spawned
        let collected = CappedOutput(limit: maxOutputBytes)
        let drained = Thread.detachedStream {
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            while true {
                let count = read(readEnd, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                collected.append(Data(buffer[0..<count]))
            }
            close(readEnd)
        }
        let status = Mutex<Int32>(0)
        let exited = Thread.detachedStream {
            var value: Int32 = 0
            while waitpid(pid, &value, 0) < 0 && errno == EINTR {}
            status.withLock { $0 = value }
        }
        let timedOut = Atomic(false)
        let deadline = Task {
            try await Task.sleep(for: timeout)
            timedOut.store(true, ordering: .relaxed)
            kill(pid, SIGKILL)
            killTree()
        }
        await withTaskCancellationHandler {
            for await _ in exited {}
        } onCancel: {
            kill(pid, SIGKILL)
            killTree()
        }
        // Cancelled: the iteration above ended early; the kill is on its way.
        for await _ in exited {}
        deadline.cancel()
        for await _ in drained {}  // everything it wrote, read
        let (exitCode, signal) = RunResult.ending(waitStatus: status.withLock { $0 })
        let result = RunResult(exitCode: exitCode, signal: signal, output: collected.data, truncated: collected.truncated,
                               timedOut: timedOut.load(ordering: .relaxed), outOfMemory: false, duration: ContinuousClock.now - start)
        try Task.checkCancellation()
        return result
    }
}

/// Passes strings to C as a NULL-terminated `char *[]` for the duration of `body`.
func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) throws -> T) rethrows -> T {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return try pointers.withUnsafeBufferPointer { try body($0.baseAddress!) }
}

/// Output kept up to a limit; the rest only counted.
final class CappedOutput: Sendable {
    private let state = Mutex<(data: Data, truncated: Bool)>((Data(), false))
    let limit: Int
    init(limit: Int) { self.limit = limit }

    func append(_ chunk: Data) {
        state.withLock { state in
            let room = limit - state.data.count
            if chunk.count <= room {
                state.data.append(chunk)
            } else {
                if room > 0 { state.data.append(chunk.prefix(room)) }
                state.truncated = true
            }
        }
    }
    var data: Data { state.withLock { $0.data } }
    var truncated: Bool { state.withLock { $0.truncated } }
}

extension Thread {
    /// Runs `body` on a thread of its own (blocking reads must not hold a
    /// cooperative thread); the stream finishes when it returns.
    static func detachedStream(_ body: @escaping @Sendable () -> Void) -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        Thread.detachNewThread {
            body()
            continuation.finish()
        }
        return stream
    }
}
