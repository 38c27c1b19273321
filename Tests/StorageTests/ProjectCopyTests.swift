import Foundation
import Testing
@testable import Storage

/// Projects' durable copies (`project_copy_file`, schema v5).
@Suite struct ProjectCopyTests {
    static func file(_ path: String, _ text: String) -> CopiedFile { CopiedFile(path: path, content: Data(text.utf8)) }

    @Test func changesAreAppliedAndTheDigestsFollowTheContent() async throws {
        let fixture = try await Fixture()
        let store = fixture.store
        let project = try await store.createProject(ownerId: fixture.user.id, name: "p", language: "go", projectPath: "p").id
        #expect(try await store.projectCopyDigests(projectId: project).isEmpty)
        try await store.updateProjectCopy(projectId: project, ProjectCopyChanges(written: [Self.file("a.txt", "a"), Self.file(".git/HEAD", "ref")]))
        try await store.updateProjectCopy(projectId: project, ProjectCopyChanges(written: [Self.file("a.txt", "A")], removed: [".git/HEAD", "never.txt"]))
        #expect(try await store.projectCopyDigests(projectId: project) == ["a.txt": CopiedFile.digest(Data("A".utf8))])
        #expect(try await store.projectCopyFiles(projectId: project, after: nil, limit: 10) == [Self.file("a.txt", "A")])
        #expect(try await store.projectCopySize(projectId: project) == (1, 1))
    }

    @Test func filesArePagedInPathOrder() async throws {
        let fixture = try await Fixture()
        let store = fixture.store
        let project = try await store.createProject(ownerId: fixture.user.id, name: "p", language: "go", projectPath: "p").id
        let written = (0..<5).map { Self.file("f\($0)", "\($0)") }
        try await store.updateProjectCopy(projectId: project, ProjectCopyChanges(written: written.reversed()))
        let first = try await store.projectCopyFiles(projectId: project, after: nil, limit: 2)
        let rest = try await store.projectCopyFiles(projectId: project, after: first.last?.path, limit: 10)
        #expect((first + rest).map(\.path) == ["f0", "f1", "f2", "f3", "f4"])
    }

    @Test func aSnapshotAndItsCopyAreSavedTogetherOrNotAtAll() async throws {
        var limits = StoreLimits()
        limits.maxProjectCopyBytes = 10
        let fixture = try await Fixture(limits: limits)
        let store = fixture.store
        let project = try await store.createProject(ownerId: fixture.user.id, name: "p", language: "go", projectPath: "p").id
        try await store.saveAgentRun(projectId: project, snapshot: Data("step 1".utf8), copy: ProjectCopyChanges(written: [Self.file("a", "12345")]))
        #expect(try await store.agentRun(projectId: project) == Data("step 1".utf8))

        // Over the copy's limit: neither the copy nor the snapshot changes.
        await #expect(throws: StorageError.messageTooLarge(bytes: 11, limit: 10)) {
            try await store.saveAgentRun(projectId: project, snapshot: Data("step 2".utf8),
                                         copy: ProjectCopyChanges(written: [Self.file("b", "123456")]))
        }
        #expect(try await store.agentRun(projectId: project) == Data("step 1".utf8))
        #expect(try await store.projectCopyDigests(projectId: project).keys.sorted() == ["a"])
    }

    @Test func badPathsAndUnknownProjectsAreRefused() async throws {
        let fixture = try await Fixture()
        let store = fixture.store
        let project = try await store.createProject(ownerId: fixture.user.id, name: "p", language: "go", projectPath: "p").id
        for path in ["", String(repeating: "x", count: 4097)] {
            await #expect(throws: StorageError.self) {
                try await store.updateProjectCopy(projectId: project, ProjectCopyChanges(written: [Self.file(path, "x")]))
            }
        }
        await #expect(throws: StorageError.projectNotFound(id: "nope")) {
            try await store.updateProjectCopy(projectId: "nope", ProjectCopyChanges(written: [Self.file("a", "x")]))
        }
        #expect(try await store.projectCopyDigests(projectId: project).isEmpty)
    }
}
