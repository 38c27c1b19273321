import Foundation
import Logging
import Mesh
import Storage
import Testing
import Workspace
@testable import Gateway

/// The retention job on real folders: a store deciding, a project host (on
/// a one-node mesh, with the default sandbox, so files belong to each
/// project's uid as root) packing and removing, and the reconciling pass
/// after a crash between the two.
@Suite struct RetentionServiceTests {
    struct Fixture {
        let folder: String
        let store: Store
        let mesh: MeshActorSystem
        let host: ProjectHostActor
        let service: RetentionService
        let owner: String

        init() async throws {
            folder = NSTemporaryDirectory() + "hma-retention-\(UUID().uuidString)"
            store = try Store(path: folder + "/hma.sqlite")
            let ca = try CertificateAuthority.makeCA(commonName: "retention test CA")
            let name = try NodeName("retention")
            let issued = try CertificateAuthority.issueNode(name, roles: .member, addresses: ["127.0.0.1"],
                                                            caCertificatePEM: ca.certificatePEM, caPrivateKeyPEM: ca.privateKeyPEM)
            var logger = Logger(label: "test.retention")
            logger.logLevel = .critical
            mesh = try await MeshActorSystem.start(MeshSettings(name: name, roles: [.gateway, .worker], credentials: NodeCredentials(
                caCertificatePEM: ca.certificatePEM, certificatePEM: issued.certificatePEM, privateKeyPEM: issued.privateKeyPEM)),
                logger: logger)
            host = ProjectHostActor(root: folder + "/projects", sandbox: SandboxConfiguration(), logger: logger, actorSystem: mesh)
            service = RetentionService(store: store, hosts: ProjectHosts(store: store, mesh: mesh, local: host), policy: try RetentionPolicy(), interval: .seconds(3600),
                                       orphanAge: 60, logger: logger)
            owner = try await store.ensureUser(name: "ada").id
        }

        func project(_ name: String, files: [String: String]) async throws -> ProjectMeta {
            let project = try await store.createProject(ownerId: owner, name: name, language: "python", projectPath: name)
            try await host.open(projectId: project.id)
            for (path, content) in files {
                try await host.write(projectId: project.id, path: path, content: Data(content.utf8), create: true)
            }
            return project
        }

        func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: folder + "/projects/" + relative) }

        func close() async {
            try? await mesh.shutdown()
            try? store.close()
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    static let days = RetentionPolicy.day

    @Test func anIdleProjectIsPackedUnpackedOnOpenAndRemovedAtTheEnd() async throws {
        let fixture = try await Fixture()
        let project = try await fixture.project("idle", files: ["main.py": "print('hi')\n", "pkg/util.py": "X = 1\n",
                                                                  "node_modules/dep/index.js": "module.exports = 1\n"])
        let fresh = try await fixture.project("fresh", files: ["a.txt": "a"])
        let start = Date()

        // Nothing is due yet.
        #expect(await fixture.service.runOnce(now: start) == RetentionService.Pass())

        // 31 days: archived — the row says so, the folder stays.
        var pass = await fixture.service.runOnce(now: start.addingTimeInterval(31 * Self.days))
        #expect(pass.archived.contains(project.id))
        #expect(fixture.exists(project.id + "/main.py"))

        // 91 days: packed into one zip, the folder gone.
        pass = await fixture.service.runOnce(now: start.addingTimeInterval(91 * Self.days))
        #expect(pass.compressed.contains(project.id))
        #expect(!fixture.exists(project.id))
        #expect(fixture.exists(".archives/\(project.id).zip"))
        #expect(try await fixture.store.project(id: project.id).compressedAt != nil)

        // Opened again through the gateway's one way: unpacked whole
        // (dependency folders too) and active, so the next pass leaves it.
        try await ProjectOpening.open(try await fixture.store.project(id: project.id), store: fixture.store, hosts: fixture.service.hosts)
        #expect(try await fixture.host.read(projectId: project.id, path: "pkg/util.py").content == "X = 1\n")
        #expect(try await fixture.host.read(projectId: project.id, path: "node_modules/dep/index.js").content == "module.exports = 1\n")
        #expect(!fixture.exists(".archives/\(project.id).zip"))
        let reopened = try await fixture.store.project(id: project.id)
        #expect(reopened.status == .active && reopened.compressedAt == nil)
        pass = await fixture.service.runOnce(now: Date().addingTimeInterval(Self.days))
        #expect(!pass.compressed.contains(project.id))
        #expect(fixture.exists(project.id + "/main.py"))

        // Idle for good: 181 days after its last activity, row and files go.
        pass = await fixture.service.runOnce(now: Date().addingTimeInterval(181 * Self.days))
        #expect(pass.removed.contains(project.id) && pass.removed.contains(fresh.id))
        #expect(!fixture.exists(project.id) && !fixture.exists(".archives/\(project.id).zip") && !fixture.exists(fresh.id))
        await #expect(throws: StorageError.self) { try await fixture.store.project(id: project.id) }
        await fixture.close()
    }

    @Test func aPassFinishesWhatACrashBetweenDatabaseAndFilesLeft() async throws {
        let fixture = try await Fixture()
        let packed = try await fixture.project("packed", files: ["a.txt": "a"])
        // The database moved on and the process died before the files did:
        // `packed` is marked compressed; two folders have no row (their
        // projects deleted), one old, one just made.
        let decided = try await fixture.store.applyRetention(try RetentionPolicy(), now: Date().addingTimeInterval(91 * Self.days))
        #expect(decided.map(\.projectId) == [packed.id])
        let orphan = Store.newId(), young = Store.newId()
        for id in [orphan, young] {
            try await fixture.host.open(projectId: id)
            try await fixture.host.write(projectId: id, path: "b.txt", content: Data("b".utf8), create: true)
        }

        // The orphan age is a minute; the old folder was made an hour ago.
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)],
                                              ofItemAtPath: fixture.folder + "/projects/" + orphan)
        let pass = await fixture.service.runOnce(now: Date().addingTimeInterval(30))
        #expect(pass.compressed == [packed.id])
        #expect(pass.removed == [orphan])
        #expect(!fixture.exists(packed.id) && fixture.exists(".archives/\(packed.id).zip"))
        #expect(!fixture.exists(orphan))
        #expect(fixture.exists(young), "a folder younger than the orphan age stays: its row may be on its way")
        await fixture.close()
    }
}
