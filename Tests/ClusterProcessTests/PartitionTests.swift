import Foundation
import Mesh
import MeshTesting
import ProcessTesting
import Testing

/// A network partition between real processes: each node runs in a network
/// namespace of its own, wired to a bridge in another namespace; cutting a
/// node's link to the bridge partitions it, restoring the link heals it.
/// Needs root (to make namespaces); skipped otherwise.
@Suite(.serialized) struct PartitionTests {
    /// Namespaces `hma-<id>-sw` (the bridge) and `hma-<id>-1…n` (the nodes,
    /// at 10.231.<subnet>.1…n), all removed by `tearDown`.
    final class Network: Sendable {
        let prefix: String
        let size: Int
        let subnet = Int.random(in: 1...250)

        init(size: Int) throws {
            prefix = "hma-\(UInt16.random(in: 0...UInt16.max))"
            self.size = size
            try run("netns", "add", "\(prefix)-sw")
            try run("-n", "\(prefix)-sw", "link", "add", "br0", "type", "bridge")
            try run("-n", "\(prefix)-sw", "link", "set", "br0", "up")
            for index in 1...size {
                let ns = namespace(index)
                try run("netns", "add", ns)
                try run("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", "port\(index)", "netns", "\(prefix)-sw")
                try run("-n", ns, "addr", "add", "\(address(index))/24", "dev", "eth0")
                try run("-n", ns, "link", "set", "eth0", "up")
                try run("-n", ns, "link", "set", "lo", "up")
                try run("-n", "\(prefix)-sw", "link", "set", "port\(index)", "master", "br0")
                try run("-n", "\(prefix)-sw", "link", "set", "port\(index)", "up")
            }
        }

        func namespace(_ index: Int) -> String { "\(prefix)-\(index)" }
        func address(_ index: Int) -> String { "10.231.\(subnet).\(index)" }

        /// Cuts node `index` off from every other node (or reconnects it).
        func setConnected(_ index: Int, _ connected: Bool) throws {
            try run("-n", "\(prefix)-sw", "link", "set", "port\(index)", connected ? "up" : "down")
        }

        func tearDown() {
            for index in 1...size { try? run("netns", "del", namespace(index)) }
            try? run("netns", "del", "\(prefix)-sw")
        }

        static var available: Bool { getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") }

        private func run(_ arguments: String...) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = arguments
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                throw NodeFailure(name: "network", message: "ip \(arguments.joined(separator: " ")): \(message)")
            }
        }
    }

    @Test(.enabled(if: Network.available, "needs root for network namespaces"))
    func aPartitionThatHealsConvergesAndLeavesOneActivation() async throws {
        let certs = try CertificateFolder()
        let network = try Network(size: 3)
        defer {
            network.tearDown()
            try? FileManager.default.removeItem(atPath: certs.folder)
        }
        // p1 holds the counters' state (it stays on the majority side); p2 and p3 host counters.
        let p1 = try await NodeProcess("p1", certs: certs, host: network.address(1), options: ["--store-here", "yes"], netns: network.namespace(1))
        var started = [p1]
        for index in 2...3 {
            started.append(try await NodeProcess("p\(index)", certs: certs, host: network.address(index), join: [p1.endpoint],
                                               options: ["--store", p1.endpoint.description, "--labels", "counters=yes"],
                                               netns: network.namespace(index)))
        }
        let nodes = started
        for node in nodes { for other in nodes where other !== node { _ = try await node.waitForMember(other.name, .up) } }
        #expect(try await p1.command("call k").hasPrefix("1 "))
        let hostName = String(try await p1.command("call k").split(separator: " ")[1])
        let isolatedIndex = Int(hostName.dropFirst())!
        let isolated = nodes[isolatedIndex - 1]
        let other = nodes.first { $0 !== isolated && $0 !== p1 }!

        // Partition the counter's node: each side declares the other down.
        let cut = ContinuousClock.now
        try network.setConnected(isolatedIndex, false)
        _ = try await p1.waitForMember(isolated.name, .down, after: cut)
        _ = try await other.waitForMember(isolated.name, .down, after: cut)
        _ = try await isolated.waitForMember("p1", .down, after: cut)
        _ = try await isolated.waitForMember(other.name, .down, after: cut)
        // The majority side re-activates the counter, with its state; the
        // isolated node still has its copy: two activations during the partition.
        let reply = try await p1.command("call k").split(separator: " ")
        #expect(reply == ["3", Substring(other.name)])
        #expect(try await isolated.command("activations") == "k")
        #expect(try await other.command("activations") == "k")

        // Heal: the cluster converges and one activation is left.
        let healed = ContinuousClock.now
        try network.setConnected(isolatedIndex, true)
        _ = try await p1.waitForMember(isolated.name, .up, seconds: 30, after: healed)
        _ = try await isolated.waitForMember("p1", .up, seconds: 30, after: healed)
        _ = try await isolated.waitForMember(other.name, .up, seconds: 30, after: healed)
        _ = try await other.waitForMember(isolated.name, .up, seconds: 30, after: healed)
        // Stale news from the other side may briefly flap a member to suspect
        // (never down); wait until every node sees every member up.
        try await within(30, "every node to see every member up") {
            for node in nodes {
                while try await node.command("members") != "p1:up,p2:up,p3:up" { try await Task.sleep(for: .milliseconds(50)) }
            }
        }
        print("cluster: partition healed; all members up everywhere after \(ContinuousClock.now - healed)")
        // Each node reports its activations to the leader; the copy of the
        // side the leader was on stays, the other is dropped.
        try await within(10, "at most one activation of k after the heal: \(nodes.map(\.child.standardError))") {
            while try await [isolated, other].asyncFilter({ try await $0.command("activations") == "k" }).count > 1 {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        for node in nodes {
            #expect(!node.lines(after: healed).contains { $0.hasSuffix(" down") }, "after the heal nobody is declared down: \(node.transcript(since: cut))")
        }
        let after = try await p1.command("call k")
        #expect(after.hasPrefix("4 "), "the state of the majority side's copy carries on: \(after)")
        #expect(try await [isolated, other].asyncFilter({ try await $0.command("activations") == "k" }).count == 1)
        for node in nodes { #expect(try await node.leave() == 0) }
    }
}

extension Array where Element: Sendable {
    func asyncFilter(_ keep: (Element) async throws -> Bool) async rethrows -> [Element] {
        var kept: [Element] = []
        for element in self where try await keep(element) { kept.append(element) }
        return kept
    }
}
