import CSystemCalls
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs one argv to completion (posix_spawn in a new session from the
/// spawn thread, signals at their defaults): output kept up to a cap, a
/// deadline, cancellation; the process is killed with SIGKILL on either,
/// and whatever it started (`killTree`) when it ends.
/// Sandboxes make the argv; killing its first process ends the whole tree
/// (bwrap's `--die-with-parent` and its own pid namespace; the container
/// for docker).
enum ProcessRunner {
    /// What a process wrote and how it ended.
    struct Outcome {
        var result: RunResult
        /// Standard error, when it was asked for apart (`separateErrors`).
        var errors: Data
    }

    /// - Parameter killTree: ends everything the command started (the
    ///   sandbox kills its cgroup); called on timeout and cancellation after
    ///   the first process is killed.
    static func run(_ argv: [String], environment: [String: String] = [:], timeout: Duration, maxOutputBytes: Int,
                    killTree: @escaping @Sendable () -> Void = {}) async throws -> RunResult {
        try await execute(argv, environment: environment, timeout: timeout, maxOutputBytes: maxOutputBytes, killTree: killTree).result
    }

    /// - Parameters:
    ///   - input: written to the process's standard input, which is then
    ///     closed (nil: /dev/null).
    ///   - separateErrors: standard error is collected apart (capped at
    ///     64 KiB) instead of interleaved with the output.
    static func execute(_ argv: [String], environment: [String: String] = [:], input: Data? = nil, separateErrors: Bool = false,
                        timeout: Duration, maxOutputBytes: Int, killTree: @escaping @Sendable () -> Void = {}) async throws -> Outcome {
        guard !argv.isEmpty else { throw SandboxError.emptyCommand }
        var pipes = OwnedPipes()
        defer { pipes.closeAll() }
        let output = try pipes.make(), errors = separateErrors ? try pipes.make() : output
        let stdin = input == nil ? nil : try pipes.make()
        let start = ContinuousClock.now
        let (inputFD, outputFD, errorFD) = (stdin?.read ?? -1, output.write, errors.write)
        let spawned = SpawnThread.perform {
            withCStrings(argv) { arguments in
                withCStrings(environment.map { "\($0.key)=\($0.value)" }) { variables in
                    var pid: Int32 = 0
                    let code = hma_spawn(argv[0], arguments, variables, inputFD, outputFD, errorFD, &pid)
                    return code == 0 ? pid : code
                }
            }
        }
        // The child has its copies; ours of its ends go now (EOF follows its exit).
        pipes.close(output.write)
        pipes.close(errors.write)
        if let stdin { pipes.close(stdin.read) }
        guard spawned > 0 else { throw SandboxError.launchFailed("\(argv[0]): \(String(cString: strerror(-spawned)))") }
        let pid = spawned
        if let stdin, let input {
            let writeEnd = pipes.take(stdin.write)
            Thread.detachNewThread { writeAll(input, to: writeEnd) }
        }
        let collected = CappedOutput(limit: maxOutputBytes)
        let drained = Thread.drain(pipes.take(output.read), into: collected)
        let errorText = CappedOutput(limit: 64 << 10)
        let errorsDrained = separateErrors ? Thread.drain(pipes.take(errors.read), into: errorText) : nil
        let child = ChildWatch(pid: pid)
        let timedOut = Atomic(false)
        let deadline = Task {
            try await Task.sleep(for: timeout)
            timedOut.store(true, ordering: .relaxed)
            child.kill()
            killTree()
        }
        // Waited for even when the task is cancelled: the child is killed
        // then, and reaped before this returns.
        let rawStatus = await withTaskCancellationHandler {
            await child.exit()
        } onCancel: {
            child.kill()
            killTree()
        }
        deadline.cancel()
        // Nothing the command started outlives it (and holds its output open).
        killTree()
        for await _ in drained {}  // everything it wrote, read
        if let errorsDrained { for await _ in errorsDrained {} }
        let (exitCode, signal) = RunResult.ending(waitStatus: rawStatus)
        let result = RunResult(exitCode: exitCode, signal: signal, output: collected.data, truncated: collected.truncated,
                               timedOut: timedOut.load(ordering: .relaxed), outOfMemory: false, duration: ContinuousClock.now - start)
        try Task.checkCancellation()
        return Outcome(result: result, errors: errorText.data)
    }

    /// Writes `data` then closes `descriptor`; a reader that went away
    /// (EPIPE) ends it early. SIGPIPE is blocked on this thread, so the
    /// broken pipe is an error here rather than a signal to the process.
    private static func writeAll(_ data: Data, to descriptor: Int32) {
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &blocked, nil)
        data.withUnsafeBytes { bytes in
            var written = 0
            while written < bytes.count {
                let count = Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                written += count
            }
        }
        close(descriptor)
    }
}

