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

extension NodeNameTests {
    /// The same shape as a node name on the wire, without its checks.
    struct UncheckedName: Codable { var rawValue: String }

    @Test func decodedNamesPassTheSameChecks() throws {
        for bad in ["", "Zz!", "-a", String(repeating: "x", count: 64)] {
            let bytes = try BinaryEncoder().encode(UncheckedName(rawValue: bad))
            #expect(throws: (any Error).self, "\(bad)") { _ = try BinaryDecoder().decode(NodeName.self, from: bytes) }
        }
        let good = try BinaryEncoder().encode(try NodeName("worker-2"))
        #expect(try BinaryDecoder().decode(NodeName.self, from: good).rawValue == "worker-2")
        #expect(try BinaryEncoder().encode(UncheckedName(rawValue: "worker-2")) == good, "the wire form is unchanged")
    }
}
