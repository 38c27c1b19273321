import Foundation
import ProcessTesting
import Mesh
import MeshTesting
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `hma worker` joining a running `hma dev`, and `hma status` showing both.
@Suite struct ClusterCommandTests {
    @Test func aWorkerJoinsHmaDevAndStatusShowsBoth() async throws {
        let folder = NSTemporaryDirectory() + "hma-cluster-cli-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (dev, url) = try await DevCommandTests.startDev(dataDir: folder + "/data")
        let (_, body) = try await DevCommandTests.get(url.appendingPathComponent("health"))
        let health = try JSONDecoder().decode(DevCommandTests.Health.self, from: body)
        let mesh = try #require(health.checks["mesh"]?.endpoint)

        // Certificates from the dev CA that hma dev created.
        for (name, role) in [("worker-1", "worker"), ("admin", "observer")] {
            let issue = try ChildProcess(ChildProcess.executable("hma"), ["certs", "issue", name, "--role", role, "--ca", folder + "/data/certs", "--out", folder + "/" + name])
            #expect(try await within(60, "certs issue") { await issue.exitStatus() } == 0)
        }
        let worker = try ChildProcess(ChildProcess.executable("hma"),
                                      ["worker", "--name", "worker-1", "--join", mesh, "--certs", folder + "/worker-1", "--labels", "zone=eu",
                                       "--log-level", "error"])
        // The worker sees dev once dev has answered its join with its member list.
        let seen = try await within(30, "the worker to see dev") { await worker.lines.first { $0 == "member dev up" } }
        #expect(seen != nil, "worker: \(worker.standardError)")

        let status = try ChildProcess(ChildProcess.executable("hma"), ["status", "--node", mesh, "--certs", folder + "/admin"])
        #expect(try await within(60, "hma status") { await status.exitStatus() } == 0, "\(status.standardError)")
        var lines: [String] = []
        while let line = await status.lines.next() { lines.append(line) }
        #expect(lines.first?.hasPrefix("members as seen by dev#") == true)
        let rows = lines.dropFirst().map { $0.split(separator: " ").map(String.init) }
        #expect(rows.first?.prefix(4) == ["NAME", "STATE", "ROLES", "ADDRESS"])
        #expect(rows.contains { $0.prefix(3) == ["dev", "up", "gateway,worker"] && $0.count == 7 && Int($0[4]) != nil })
        #expect(rows.contains { $0.prefix(3) == ["worker-1", "up", "worker"] && $0.last == "zone=eu" })
        #expect(!lines.contains { $0.contains("admin") }, "hma status must not join the cluster: \(lines)")

        // SIGTERM: the worker leaves gracefully and exits 0.
        worker.signal(SIGTERM)
        #expect(try await within(30, "the worker to exit") { await worker.exitStatus() } == 0)
        dev.signal(SIGTERM)
        #expect(try await within(30, "hma dev to exit") { await dev.exitStatus() } == 0)
    }

    @Test func aWorkerJoinsAGatewayNodeAndLeavesGracefully() async throws {
        let certs = try CertificateFolder()
        let folder = certs.folder
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let gateway = try ChildProcess(ChildProcess.executable("hma"), [
            "gateway", "--name", "gw", "--listen", "127.0.0.1:0", "--certs", try certs.directory(for: "gw"),
            "--http", "127.0.0.1:0", "--data-dir", folder + "/data", "--log-level", "error"])
        let ready = try await within(60, "the gateway to serve") { await gateway.lines.first { $0.contains("is running. Open http://") } }
        let url = URL(string: try #require(ready, "gateway: \(gateway.standardError)").components(separatedBy: "Open ").last!)!
        let (_, body) = try await DevCommandTests.get(url.appendingPathComponent("health"))
        let health = try JSONDecoder().decode(DevCommandTests.Health.self, from: body)
        let mesh = try #require(health.checks["mesh"]?.endpoint)

        let worker = try ChildProcess(ChildProcess.executable("hma"), [
            "worker", "--name", "w1", "--join", mesh, "--certs", try certs.directory(for: "w1"), "--log-level", "error"])
        let seen = try await within(30, "the worker to see the gateway") { await worker.lines.first { $0 == "member gw up" } }
        #expect(seen != nil, "worker: \(worker.standardError)")
        worker.signal(SIGTERM)
        let code = try await within(30, "the worker to exit") { await worker.exitStatus() }
        #expect(code == 0, "worker: \(worker.standardError)")
        gateway.signal(SIGTERM)
        #expect(try await within(30, "the gateway to exit") { await gateway.exitStatus() } == 0)
    }

    @Test func aWorkerWhoseSeedsAreUnreachableRetriesWithBackoffThenFailsClearly() async throws {
        let certs = try CertificateFolder()
        defer { try? FileManager.default.removeItem(atPath: certs.folder) }
        // Ports 1 and 9 on loopback: nothing listens there.
        let started = ContinuousClock.now
        let worker = try ChildProcess(ChildProcess.executable("hma"), [
            "worker", "--name", "lonely", "--join", "127.0.0.1:1,127.0.0.1:9", "--certs", try certs.directory(for: "lonely"),
            "--join-timeout", "3", "--log-level", "warning"])
        let status = try await within(30, "the worker to give up") { await worker.exitStatus() }
        let elapsed = ContinuousClock.now - started
        #expect(status != 0)
        #expect(worker.standardError.contains("Error: no seed node answered (127.0.0.1:1, 127.0.0.1:9; "), "\(worker.standardError)")
        // Backoff 0.25, 0.5, 1, 2 s: a handful of attempts in 3 s, not a busy loop.
        let retries = worker.standardError.components(separatedBy: "no seed answered; retrying").count - 1
        #expect(!worker.standardError.contains("Usage:"))
        #expect((2...6).contains(retries), "\(retries) retries: \(worker.standardError)")
        #expect(elapsed >= .seconds(3) && elapsed < .seconds(20))
    }

    @Test func badWorkerArgumentsAreRefused() async throws {
        for arguments in [["worker", "--name", "Bad_Name", "--join", "127.0.0.1:1", "--certs", "/nonexistent"],
                          ["worker", "--name", "w", "--join", "nowhere", "--certs", "/nonexistent"],
                          ["status", "--node", "127.0.0.1:notaport", "--certs", "/nonexistent"],
                          ["worker", "--name", "w", "--join", "127.0.0.1:1", "--certs", "/nonexistent", "--labels", "novalue"],
                          ["gateway", "--name", "g", "--certs", "/nonexistent", "--http", "nohost"]] {
            let child = try ChildProcess(ChildProcess.executable("hma"), arguments)
            #expect(try await within(30, "hma to exit") { await child.exitStatus() } != 0)
            #expect(child.standardError.contains("Error:"), "\(arguments): \(child.standardError)")
        }
    }
}
