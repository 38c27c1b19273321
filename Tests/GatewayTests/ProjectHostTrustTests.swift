import Foundation
import Logging
import Mesh
import Storage
import Testing
import Workspace
@testable import Gateway

/// A worker's project host serves gateways only: a worker taken over by the
/// code it runs cannot reach another worker's projects through the mesh
/// (docs/architecture.md, "Projects on workers").
@Suite struct ProjectHostTrustTests {
    static func node(_ name: String, roles: NodeRoles, ca: CertificateAuthority.Issued) async throws -> MeshActorSystem {
        let issued = try CertificateAuthority.issueNode(try NodeName(name), roles: roles, addresses: ["127.0.0.1"],
                                                        caCertificatePEM: ca.certificatePEM, caPrivateKeyPEM: ca.privateKeyPEM)
        var logger = Logger(label: "test.\(name)")
        logger.logLevel = .critical
        return try await MeshActorSystem.start(MeshSettings(name: try NodeName(name), roles: roles, credentials: NodeCredentials(
            caCertificatePEM: ca.certificatePEM, certificatePEM: issued.certificatePEM, privateKeyPEM: issued.privateKeyPEM)), logger: logger)
    }

    /// The host remembers the digest of each file it read for a copy with
    /// the file's stamp; a rewrite of the same size still moves the stamp,
    /// so the change is found (stamps are trusted at once here).
    @Test func aCopyFindsASameSizeRewriteOfAFileItReadBefore() async throws {
        let folder = NSTemporaryDirectory() + "hma-host-copy-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let ca = try CertificateAuthority.makeCA()
        let holder = try await Self.node("holder", roles: .worker, ca: ca)
        let gateway = try await Self.node("gateway", roles: .gateway, ca: ca)
        var sandbox = SandboxConfiguration()
        sandbox.kind = SandboxKind.none
        let served = ProjectHostActor.start(root: folder, sandbox: sandbox, logger: Logger(label: "test"), trustStampsAfter: .zero, actorSystem: holder)
        ProjectHostActor.registerTypes(on: gateway)
        let host = try ProjectHostActor.resolve(id: MeshActorID(node: holder.node, endpoint: holder.endpoint, path: ProjectHostActor.path), using: gateway)
        try await host.write(projectId: "p1", path: "a.txt", content: Data("one".utf8), create: false)
        try await host.write(projectId: "p1", path: "b.txt", content: Data("bee".utf8), create: false)
        let first = try await host.copyChanges(projectId: "p1", known: [:], maxBytes: 1 << 20)
        var known = Dictionary(uniqueKeysWithValues: first.changes.written.map { ($0.path, CopiedFile.digest($0.content)) })
        #expect(known.keys.sorted() == ["a.txt", "b.txt"])
        #expect(try await host.copyChanges(projectId: "p1", known: known, maxBytes: 1 << 20).changes.isEmpty, "nothing changed")

        try await host.write(projectId: "p1", path: "a.txt", content: Data("two".utf8), create: false)
        let second = try await host.copyChanges(projectId: "p1", known: known, maxBytes: 1 << 20)
        #expect(second.changes.written == [CopiedFile(path: "a.txt", content: Data("two".utf8))])
        known["a.txt"] = CopiedFile.digest(Data("two".utf8))
        try await host.delete(projectId: "p1", path: "b.txt")
        #expect(try await host.copyChanges(projectId: "p1", known: known, maxBytes: 1 << 20).changes.removed == ["b.txt"])
        withExtendedLifetime(served) {}
        for system in [gateway, holder] { try await system.shutdown() }
    }

