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
    /// Output from the terminal, in order, until the shell exits.
    public let output: AsyncStream<Data>
    private let exit: AsyncStream<TerminalExit>
    private let box: StateBox

    /// Shared with the I/O thread, which may outlive the session object.
    private final class StateBox: Sendable {
        struct State {
            var closed = false
            /// Last keystroke (or the start): idleness counts input only, so
            /// a program trickling output does not keep a forgotten terminal open.
            var lastInput = ContinuousClock.now
            var exit: TerminalExit?
            /// Keystrokes not yet written (the program reads them at its pace).
            var input: [UInt8] = []
        }
        let state = Mutex(State())
        /// The descriptor while it is open. Only the I/O thread reads and
        /// writes it; resizes use it under this lock, and the I/O thread
        /// closes it under the lock: a number the kernel reuses (say for a
        /// socket to the Engine API) never receives a late keystroke.
        let open: Mutex<Int32?>
        /// Wakes the I/O thread when input is queued.
        let wake: (read: Int32, write: Int32)
        /// An attach socket (docker) rather than a pty master.
        let isSocket: Bool
        init(descriptor: Int32, wake: (Int32, Int32), isSocket: Bool) {
            open = Mutex(descriptor)
            self.wake = wake
            self.isSocket = isSocket
        }
    }
    private let onResize: Resize

    /// How a backend changes the terminal's size.
    enum Resize: Sendable {
        /// On the descriptor itself (TIOCSWINSZ on a pty master): quick, done
        /// under the lock that keeps the descriptor from being reused.
        case descriptor(@Sendable (_ descriptor: Int32, _ rows: UInt16, _ columns: UInt16) throws -> Void)
        /// Somewhere else (the engine's resize API): no lock held while it runs.
        case elsewhere(@Sendable (_ rows: UInt16, _ columns: UInt16) async throws -> Void)
    }
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
        let child = ChildWatch(pid: pid)
        self.init(
            descriptor: master,
            resize: .descriptor { descriptor, rows, columns in
                let code = hma_set_window_size(descriptor, rows, columns)
                guard code == 0 else { throw SandboxError.launchFailed("resize: \(String(cString: strerror(-code)))") }
            },
            terminate: {
                child.kill()
                killTree()
            },
            waitForExit: {
                let (exitCode, signal) = RunResult.ending(waitStatus: child.waitBlocking())
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
    /// Most keystrokes queued for a program that is not reading them.
    public static let maxQueuedInput = 64 << 10

    init(descriptor: Int32, resize: Resize,
         terminate: @escaping @Sendable () -> Void,
         waitForExit: @escaping @Sendable () -> TerminalExit, onEnd: @escaping @Sendable (UUID) -> Void) {
        var wake: [Int32] = [-1, -1]
        if hma_pipe_cloexec(&wake) == 0 {
            for fd in wake { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        }
        var info = stat()
        let isSocket = fstat(descriptor, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK
        box = StateBox(descriptor: descriptor, wake: (wake[0], wake[1]), isSocket: isSocket)
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        self.onResize = resize
        self.terminate = terminate
        let (output, outputSink) = AsyncStream<Data>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let (exit, exitSink) = AsyncStream<TerminalExit>.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.output = output
        self.exit = exit
        let id = self.id
        let box = self.box
        Thread.detachNewThread {
            Self.pump(descriptor, isSocket: isSocket, box: box, output: outputSink)
            let ended = waitForExit()
            box.open.withLock { open in
                if let descriptor = open { Glibc.close(descriptor) }
                open = nil
            }
            onEnd(id)  // before anyone waiting on the exit hears of it
            box.state.withLock { state in
                state.exit = ended
                state.closed = true
                state.input.removeAll()
                // Under the lock `write` wakes the thread with: no wake byte reaches a reused descriptor.
                for fd in [box.wake.read, box.wake.write] where fd >= 0 { Glibc.close(fd) }
            }
            outputSink.finish()
            exitSink.yield(ended)
            exitSink.finish()
        }
    }

    /// The terminal's one I/O loop: output to the stream as it comes,
    /// queued input written as the program takes it — never blocking on
    /// either, never holding a lock across I/O. Returns when the terminal
    /// has ended (EOF or EIO: the shell and everything on it are gone).
    private static func pump(_ descriptor: Int32, isSocket: Bool, box: StateBox, output: AsyncStream<Data>.Continuation) {
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        var drain = [UInt8](repeating: 0, count: 64)
        while true {
            let pending = box.state.withLock { $0.input.isEmpty ? nil : Array($0.input.prefix(16 << 10)) }
            var fds = [pollfd(fd: descriptor, events: Int16(POLLIN) | (pending == nil ? 0 : Int16(POLLOUT)), revents: 0),
                       pollfd(fd: box.wake.read, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { while read(box.wake.read, &drain, drain.count) > 0 {} }
            if fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                let count = read(descriptor, &buffer, buffer.count)
                if count > 0 {
                    output.yield(Data(buffer[0..<count]))
                } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                    return
                }
            }
            if let pending, fds[0].revents & Int16(POLLOUT) != 0 {
                let written = pending.withUnsafeBytes { bytes in
                    // A socket (an attach stream) must not raise SIGPIPE when the container is gone.
                    isSocket ? Glibc.send(descriptor, bytes.baseAddress!, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                        : Glibc.write(descriptor, bytes.baseAddress!, bytes.count)
                }
                if written > 0 {
                    box.state.withLock { $0.input.removeFirst(written) }
                } else if written < 0 && errno != EAGAIN && errno != EINTR {
                    box.state.withLock { $0.input.removeAll() }  // the terminal is going; its end follows as EOF/EIO
                }
            }
        }
    }

    /// Queues keystrokes (bytes) for the shell and returns at once; the
    /// terminal's I/O thread writes them as the program reads its input.
    /// Throws `terminalInputFull` when `maxQueuedInput` bytes are already
    /// waiting (the program does not read), and when the terminal has ended.
    public func write(_ data: Data) throws {
        let box = self.box
        try box.state.withLock { (state: inout StateBox.State) throws(SandboxError) in
            guard !state.closed else { throw SandboxError.launchFailed("the terminal has ended") }
            guard state.input.count + data.count <= Self.maxQueuedInput else { throw SandboxError.terminalInputFull(limit: Self.maxQueuedInput) }
            state.lastInput = .now
            var rest = data[...]
            if state.input.isEmpty {
                // Nothing queued: write now, without waiting for the I/O
                // thread (a keystroke's echo is one hop sooner). Non-blocking,
                // so it takes what the terminal has room for and never waits.
                let written = box.open.withLock { open -> Int in
                    guard let descriptor = open else { return 0 }
                    return rest.withUnsafeBytes { bytes in
                        box.isSocket ? Glibc.send(descriptor, bytes.baseAddress!, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                            : Glibc.write(descriptor, bytes.baseAddress!, bytes.count)
                    }
                }
                if written > 0 { rest = rest.dropFirst(written) }
            }
            guard !rest.isEmpty else { return }
            state.input.append(contentsOf: rest)
            var byte: UInt8 = 1
            _ = Glibc.write(box.wake.write, &byte, 1)  // non-blocking; a full pipe means the thread is awake already
        }
    }

    /// Changes the terminal's size (the shell gets SIGWINCH).
    public func resize(rows: UInt16, columns: UInt16) async throws {
        do {
            switch onResize {
            case .descriptor(let resize):
                try box.open.withLock { open in
                    guard let descriptor = open else { throw SandboxError.launchFailed("the terminal has ended") }
                    try resize(descriptor, rows, columns)
                }
            case .elsewhere(let resize):
                guard !isClosed else { throw SandboxError.launchFailed("the terminal has ended") }
                try await resize(rows, columns)
            }
        } catch let error as SandboxError {
            throw error
        } catch {
            throw SandboxError.launchFailed("resize: \(error)")
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

    /// The last keystroke (or the start): output does not count.
    var idleSince: ContinuousClock.Instant { box.state.withLock { $0.lastInput } }
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
    func open(_ make: (_ onEnd: @escaping @Sendable (UUID) -> Void) async throws -> TerminalSession) async throws -> TerminalSession {
        try state.withLock { (state: inout State) throws(SandboxError) in
            guard state.sessions.count + state.starting < limit else { throw SandboxError.tooManyTerminals(limit: limit) }
            state.starting += 1
        }
        let session: TerminalSession
        do {
            session = try await make { [weak self] id in
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
