import Foundation
import Logging
import Mesh
import MeshTesting
import ProcessTesting
import Testing

/// Mesh nodes as separate OS processes (`hma-mesh-node`), killed for real.
@Suite struct MeshProcessTests {
    /// Starts `hma-mesh-node` and returns it with the id of its probe.
    func startPeer(_ name: String, certs: CertificateFolder, port: Int = 0, join: Endpoint? = nil) async throws -> (ChildProcess, MeshActorID) {
        let child = try ChildProcess(
            ChildProcess.executable("hma-mesh-node"),
            ["--name", name, "--certs", try certs.directory(for: name), "--port", "\(port)"] + (join.map { ["--join", "\($0.host):\($0.port)"] } ?? []),
            keepStdinOpen: true)
        let line = try await within(60, "hma-mesh-node to be ready") { await child.lines.first { $0.hasPrefix("ready ") } }
        let parts = try #require(line, "node exited: \(child.standardError)").split(separator: " ")
        let incarnation = try #require(UInt64(parts[1], radix: 16))
        let boundPort = try #require(Int(parts[2]))
        let id = MeshActorID(node: NodeID(name: try NodeName(name), incarnation: incarnation),
                             endpoint: Endpoint(host: "127.0.0.1", port: boundPort), path: ProbeActor.wellKnownPath)
        return (child, id)
    }

    @Test func aPeerKilledWithSIGKILLFailsItsInFlightCallsAtOnceAndComesBack() async throws {
        let certs = try CertificateFolder()
        defer { try? FileManager.default.removeItem(atPath: certs.folder) }
        var settings = MeshSettings(name: try NodeName("caller"), credentials: try certs.credentials("caller"))
        let deadline = Duration.seconds(30)
        settings.defaultCallTimeout = deadline
        var logger = Logger(label: "test.caller")
        logger.logLevel = .critical
        let caller = try await MeshActorSystem.start(settings, logger: logger)

        let (peer, id) = try await startPeer("victim", certs: certs)
        let probe = try ProbeActor.resolve(id: id, using: caller)
        #expect(try await probe.add(20, 22) == 42)

        let start = ContinuousClock.now
        let outcomes = try await withThrowingTaskGroup(of: (any Error)?.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    do { _ = try await probe.sleep(milliseconds: 25_000); return nil } catch { return error }
                }
            }
            try await probe.waitForSleepers(100)
            peer.signal(SIGKILL)
            var errors: [(any Error)?] = []
            for try await outcome in group { errors.append(outcome) }
            return errors
        }
        let elapsed = ContinuousClock.now - start
        print("mesh: 100 in-flight calls failed \(elapsed) after SIGKILL of the peer (deadline \(deadline))")
        let unreachable = outcomes.filter { if case MeshError.nodeUnreachable? = $0 as? MeshError { true } else { false } }
        #expect(unreachable.count == 100, "outcomes: \(outcomes.prefix(3))")
        // Far sooner than the sleeps (25 s) or the call deadline (30 s), with
        // room for a cold, loaded CI machine; the time itself is printed.
        #expect(elapsed < .seconds(20))
        _ = await peer.exitStatus()

        // Restarted on the same port it is a new incarnation: the next call reconnects.
        let (reborn, newID) = try await startPeer("victim", certs: certs, port: id.endpoint.port)
        #expect(newID.node.incarnation != id.node.incarnation)
        let again = try ProbeActor.resolve(id: newID, using: caller)
        #expect(try await again.add(1, 2) == 3)
        await #expect(throws: MeshError.self) { try await probe.add(1, 2) }  // the old incarnation is gone
        reborn.signal(SIGTERM)
        _ = await reborn.exitStatus()
        try await caller.shutdown()
    }

    @Test func aClusterOfProcessesDetectsSIGKILLAndForgivesAShortSIGSTOP() async throws {
        let certs = try CertificateFolder()
        defer { try? FileManager.default.removeItem(atPath: certs.folder) }
        var logger = Logger(label: "test.observer")
        logger.logLevel = .critical
        let observer = try await MeshActorSystem.start(
            MeshSettings(name: try NodeName("observer"), credentials: try certs.credentials("observer")), logger: logger)
        let (paused, pausedID) = try await startPeer("pausable", certs: certs, join: observer.endpoint)
        let (victim, victimID) = try await startPeer("killable", certs: certs, join: observer.endpoint)
        try await waitForMembers(of: observer, "three members up") { $0.filter { $0.status == .up }.count == 3 }

        // Paused for less than the suspicion timeout: suspected perhaps, never down.
        paused.signal(SIGSTOP)
        try await Task.sleep(for: .milliseconds(500))
        paused.signal(SIGCONT)
        // The member answers heartbeats again: it is up (and stays up) on the observer.
        let probe = try ProbeActor.resolve(id: pausedID, using: observer)
        #expect(try await probe.add(1, 1) == 2)
        #expect(observer.cluster.members.first { $0.node == pausedID.node }?.status != .down)

        let start = ContinuousClock.now
        victim.signal(SIGKILL)
        try await waitForMembers(of: observer, "killable down") { $0.contains { $0.node == victimID.node && $0.status == .down } }
        let elapsed = ContinuousClock.now - start
        print("cluster: SIGKILL to down on the observer in \(elapsed)")
        #expect(elapsed < .seconds(5))
        // The paused node was never declared down (it may still be suspect
        // here until its refutation reaches the observer by gossip).
        #expect(observer.cluster.isAlive(pausedID.node))
        try await waitForMembers(of: observer, "pausable up again") { $0.contains { $0.node == pausedID.node && $0.status == .up } }
        paused.signal(SIGTERM)
        _ = await paused.exitStatus()
        _ = await victim.exitStatus()
        try await observer.shutdown()
    }
}