    @Test func anotherWorkerIsRefusedAndAGatewayIsServed() async throws {
        let folder = NSTemporaryDirectory() + "hma-host-trust-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let ca = try CertificateAuthority.makeCA()
        let holder = try await Self.node("holder", roles: .worker, ca: ca)
        let intruder = try await Self.node("intruder", roles: .worker, ca: ca)
        let gateway = try await Self.node("gateway", roles: .gateway, ca: ca)
        var sandbox = SandboxConfiguration()
        sandbox.kind = SandboxKind.none
        let host = ProjectHostActor.start(root: folder, sandbox: sandbox, logger: Logger(label: "test"), actorSystem: holder)
        try await host.open(projectId: "p1")
        try await host.write(projectId: "p1", path: "secret.txt", content: Data("s3cret".utf8), create: true)
        // The callers know the host's types, as a gateway does.
        for caller in [intruder, gateway] { ProjectHostActor.registerTypes(on: caller) }
        let id = MeshActorID(node: holder.node, endpoint: holder.endpoint, path: ProjectHostActor.path)

        // Every kind of call from a worker is refused, before it touches a file.
        let fromIntruder = try ProjectHostActor.resolve(id: id, using: intruder)
        let attempts: [(String, @Sendable () async throws -> Void)] = [
            ("read", { _ = try await fromIntruder.read(projectId: "p1", path: "secret.txt") }),
            ("write", { try await fromIntruder.write(projectId: "p1", path: "x.txt", content: Data(), create: true) }),
            ("agentWorkspace", { _ = try await fromIntruder.agentWorkspace(projectId: "p1") }),
            ("remove", { try await fromIntruder.remove(projectId: "p1") }),
            ("storedProjects", { _ = try await fromIntruder.storedProjects() }),
            ("closeAll", { try await fromIntruder.closeAll() }),
            ("copyChanges", { _ = try await fromIntruder.copyChanges(projectId: "p1", known: [:], maxBytes: 1 << 20) }),
            ("beginRestore", { try await fromIntruder.beginRestore(projectId: "p1") }),
            ("restoreFiles", { try await fromIntruder.restoreFiles(projectId: "p1", [CopiedFile(path: "x.txt", content: Data())]) }),
        ]
        for (name, attempt) in attempts {
            do {
                try await attempt()
                Issue.record("\(name) from another worker was served")
            } catch MeshError.refused(let reason) {
                #expect(reason.contains("not a gateway"), "\(name): \(reason)")
            } catch {
                Issue.record("\(name): expected refused, got \(error)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: folder + "/p1/x.txt"))

        // The gateway is served.
        let fromGateway = try ProjectHostActor.resolve(id: id, using: gateway)
        #expect(try await fromGateway.read(projectId: "p1", path: "secret.txt").content == "s3cret")
        #expect(FileManager.default.fileExists(atPath: folder + "/p1/secret.txt"), "the refused calls changed nothing")
        try await copiesRoundTrip(fromGateway, folder: folder)
        for system in [gateway, intruder, holder] { try await system.shutdown() }
    }

    /// A gateway's copy calls: only what changed comes back, in answers of
    /// bounded size; a copy is restored into an emptied folder, `.git`
    /// included, and a path out of the project is refused.
    func copiesRoundTrip(_ host: ProjectHostActor, folder: String) async throws {
        try await host.write(projectId: "p1", path: "two.txt", content: Data("22".utf8), create: true)
        let first = try await host.copyChanges(projectId: "p1", known: [:], maxBytes: 1)
        #expect(!first.complete && first.changes.written.count == 1, "\(first)")
        let known = Dictionary(uniqueKeysWithValues: first.changes.written.map { ($0.path, CopiedFile.digest($0.content)) })
        let second = try await host.copyChanges(projectId: "p1", known: known.merging(["gone.txt": "00"]) { $1 }, maxBytes: 1)
        #expect(second.complete, "\(second)")
        #expect(Set((first.changes.written + second.changes.written).map(\.path)) == ["secret.txt", "two.txt"])
        #expect(second.changes.removed == ["gone.txt"])

        try await host.write(projectId: "p2", path: "stale.txt", content: Data(), create: true)
        try await host.beginRestore(projectId: "p2")
        try await host.restoreFiles(projectId: "p2", [CopiedFile(path: ".git/HEAD", content: Data("ref: refs/heads/main\n".utf8)),
                                                      CopiedFile(path: "src/a.py", content: Data("a = 1\n".utf8))])
        #expect(FileManager.default.fileExists(atPath: folder + "/p2/.git/HEAD"))
        #expect(try await host.read(projectId: "p2", path: "src/a.py").content == "a = 1\n")
        #expect(!FileManager.default.fileExists(atPath: folder + "/p2/stale.txt"), "restored into an emptied folder")
        await #expect(throws: ProtocolError.self) {
            try await host.restoreFiles(projectId: "p2", [CopiedFile(path: "../escaped.txt", content: Data())])
        }
        #expect(!FileManager.default.fileExists(atPath: folder + "/escaped.txt"))
    }
}
