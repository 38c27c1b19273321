import Foundation
import Testing
@testable import Storage

/// Where each project's folder lives (`project_host`, schema v4).
@Suite struct ProjectHostTests {
    @Test func aPlacementIsKeptReplacedAndCountedPerNode() async throws {
        let fixture = try await Fixture()
        let store = fixture.store
        var ids: [String] = []
        for name in ["a", "b", "c"] {
            ids.append(try await store.createProject(ownerId: fixture.user.id, name: name, language: "go", projectPath: name).id)
        }
        #expect(try await store.projectHost(projectId: ids[0]) == nil, "never placed: the gateway's own host")
        try await store.setProjectHost(projectId: ids[0], node: "w1")
        try await store.setProjectHost(projectId: ids[1], node: "w1")
        try await store.setProjectHost(projectId: ids[2], node: "w2")
        #expect(try await store.projectHost(projectId: ids[0]) == "w1")
        #expect(try await store.projectCountsByHost() == ["w1": 2, "w2": 1])
        try await store.setProjectHost(projectId: ids[1], node: "w2")
        #expect(try await store.projectCountsByHost() == ["w1": 1, "w2": 2])
        await #expect(throws: StorageError.projectNotFound(id: "nope")) {
            try await store.setProjectHost(projectId: "nope", node: "w1")
        }
    }

    @Test func drainedNodesAreListedUntilUndrained() async throws {
        let store = try await Fixture().store
        #expect(try await store.drainedNodes().isEmpty)
        try await store.drainNode("w1")
        try await store.drainNode("w1")
        try await store.drainNode("w2")
        #expect(try await store.drainedNodes() == ["w1", "w2"])
        #expect(try await store.undrainNode("w1"))
        #expect(try await store.undrainNode("w1") == false)
        #expect(try await store.drainedNodes() == ["w2"])
    }
}
