import Testing
@testable import Mesh

/// The duplicate-connection decision, alone: every case of its table.
@Suite struct ConnectionChoiceTests {
    let local = try! NodeName("m-node")
    let lower = NodeID(name: try! NodeName("a-node"), incarnation: 5)
    let higher = NodeID(name: try! NodeName("z-node"), incarnation: 5)

    func decide(_ existing: ConnectionChoice.Existing?, _ incoming: NodeID) -> ConnectionChoice {
        ConnectionChoice.decide(existing: existing, incoming: incoming, local: local, connectTimeout: .seconds(5))
    }

    @Test func theTable() {
        #expect(decide(nil, higher) == .adopt)
        // Restarts: a later start replaces, an earlier one is refused.
        #expect(decide(.init(peer: NodeID(name: higher.name, incarnation: 4), age: .seconds(1)), higher) == .replaceRestarted)
        #expect(decide(.init(peer: NodeID(name: higher.name, incarnation: 6), age: .seconds(1)), higher) == .refuseEarlierStart)
        // Both dialled: the lower name's connection wins on both sides.
        #expect(decide(.init(peer: lower, age: .seconds(1)), lower) == .adoptAndRetireExisting)
        #expect(decide(.init(peer: higher, age: .seconds(1)), higher) == .keepExisting)
        #expect(decide(.init(peer: nil, age: .seconds(1)), higher) == .keepExisting, "our dial is young")
        // Our dial hangs (a partition): the peer's connection is taken.
        #expect(decide(.init(peer: nil, age: .seconds(3)), higher) == .adoptAndRetireExisting)
        #expect(decide(.init(peer: higher, age: .seconds(3)), higher) == .keepExisting, "an established dial is kept however old")
    }

    @Test func bothSidesAgreeWhenTheirDialsAreYoung() {
        // Each side's view of the other's incoming connection: exactly one keeps its own.
        let a = try! NodeName("a-node"), z = try! NodeName("z-node")
        let atA = ConnectionChoice.decide(existing: .init(peer: nil, age: .milliseconds(100)), incoming: NodeID(name: z, incarnation: 1), local: a, connectTimeout: .seconds(5))
        let atZ = ConnectionChoice.decide(existing: .init(peer: nil, age: .milliseconds(100)), incoming: NodeID(name: a, incarnation: 1), local: z, connectTimeout: .seconds(5))
        #expect(atA == .keepExisting && atZ == .adoptAndRetireExisting, "a-node's dialled connection is the one on both sides")
    }
}
