import Foundation
import Testing
@testable import Storage

@Suite struct RetentionTests {
    @Test func decidesByIdleTimeAlone() throws {
        let policy = try RetentionPolicy()
        let start = Date(timeIntervalSince1970: 0)
        func at(_ days: Double, _ status: ProjectStatus = .active, compressed: Bool = false) -> RetentionAction.Kind? {
            policy.decide(status: status, lastActivity: start, compressed: compressed, now: start.addingTimeInterval(days * 86_400))
        }
        #expect(at(29.99) == nil)
        #expect(at(30) == .archive)
        #expect(at(30, .completed) == .archive)
        #expect(at(45, .archived) == nil)
        #expect(at(90, .archived) == .compress)
        #expect(at(90, .active) == .compress)
        #expect(at(120, .archived, compressed: true) == nil)
        #expect(at(180, .archived, compressed: true) == .delete)
        #expect(at(400) == .delete)
    }

    @Test func policyThresholdsMustBeOrdered() {
        #expect(throws: StorageError.self) { try RetentionPolicy(archiveAfterDays: 0) }
        #expect(throws: StorageError.self) { try RetentionPolicy(archiveAfterDays: 30, compressAfterDays: 30) }
        #expect(throws: StorageError.self) { try RetentionPolicy(archiveAfterDays: 10, compressAfterDays: 200, deleteAfterDays: 100) }
    }

    @Test func archivesCompressesThenDeletesIdleProjectsWithAFakeClock() async throws {
        let clock = ManualClock()
        let fixture = try await Fixture(clock: clock)
        let store = fixture.store
        let policy = try RetentionPolicy()
        let session = try await store.createSession(userId: fixture.user.id, title: "t")
        let idle = try await store.createProject(ownerId: fixture.user.id, name: "idle", language: "go", projectPath: "idle", sessionId: session.id, id: "idle")
        let busy = try await store.createProject(ownerId: fixture.user.id, name: "busy", language: "go", projectPath: "busy", id: "busy")

        clock.advance(days: 20)
        try await store.touchProject(id: busy.id)
        clock.advance(days: 9.9)
        #expect(try await store.applyRetention(policy) == [])

        clock.advance(days: 0.1)  // idle: 30 days; busy: 10 days
        #expect(try await store.applyRetention(policy) == [RetentionAction(projectId: "idle", projectPath: "idle", kind: .archive)])
        #expect(try await store.project(id: idle.id).status == .archived)
        #expect(try await store.applyRetention(policy) == [], "a second pass at the same time does nothing more")

        clock.advance(days: 60)  // idle: 90 days; busy: 70 days
        let compressTime = clock.now.truncatedToMilliseconds
        #expect(try await store.applyRetention(policy) == [
            RetentionAction(projectId: "idle", projectPath: "idle", kind: .compress),
            RetentionAction(projectId: "busy", projectPath: "busy", kind: .archive),
        ])
        #expect(try await store.project(id: idle.id).compressedAt == compressTime)

        clock.advance(days: 90)  // idle: 180 days; busy: 160 days
        #expect(try await store.applyRetention(policy) == [
            RetentionAction(projectId: "idle", projectPath: "idle", kind: .delete),
            RetentionAction(projectId: "busy", projectPath: "busy", kind: .compress),
        ])
        await #expect(throws: StorageError.projectNotFound(id: "idle")) { try await store.project(id: idle.id) }
        // The conversation survives its project, unlinked.
        #expect(try await store.session(id: session.id).projectId == nil)
    }

    @Test func restoringAnArchivedProjectRestartsItsRetention() async throws {
        let clock = ManualClock()
        let fixture = try await Fixture(clock: clock)
        let policy = try RetentionPolicy(archiveAfterDays: 1, compressAfterDays: 2, deleteAfterDays: 3)
        let project = try await fixture.store.createProject(ownerId: fixture.user.id, name: "p", language: "go", projectPath: "p")
        clock.advance(days: 2.5)
        #expect(try await fixture.store.applyRetention(policy).map(\.kind) == [.compress])
        let restored = try await fixture.store.setProjectStatus(id: project.id, to: .active)
        #expect(restored.compressedAt == nil)
        #expect(restored.lastActivityAt == clock.now.truncatedToMilliseconds)
        clock.advance(days: 0.5)
        #expect(try await fixture.store.applyRetention(policy) == [])
    }
}
