import Testing
@testable import Mesh

@Suite struct NodeNameTests {
    @Test func acceptsDNSLabelLikeNames() throws {
        for name in ["gateway", "worker-1", "a", "n0de-7b", String(repeating: "x", count: 63)] {
            #expect(try NodeName(name).rawValue == name)
        }
    }

    @Test func refusesEverythingElseWithTheReason() {
        #expect(throws: NodeName.Invalid.empty) { try NodeName("") }
        #expect(throws: NodeName.Invalid.tooLong(64)) { try NodeName(String(repeating: "x", count: 64)) }
        #expect(throws: NodeName.Invalid.badCharacter("W")) { try NodeName("Worker") }
        #expect(throws: NodeName.Invalid.badCharacter(".")) { try NodeName("a.b") }
        #expect(throws: NodeName.Invalid.badCharacter("é")) { try NodeName("nodé") }
        #expect(throws: NodeName.Invalid.edgeHyphen) { try NodeName("-a") }
        #expect(throws: NodeName.Invalid.edgeHyphen) { try NodeName("a-") }
    }
}
