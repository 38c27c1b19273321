import Foundation
import Mesh
import MeshTesting
import Synchronization

/// One `hma-mesh-node` process in a multi-process cluster test: start it,
/// send it commands, await the events it prints, kill or pause it.
public final class NodeProcess: Sendable {
    public let name: String
    public let child: ChildProcess
    public let endpoint: Endpoint
    public let incarnation: UInt64
    private let log: LineLog
    private let nextCommand = Atomic<Int>(0)

    /// Starts a node and returns once it has joined (`ready`).
    /// - Parameter netns: run it inside this network namespace (`ip netns exec`).
    public init(_ name: String, certs: CertificateFolder, host: String = "127.0.0.1", join: [Endpoint] = [], options: [String] = [],
                netns: String? = nil, executable: URL = ChildProcess.executable("hma-mesh-node")) async throws {
        self.name = name
        var arguments = ["--name", name, "--certs", try certs.directory(for: name), "--host", host]
        if !join.isEmpty { arguments += ["--join", join.map(\.description).joined(separator: ",")] }
        arguments += options
        let child: ChildProcess
        if let netns {
            child = try ChildProcess(URL(fileURLWithPath: "/usr/sbin/ip"), ["netns", "exec", netns, executable.path] + arguments, keepStdinOpen: true)
        } else {
            child = try ChildProcess(executable, arguments, keepStdinOpen: true)
        }
        self.child = child
        // Every line goes to the log, events printed before `ready` included.
        let log = LineLog()
        self.log = log
        Task {
            while let line = await child.lines.next() {
                let waiters = log.state.withLock { state in
                    state.lines.append((.now, line))
                    return Array(state.waiters.values)
                }
                for waiter in waiters { waiter() }
            }
            let waiters = log.state.withLock { state in
                state.closed = true
                return Array(state.waiters.values)
            }
            for waiter in waiters { waiter() }
        }
        let ready: String
        do {
            ready = try await Self.waitForLine(in: log, "\(name) to be ready", seconds: 60, after: nil) { $0.hasPrefix("ready ") }.1
        } catch is NodeExited {
            throw NodeFailure(name: name, message: "exited before it was ready: \(await child.exitStatus()) \(child.standardError)")
        }
        let parts = ready.split(separator: " ")
        guard parts.count == 3, let incarnation = UInt64(parts[1], radix: 16), let port = Int(parts[2]) else {
            throw NodeFailure(name: name, message: "printed \(ready)")
        }
        self.incarnation = incarnation
        self.endpoint = Endpoint(host: host, port: port)
    }

    /// Every line printed so far, with its time relative to `since`.
    public func transcript(since: ContinuousClock.Instant) -> String {
        log.state.withLock { state in
            state.lines.map { "\(name) +\(($0.0 - since).formatted(.units(allowed: [.milliseconds]))) \($0.1)" }.joined(separator: "\n")
        }
    }

    /// The lines printed after `instant`.
    public func lines(after instant: ContinuousClock.Instant) -> [String] {
        log.state.withLock { $0.lines.filter { $0.0 >= instant }.map(\.1) }
    }

    /// Sends a command and returns its result (`<id> ok <result>`).
    public func command(_ text: String, seconds: Double = 30) async throws -> String {
        let id = "c\(nextCommand.wrappingAdd(1, ordering: .relaxed).newValue)"
        child.send("\(id) \(text)")
        let (_, line) = try await waitForLine("\(name) to answer \(text)", seconds: seconds) { $0.hasPrefix("\(id) ") }
        let reply = line.dropFirst(id.count + 1)
        if reply.hasPrefix("ok") { return String(reply.dropFirst(3)) }
        throw NodeFailure(name: name, message: "\(text): \(reply)")
    }

    /// The first line printed (from the start) matching `match`, with when it arrived.
    @discardableResult
    public func waitForLine(_ what: String, seconds: Double = 30, after: ContinuousClock.Instant? = nil,
                            _ match: @escaping @Sendable (String) -> Bool) async throws -> (ContinuousClock.Instant, String) {
        try await Self.waitForLine(in: log, what, seconds: seconds, after: after, match)
    }

    private static func waitForLine(in log: LineLog, _ what: String, seconds: Double, after: ContinuousClock.Instant?,
                                    _ match: @escaping @Sendable (String) -> Bool) async throws -> (ContinuousClock.Instant, String) {
        try await within(seconds, what) {
            while true {
                let id = UUID()
                let found: (ContinuousClock.Instant, String)? = await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let resumed = Atomic(false)
                        let resume: @Sendable ((ContinuousClock.Instant, String)?) -> Void = { value in
                            if resumed.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged { continuation.resume(returning: value) }
                        }
                        let hit = log.state.withLock { state -> (ContinuousClock.Instant, String)? in
                            if let hit = state.lines.first(where: { (after == nil || $0.0 >= after!) && match($0.1) }) { return hit }
                            if state.closed { return (.now, "") }
                            if !Task.isCancelled { state.waiters[id] = { resume(nil) } }
                            return nil
                        }
                        if hit != nil || Task.isCancelled { resume(hit) }
                    }
                } onCancel: {
                    // Wake the waiter so `within` can end it.
                    let waiter = log.state.withLock { $0.waiters[id] }
                    waiter?()
                }
                _ = log.state.withLock { $0.waiters.removeValue(forKey: id) }
                if let found {
                    if found.1.isEmpty { throw NodeExited(what: what) }
                    return found
                }
                try Task.checkCancellation()
            }
        }
    }

    /// When this node printed that `member` reached `status` (after `after`).
    public func waitForMember(_ member: String, _ status: MemberStatus, seconds: Double = 30, after: ContinuousClock.Instant? = nil) async throws -> ContinuousClock.Instant {
        try await waitForLine("\(name) to see \(member) \(status)", seconds: seconds, after: after) { $0 == "event member \(member) \(status)" }.0
    }

    public func kill() { child.signal(SIGKILL) }
    public func pause() { child.signal(SIGSTOP) }
    public func resume() { child.signal(SIGCONT) }

    /// Closes its input: it leaves the cluster and exits.
    public func leave() async throws -> Int32 {
        child.closeInput()
        return try await within(30, "\(name) to exit") { await self.child.exitStatus() }
    }
}

/// Every line a node printed, with when it arrived, and who waits for more.
private final class LineLog: Sendable {
    let state = Mutex<(lines: [(ContinuousClock.Instant, String)], waiters: [UUID: @Sendable () -> Void], closed: Bool)>(([], [:], false))
}

/// The node closed its output while a test waited for a line.
public struct NodeExited: Error, CustomStringConvertible {
    public let what: String
    public var description: String { "the node exited while waiting for \(what)" }
}

public struct NodeFailure: Error, CustomStringConvertible {
    public let name: String
    public let message: String
    public init(name: String, message: String) {
        self.name = name
        self.message = message
    }
    public var description: String { "node \(name): \(message)" }
}
