import CSystemCalls
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A shell on a terminal inside a sandbox: write keystrokes, read output
/// as an AsyncSequence, resize, close. When the shell exits the output ends
/// and `exitStatus` tells how.
///
/// The terminal is one descriptor both ways: a real pseudo-terminal's
/// master (forkpty; bwrap and none backends) or a container's attach stream
/// whose TTY the engine allocates (docker backend). The backend supplies
/// how to resize it, end it, and learn how the shell ended.
public final class TerminalSession: Sendable {
    public let id = UUID()
    private let isSocket: Bool
    /// Output from the terminal, in order, until the shell exits.
    public let output: AsyncStream<Data>
    private let exit: AsyncStream<TerminalExit>
    private let box: StateBox

    /// Shared with the reader thread, which may outlive the session object.
    private final class StateBox: Sendable {
        let state = Mutex<(closed: Bool, lastActivity: ContinuousClock.Instant, exit: TerminalExit?)>((false, .now, nil))
        /// The descriptor while it is open. Writes and resizes hold this
        /// lock while they use it, and the reader closes it under the lock:
        /// a number the kernel reuses (say for a socket to the Engine API)
        /// never receives a late keystroke.
        let open: Mutex<Int32?>
        init(descriptor: Int32) { open = Mutex(descriptor) }
    }
    final class ReapedFlag: Sendable {
        let state = Mutex(false)
    }
    private let onResize: @Sendable (_ descriptor: Int32, _ rows: UInt16, _ columns: UInt16) throws -> Void
    private let terminate: @Sendable () -> Void

    public struct TerminalExit: Sendable, Equatable {
        public let exitCode: Int32?
        public let signal: Int32?
    }

    /// Starts `argv` on a new pty of rows×columns.
    /// - Parameters:
    ///   - killTree: ends everything started in the session (the sandbox
    ///     kills its cgroup); `close` calls it after killing the first process.
    ///   - onEnd: told when the shell has ended.
    convenience init(argv: [String], environment: [String: String], rows: UInt16, columns: UInt16,
                     killTree: @escaping @Sendable () -> Void = {}, onEnd: @escaping @Sendable (UUID) -> Void) throws {
        // From the spawn thread: the shell must not die with a pool thread (see SpawnThread).
        let (code, master, pid) = SpawnThread.perform { () -> (Int32, Int32, Int32) in
            var master: Int32 = -1, pid: Int32 = -1
            let code = withCStrings(argv) { arguments in
                withCStrings(environment.map { "\($0.key)=\($0.value)" }) { variables in
                    hma_spawn_in_pty(argv[0], arguments, variables, rows, columns, &master, &pid)
                }
            }
            return (code, master, pid)
        }
        guard code == 0 else { throw SandboxError.launchFailed("forkpty: \(String(cString: strerror(-code)))") }
        _ = fcntl(master, F_SETFD, FD_CLOEXEC)
        let childPID = pid
        // Whether the shell has been reaped: after that its pid may belong
        // to another process, which `close` must not kill.
        let reaped = ReapedFlag()
        self.init(
            descriptor: master,
            resize: { descriptor, rows, columns in
                let code = hma_set_window_size(descriptor, rows, columns)
                guard code == 0 else { throw SandboxError.launchFailed("resize: \(String(cString: strerror(-code)))") }
            },
            terminate: {
                reaped.state.withLock { if !$0 { kill(childPID, SIGKILL) } }
                killTree()
            },
            waitForExit: {
                // Wait without reaping (the pid stays ours), then reap under the flag.
                var info = siginfo_t()
                while waitid(P_PID, id_t(childPID), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
                var status: Int32 = 0
                reaped.state.withLock { done in
                    while waitpid(childPID, &status, 0) < 0 && errno == EINTR {}
                    done = true
                }
                let (exitCode, signal) = RunResult.ending(waitStatus: status)
                return TerminalExit(exitCode: exitCode, signal: signal)
            },
            onEnd: onEnd)
    }

    /// A session over an open terminal `descriptor`, which it owns.
    /// - Parameters:
    ///   - terminate: ends the shell and everything it started.
    ///   - waitForExit: called once the output has ended (on the reader
    ///     thread, so it may block): how the shell ended.
    ///   - onEnd: told when the shell has ended.
    init(descriptor: Int32, resize: @escaping @Sendable (_ descriptor: Int32, _ rows: UInt16, _ columns: UInt16) throws -> Void,
         terminate: @escaping @Sendable () -> Void,
         waitForExit: @escaping @Sendable () -> TerminalExit, onEnd: @escaping @Sendable (UUID) -> Void) {
        box = StateBox(descriptor: descriptor)
        var info = stat()
        isSocket = fstat(descriptor, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK
        self.onResize = resize
        self.terminate = terminate
        let (output, outputSink) = AsyncStream<Data>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let (exit, exitSink) = AsyncStream<TerminalExit>.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.output = output
        self.exit = exit
        let id = self.id
        let box = self.box
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 16 << 10)
            while true {
                let count = read(descriptor, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }  // EIO/EOF: the shell and everything on the terminal are gone
                box.state.withLock { $0.lastActivity = .now }
                outputSink.yield(Data(buffer[0..<count]))
            }
            let ended = waitForExit()
            box.open.withLock { open in
                if let descriptor = open { Glibc.close(descriptor) }
                open = nil
            }
            onEnd(id)  // before anyone waiting on the exit hears of it
            box.state.withLock { $0.exit = ended; $0.closed = true }
            outputSink.finish()
            exitSink.yield(ended)
            exitSink.finish()
        }
    }