/// A spawned child's exit, waited for on a thread of its own, and a kill
/// that can never reach another process: the child is reaped under the
/// same lock `kill` takes, so after the reap its (reusable) pid is never
/// signalled. Used for commands and terminals alike.
final class ChildWatch: Sendable {
    private let pid: Int32
    private let reaped = Mutex(false)
    private let status: Mutex<Int32?> = Mutex(nil)
    private let ended = DispatchSemaphore(value: 0)

    init(pid: Int32) {
        self.pid = pid
        Thread.detachNewThread { [self] in
            // Wait without reaping (the pid stays ours), then reap under the lock.
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
            var value: Int32 = 0
            reaped.withLock { done in
                while waitpid(pid, &value, 0) < 0 && errno == EINTR {}
                done = true
            }
            status.withLock { $0 = value }
            ended.signal()
        }
    }

    func kill() {
        reaped.withLock { if !$0 { _ = Glibc.kill(pid, SIGKILL) } }
    }

    /// The raw wait status once the child has ended, blocking the calling
    /// thread meanwhile (a thread of its own, such as a terminal's).
    func waitBlocking() -> Int32 {
        if let value = status.withLock({ $0 }) { return value }
        ended.wait()
        ended.signal()  // for any other waiter
        return status.withLock { $0 } ?? 0
    }

    /// The raw wait status once the child has ended; not cut short by
    /// cancellation of the waiting task (the caller kills the child then).
    func exit() async -> Int32 {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            Thread.detachNewThread { [self] in continuation.resume(returning: waitBlocking()) }
        }
    }
}

/// Pipe descriptors owned by one launch: whatever is not handed on
/// (`take`) or closed on the way is closed when the launch returns or throws.
private struct OwnedPipes {
    private var open: Set<Int32> = []

    /// A new pipe, close-on-exec on both ends (the child gets its copy by dup2).
    mutating func make() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        // Close-on-exec from the start: a fork on any other thread inherits neither end.
        guard hma_pipe_cloexec(&fds) == 0 else { throw SandboxError.launchFailed("pipe: \(String(cString: strerror(errno)))") }
        open.formUnion(fds)
        return (fds[0], fds[1])
    }

    mutating func close(_ descriptor: Int32) {
        if open.remove(descriptor) != nil { Glibc.close(descriptor) }
    }

    /// The caller owns `descriptor` from now on.
    mutating func take(_ descriptor: Int32) -> Int32 {
        open.remove(descriptor)
        return descriptor
    }

    mutating func closeAll() {
        for descriptor in open { Glibc.close(descriptor) }
        open.removeAll()
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

    /// Reads `descriptor` to its end into `sink` on a thread of its own,
    /// then closes it.
    static func drain(_ descriptor: Int32, into sink: CappedOutput) -> AsyncStream<Void> {
        detachedStream {
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            while true {
                let count = read(descriptor, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                sink.append(Data(buffer[0..<count]))
            }
            close(descriptor)
        }
    }
}
