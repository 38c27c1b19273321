import Foundation
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
        for name in ["worker-1", "admin"] {
            let issue = try ChildProcess(ChildProcess.executable("hma"), ["certs", "issue", name, "--ca", folder + "/data/certs", "--out", folder + "/" + name])
            #expect(try await within(60, "certs issue") { await issue.exitStatus() } == 0)
        }
        let worker = try ChildProcess(ChildProcess.executable("hma"),
                                      ["worker", "--name", "worker-1", "--join", mesh, "--certs", folder + "/worker-1", "--log-level", "error"])
        // The worker sees dev once dev has answered its join with its member list.
        let seen = try await within(30, "the worker to see dev") { await worker.lines.first { $0 == "member dev up" } }
        #expect(seen != nil, "worker: \(worker.standardError)")

        let status = try ChildProcess(ChildProcess.executable("hma"), ["status", "--node", mesh, "--certs", folder + "/admin"])
        #expect(try await within(60, "hma status") { await status.exitStatus() } == 0, "\(status.standardError)")
        var lines: [String] = []
        while let line = await status.lines.next() { lines.append(line) }
        #expect(lines.first?.hasPrefix("members as seen by dev#") == true)
        #expect(lines.contains { $0.contains("dev  up  gateway,worker") })
        #expect(lines.contains { $0.contains("worker-1  up  worker") })
        #expect(!lines.contains { $0.contains("admin") }, "hma status must not join the cluster: \(lines)")

        // SIGTERM: the worker leaves gracefully and exits 0.
        worker.signal(SIGTERM)
        #expect(try await within(30, "the worker to exit") { await worker.exitStatus() } == 0)
        dev.signal(SIGTERM)
        #expect(try await within(30, "hma dev to exit") { await dev.exitStatus() } == 0)
    }

    @Test func badWorkerArgumentsAreRefused() async throws {
        for arguments in [["worker", "--name", "Bad_Name", "--join", "127.0.0.1:1", "--certs", "/nonexistent"],
                          ["worker", "--name", "w", "--join", "nowhere", "--certs", "/nonexistent"],
                          ["status", "--node", "127.0.0.1:notaport", "--certs", "/nonexistent"]] {
            let child = try ChildProcess(ChildProcess.executable("hma"), arguments)
            #expect(try await within(30, "hma to exit") { await child.exitStatus() } != 0)
            #expect(child.standardError.contains("Error:"), "\(arguments): \(child.standardError)")
        }
    }
}
