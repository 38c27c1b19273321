import Foundation
import Testing
@testable import Storage

@Suite struct ProjectTests {
    @Test func createsAnActiveProjectLinkedToItsSession() async throws {
        let fixture = try await Fixture()
        let session = try await fixture.store.createSession(userId: fixture.user.id, title: "t")
        let project = try await fixture.store.createProject(
            ownerId: fixture.user.id, name: "todo", language: "typescript", projectPath: "projects/todo",
            sessionId: session.id, id: "p-1")
        #expect(project.status == .active)
        #expect(project.sessionId == session.id)
        #expect(project.compressedAt == nil)
        #expect(try await fixture.store.session(id: session.id).projectId == "p-1")
        #expect(try await fixture.store.projects(ownerId: fixture.user.id) == [project])
        await #expect(throws: StorageError.duplicateId(kind: "project", id: "p-1")) {
            try await fixture.store.createProject(ownerId: fixture.user.id, name: "x", language: "x", projectPath: "x", id: "p-1")
        }
    }

    @Test func followsTheAllowedStatusTransitions() async throws {
        let fixture = try await Fixture()
        let p = try await fixture.store.createProject(ownerId: fixture.user.id, name: "p", language: "go", projectPath: "p")
        #expect(try await fixture.store.setProjectStatus(id: p.id, to: .completed).status == .completed)
        #expect(try await fixture.store.setProjectStatus(id: p.id, to: .archived).status == .archived)
        await #expect(throws: StorageError.invalidStatusTransition(from: .archived, to: .completed)) {
            try await fixture.store.setProjectStatus(id: p.id, to: .completed)
        }
        #expect(try await fixture.store.project(id: p.id).status == .archived)
        #expect(try await fixture.store.setProjectStatus(id: p.id, to: .active).status == .active)
        // Setting the current status again is a no-op, not an error.
        #expect(try await fixture.store.setProjectStatus(id: p.id, to: .active).status == .active)
    }

    @Test func transitionTableIsExactlyTheDocumentedOne() {
        let allowed: Set<String> = ["active>completed", "active>archived", "completed>active", "completed>archived", "archived>active"]
        for from in ProjectStatus.allCases {
            for to in ProjectStatus.allCases {
                #expect(from.canTransition(to: to) == allowed.contains("\(from.rawValue)>\(to.rawValue)"))
            }
        }
    }

    @Test func unknownProjectsAndOwnersAreReported() async throws {
        let fixture = try await Fixture()
        await #expect(throws: StorageError.projectNotFound(id: "nope")) { try await fixture.store.project(id: "nope") }
        await #expect(throws: StorageError.projectNotFound(id: "nope")) { try await fixture.store.setProjectStatus(id: "nope", to: .completed) }
        await #expect(throws: StorageError.projectNotFound(id: "nope")) { try await fixture.store.touchProject(id: "nope") }
        await #expect(throws: StorageError.userNotFound(id: "ghost")) {
            try await fixture.store.createProject(ownerId: "ghost", name: "p", language: "go", projectPath: "p")
        }
        await #expect(throws: StorageError.sessionNotFound(id: "ghost")) {
            try await fixture.store.createProject(ownerId: fixture.user.id, name: "p", language: "go", projectPath: "p", sessionId: "ghost")
        }
        #expect(try await fixture.count("project_meta") == 0)
    }
}