    /// Sends keystrokes (bytes) to the shell.
    public func write(_ data: Data) throws {
        box.state.withLock { $0.lastActivity = .now }
        let isSocket = self.isSocket
        try box.open.withLock { (open: inout Int32?) throws(SandboxError) in
            guard let descriptor = open else { throw SandboxError.launchFailed("the terminal has ended") }
            var written = 0
            while written < data.count {
                let count = data.withUnsafeBytes { bytes in
                    // A socket (an attach stream) must not raise SIGPIPE when the container is gone.
                    isSocket ? Glibc.send(descriptor, bytes.baseAddress! + written, bytes.count - written, Int32(MSG_NOSIGNAL))
                        : Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { throw SandboxError.launchFailed("write to the terminal: \(String(cString: strerror(errno)))") }
                written += count
            }
        }
    }

    /// Changes the terminal's size (the shell gets SIGWINCH).
    public func resize(rows: UInt16, columns: UInt16) throws {
        let onResize = self.onResize
        try box.open.withLock { (open: inout Int32?) throws(SandboxError) in
            guard let descriptor = open else { throw SandboxError.launchFailed("the terminal has ended") }
            do {
                try onResize(descriptor, rows, columns)
            } catch let error as SandboxError {
                throw error
            } catch {
                throw SandboxError.launchFailed("resize: \(error)")
            }
        }
    }

    /// Ends the session: the shell and everything it started are killed.
    public func close() {
        if !box.state.withLock({ $0.closed }) { terminate() }
    }

    /// How the shell ended (waits for it).
    public func exitStatus() async -> TerminalExit {
        if let ended = box.state.withLock({ $0.exit }) { return ended }
        for await ended in exit { return ended }
        return box.state.withLock { $0.exit } ?? TerminalExit(exitCode: nil, signal: nil)
    }

    var idleSince: ContinuousClock.Instant { box.state.withLock { $0.lastActivity } }
    public var isClosed: Bool { box.state.withLock { $0.closed } }
}

/// The open terminals of one sandbox: the per-project limit, and closing
/// them (all, or the idle ones — checked every half idle timeout, at most
/// every minute).
final class TerminalRegistry: Sendable {
    private struct State {
        var sessions: [UUID: TerminalSession] = [:]
        /// Slots taken by sessions being started (a docker terminal takes
        /// a few engine requests), so concurrent opens cannot pass the limit.
        var starting = 0
        /// Sessions whose shell ended before they were registered.
        var endedEarly: Set<UUID> = []
    }
    private let state = Mutex(State())
    private let reaper = Mutex<Task<Void, Never>?>(nil)
    let limit: Int

    init(limit: Int, idleTimeout: Duration) {
        self.limit = limit
        reaper.withLock {
            $0 = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: min(idleTimeout / 2, .seconds(60)))
                    self?.closeIdle(for: idleTimeout)
                }
            }
        }
    }

    deinit { reaper.withLock { $0?.cancel() } }

    /// Starts a session with `make`, unless `limit` are open or starting;
    /// `make` gets the callback that removes the session when its shell ends.
    func open(_ make: (_ onEnd: @escaping @Sendable (UUID) -> Void) throws -> TerminalSession) throws -> TerminalSession {
        try state.withLock { (state: inout State) throws(SandboxError) in
            guard state.sessions.count + state.starting < limit else { throw SandboxError.tooManyTerminals(limit: limit) }
            state.starting += 1
        }
        let session: TerminalSession
        do {
            session = try make { [weak self] id in
                self?.state.withLock { state in
                    if state.sessions.removeValue(forKey: id) == nil { state.endedEarly.insert(id) }
                }
            }
        } catch {
            state.withLock { $0.starting -= 1 }
            throw error
        }
        state.withLock { state in
            state.starting -= 1
            if state.endedEarly.remove(session.id) == nil { state.sessions[session.id] = session }
        }
        return session
    }

    var all: [TerminalSession] { state.withLock { Array($0.sessions.values) } }

    /// Closes every terminal and stops reaping (the sandbox shuts down).
    func closeAll() {
        reaper.withLock { $0?.cancel() }
        for session in all { session.close() }
    }

    func closeIdle(for idle: Duration) {
        let now = ContinuousClock.now
        for session in all where now - session.idleSince >= idle { session.close() }
    }
}
