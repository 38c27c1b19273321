import Distributed
import Foundation
import MeshTesting
import NIOCore
import Testing
@testable import Mesh

/// Roles come from certificates (docs/cluster.md, "Roles"): an observer
/// (`hma status`) reads cluster status and can do nothing else.
@Suite struct RoleTests {
    func observer(named name: String) async throws -> MeshActorSystem {
        try await startNode(name) { settings in
            settings.roles = []
            settings.credentials = TestCertificates.credentials(name, roles: .observer)
        }
    }

    @Test func anObserverReadsStatusButCannotCallGossipOrSpawn() async throws {
        let member = try await startNode("roles-member")
        member.kinds.register("probe", as: ProbeActor.self) { _, s in ProbeActor(actorSystem: s) }
        let watcher = try await observer(named: "roles-observer")
        let memberID = try await watcher.node(at: member.endpoint)
        let state = MemberState(node: memberID, endpoint: member.endpoint, roles: .member, status: .up)
        let status = try ClusterStatusActor.resolve(id: MeshActorID(node: memberID, endpoint: member.endpoint, path: ClusterStatusActor.path), using: watcher)
        #expect(try await status.members().map(\.node) == [member.node], "status is readable")

        let probe = ProbeActor(actorSystem: member)
        await expectRefused("calling an application actor") { _ = try await ProbeActor.resolve(id: probe.id, using: watcher).add(1, 2) }
        let host = try HostActor.resolve(id: HostActor.id(of: state), using: watcher)
        await expectRefused("spawning") { _ = try await host.spawn(kind: "probe", key: "") }
        let lifecycle = try LifecycleActor.resolve(id: LifecycleActor.id(on: probe.id), using: watcher)
        await expectRefused("watching") { _ = try await lifecycle.watch(path: probe.id.path, from: watcher.node) }

        // Its gossip (joining through the member) is not taken.
        try await watcher.cluster.join([member.endpoint])
        #expect(try await status.members().map(\.node) == [member.node], "the observer did not become a member")
        try await watcher.shutdown()
        try await member.shutdown()
    }

    @Test func aNodeCannotRunWithRolesItsCertificateDoesNotGrant() async throws {
        do {
            _ = try await startNode("roles-overreach") { settings in
                settings.roles = [.gateway, .worker]
                settings.credentials = TestCertificates.credentials("roles-overreach", roles: .worker)
            }
            Issue.record("started as a gateway with a worker certificate")
        } catch MeshError.handshakeRejected(let reason) {
            #expect(reason.contains("gateway") && reason.contains("hma certs issue"))
        }
    }

    func expectRefused(_ what: String, _ call: () async throws -> Void) async {
        do {
            try await call()
            Issue.record("an observer succeeded in \(what)")
        } catch MeshError.refused {
        } catch {
            Issue.record("\(what) failed with \(error), not refused")
        }
    }
}
