import Foundation
import MeshTesting
import Synchronization

/// A real OS process started by a test: its standard output as lines, its
/// standard error collected, signals, and its exit awaited without polling.
public final class ChildProcess: Sendable {
    public let process: Process
    /// Lines of standard output, in order, until the process closes it.
    public let lines: LineReader
    private let errorOutput = OutputBuffer()
    private let exit: AsyncStream<Int32>
    private let stdinPipe: Pipe?

    /// Folder holding the executables built with the tests (`hma`, helpers).
    public static let buildFolder: URL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()

    public static func executable(_ name: String) -> URL { buildFolder.appendingPathComponent(name) }

    /// - Parameter keepStdinOpen: give the child a pipe on standard input that
    ///   closes when this object dies (children that exit on EOF then never
    ///   outlive the test).
    public init(_ executable: URL, _ arguments: [String], environment: [String: String] = [:], keepStdinOpen: Bool = false) throws {
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        if keepStdinOpen {
            let stdin = Pipe()
            process.standardInput = stdin
            stdinPipe = stdin
        } else {
            process.standardInput = FileHandle.nullDevice
            stdinPipe = nil
        }

        let lineSink = LineReader()
        self.lines = lineSink
        let (exit, exitSink) = AsyncStream<Int32>.makeStream()
        self.exit = exit
        process.terminationHandler = { process in
            exitSink.yield(process.terminationStatus)
            exitSink.finish()
        }
        try process.run()

        // Dedicated threads: blocking reads must not hold cooperative threads.
        let outHandle = stdout.fileHandleForReading
        Thread.detachNewThread {
            var buffer = Data()
            while true {
                let chunk = outHandle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    lineSink.push(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                    buffer.removeSubrange(buffer.startIndex...newline)
                }
            }
            if !buffer.isEmpty { lineSink.push(String(decoding: buffer, as: UTF8.self)) }
            lineSink.finish()
        }
        let errHandle = stderr.fileHandleForReading
        let errorOutput = self.errorOutput
        Thread.detachNewThread {
            while true {
                let chunk = errHandle.availableData
                if chunk.isEmpty { break }
                errorOutput.append(chunk)
            }
            errorOutput.finish()
        }
    }

    public var pid: Int32 { process.processIdentifier }

    public var standardError: String { errorOutput.text }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Writes a line to the child's standard input (needs `keepStdinOpen`).
    public func send(_ line: String) {
        stdinPipe?.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    /// Closes the child's standard input (children that exit on EOF stop).
    public func closeInput() {
        try? stdinPipe?.fileHandleForWriting.close()
    }

    /// The exit status (or the number of the signal that ended it), once
    /// the process ended and everything it wrote to standard error was read.
    public func exitStatus() async -> Int32 {
        var status: Int32?
        for await code in exit {
            status = code
            break
        }
        await errorOutput.waitUntilFinished()
        // A second call finds the stream finished; the process has ended by
        // then — unless the wait was cancelled while it runs (-1: unknown).
        if let status { return status }
        return process.isRunning ? -1 : process.terminationStatus
    }

    public var terminatedBySignal: Bool { process.terminationReason == .uncaughtSignal }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// A child's output lines, read in order by one task at a time.
public final class LineReader: Sendable {
    private struct State {
        var buffered: [String] = []
        var finished = false
        var waiter: CheckedContinuation<String?, Never>?
    }
    private let state = Mutex(State())

    func push(_ line: String) {
        state.withLock { state in
            if let waiter = state.waiter {
                state.waiter = nil
                waiter.resume(returning: line)
            } else {
                state.buffered.append(line)
            }
        }
    }

    func finish() {
        state.withLock { state in
            state.finished = true
            state.waiter?.resume(returning: nil)
            state.waiter = nil
        }
    }

    /// The next line, or nil once the child closed its output.
    public func next() async -> String? {
        await withCheckedContinuation { continuation in
            state.withLock { state in
                if !state.buffered.isEmpty {
                    continuation.resume(returning: state.buffered.removeFirst())
                } else if state.finished {
                    continuation.resume(returning: nil)
                } else {
                    state.waiter = continuation
                }
            }
        }
    }

    /// Reads lines until one satisfies `match`, and returns it.
    public func first(where match: @Sendable (String) -> Bool) async -> String? {
        while let line = await next() {
            if match(line) { return line }
        }
        return nil
    }
}

/// Bytes a child wrote to a stream, collected by a reader thread.
final class OutputBuffer: Sendable {
    private struct State {
        var data = Data()
        var finished = false
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    }
    private let state = Mutex(State())

    func append(_ chunk: Data) { state.withLock { $0.data.append(chunk) } }
    var text: String { state.withLock { String(decoding: $0.data, as: UTF8.self) } }

    /// The stream reached its end.
    func finish() {
        let waiters = state.withLock { state in
            state.finished = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters.values { waiter.resume() }
    }

    /// Returns when the stream ended, or when the task is cancelled (a
    /// grandchild that inherited the stream must not hang a test past its
    /// `within` bound).
    func waitUntilFinished() async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let done = state.withLock { state -> Bool in
                    if state.finished || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if done { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}
