import Testing
@testable import Mesh

@Suite struct PlacementPolicyTests {
    func node(_ name: String, _ roles: NodeRoles = .worker, labels: [String: String] = [:], actors: Int? = 0, rate: Double = 0) -> PlacementCandidate {
        PlacementCandidate(name: try! NodeName(name), roles: roles, labels: labels,
                           load: actors.map { NodeLoad(hostedActors: $0, callsPerSecond: rate) })
    }

    @Test func onlyNodesWithTheRoleAndLabelsAreChosen() {
        let nodes = [node("gw", .gateway), node("w1", labels: ["zone": "eu"]), node("w2", labels: ["zone": "us", "gpu": "yes"])]
        #expect(Placement.choose(for: "k", requirement: .init(role: .gateway), among: nodes)?.rawValue == "gw")
        #expect(Placement.choose(for: "k", requirement: .init(role: .worker, labels: ["gpu": "yes"]), among: nodes)?.rawValue == "w2")
        #expect(Placement.choose(for: "k", requirement: .init(labels: ["zone": "eu"]), among: nodes)?.rawValue == "w1")
        #expect(Placement.choose(for: "k", requirement: .init(labels: ["zone": "asia"]), among: nodes) == nil)
        #expect(Placement.choose(for: "k", requirement: .init(role: .worker), among: [node("gw", .gateway)]) == nil)
    }

    @Test func theLeastLoadedNodeWinsCountingActorsAndCallRate() {
        #expect(Placement.choose(for: "k", requirement: .init(), among: [node("a", actors: 5), node("b", actors: 2), node("c", actors: 9)])?.rawValue == "b")
        // 200 calls/s weigh as much as four actors.
        #expect(Placement.choose(for: "k", requirement: .init(), among: [node("a", actors: 1, rate: 200), node("b", actors: 3)])?.rawValue == "b")
    }

    @Test func nodesWithUnknownLoadAreUsedOnlyWhenNothingElseFits() {
        #expect(Placement.choose(for: "k", requirement: .init(), among: [node("a", actors: nil), node("b", actors: 50)])?.rawValue == "b")
        #expect(Placement.choose(for: "k", requirement: .init(), among: [node("a", actors: nil)])?.rawValue == "a")
    }

    @Test func aDrainedNodeIsChosenOnlyWhenNothingElseFits() {
        let drained = PlacementCandidate(name: try! NodeName("d"), roles: .worker, labels: [:],
                                         load: NodeLoad(hostedActors: 0, callsPerSecond: 0, draining: true))
        #expect(Placement.choose(for: "k", requirement: .init(), among: [drained, node("busy", actors: 40)])?.rawValue == "busy")
        #expect(Placement.choose(for: "k", requirement: .init(), among: [drained, node("unknown", actors: nil)])?.rawValue == "unknown")
        #expect(Placement.choose(for: "k", requirement: .init(), among: [drained])?.rawValue == "d")
    }

    @Test func aLoadFromANodeThatKnowsNoDrainingDecodesAsNotDraining() throws {
        struct OlderLoad: Codable { var hostedActors: Int; var callsPerSecond: Double }
        let bytes = try BinaryEncoder().encode(OlderLoad(hostedActors: 3, callsPerSecond: 1.5))
        let load = try BinaryDecoder().decode(NodeLoad.self, from: bytes)
        #expect(load == NodeLoad(hostedActors: 3, callsPerSecond: 1.5, draining: false))
        let draining = NodeLoad(hostedActors: 1, callsPerSecond: 0, draining: true)
        #expect(try BinaryDecoder().decode(NodeLoad.self, from: try BinaryEncoder().encode(draining)) == draining)
    }

    @Test func equallyLoadedNodesShareKeysAndAKeyPrefersOneNode() {
        let nodes = ["a", "b", "c", "d"].map { node($0) }
        var counts: [String: Int] = [:]
        for index in 0..<4000 {
            let chosen = Placement.choose(for: "key-\(index)", requirement: .init(), among: nodes)!.rawValue
            counts[chosen, default: 0] += 1
            #expect(Placement.choose(for: "key-\(index)", requirement: .init(), among: nodes.reversed())?.rawValue == chosen)
        }
        for (name, count) in counts { #expect((800...1200).contains(count), "node \(name) got \(count) of 4000 keys") }
    }
}
