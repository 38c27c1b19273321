import Distributed
import Foundation
import Testing
@testable import Mesh

/// Two in-process nodes on loopback, talking over real TLS sockets.
@Suite struct RemoteCallTests {
    static func pair() async throws -> (client: MeshActorSystem, server: MeshActorSystem, greeter: Greeter, remote: Greeter) {
        let server = try await startNode("server-\(UInt16.random(in: 0...UInt16.max))")
        let client = try await startNode("client-\(UInt16.random(in: 0...UInt16.max))")
        for system in [client, server] {
            system.registry.register(Shape.self)
            system.registry.register(Point.self)
            system.registry.registerError(GreeterError.self, name: "GreeterError")
        }
        let greeter = Greeter(actorSystem: server)
        let remote = try Greeter.resolve(id: greeter.id, using: client)
        return (client, server, greeter, remote)
    }

    @Test func callsWithEveryShapeOfValue() async throws {
        let (client, server, greeter, remote) = try await Self.pair()
        defer { withExtendedLifetime(greeter) {} }
        #expect(__isRemoteActor(remote))
        #expect(try await remote.greet("Ada") == "Hello, Ada!")
        #expect(try await remote.add(40, 2) == 42)
        #expect(try await remote.add(Int.min + 1, -1) == Int.min)
        let shape = Shape(name: "héxagone ⬡", kind: .polygon(sides: 6), points: [Point(x: -1, y: 2), Point(x: 3, y: -4)],
                          tags: ["a": "1", "b": ""], note: nil, blob: Data((0..<200).map { UInt8($0) }))
        #expect(try await remote.echo(shape) == shape)
        var circle = shape
        circle.kind = .circle(radius: 2.5)
        circle.note = "round"
        #expect(try await remote.echo(circle) == circle)
        #expect(try await remote.echoData(Data()) == Data())
        try await remote.nothing()
        #expect(try await remote.maybe(nil) == nil)
        #expect(try await remote.maybe(7) == [7, 7])
        try await client.shutdown()
        try await server.shutdown()
    }

    @Test func threeNodesPassActorReferencesAlong() async throws {
        let a = try await startNode("node-a"), b = try await startNode("node-b"), c = try await startNode("node-c")
        for system in [a, b, c] { system.registry.register(Greeter.self) }
        let greeterOnC = Greeter(actorSystem: c)
        let relayOnB = Relay(actorSystem: b)
        let relay = try Relay.resolve(id: relayOnB.id, using: a)
        let greeter = try Greeter.resolve(id: greeterOnC.id, using: a)
        #expect(try await relay.relay(to: greeter, name: "Grace") == "Hello, Grace! (via node-b)")
        #expect(a.associationCount == 1)  // a talked to b only; b talked to c
        #expect(b.associationCount == 2)
        withExtendedLifetime((greeterOnC, relayOnB)) {}
        for system in [a, b, c] { try await system.shutdown() }
    }

    @Test func nodesThatDialEachOtherAtOnceEndWithOneConnection() async throws {
        let a = try await startNode("dial-a"), b = try await startNode("dial-b")
        let onA = Greeter(actorSystem: a), onB = Greeter(actorSystem: b)
        let bFromA = try Greeter.resolve(id: onB.id, using: a)
        let aFromB = try Greeter.resolve(id: onA.id, using: b)
        for _ in 0..<20 {
            async let x = bFromA.add(1, 2)
            async let y = aFromB.add(3, 4)
            #expect(try await x == 3)
            #expect(try await y == 7)
        }
        // Both keep calling over whichever connection won.
        #expect(try await bFromA.greet("a") == "Hello, a!")
        #expect(try await aFromB.greet("b") == "Hello, b!")
        #expect(a.associationCount == 1 && b.associationCount == 1)
        withExtendedLifetime((onA, onB)) {}
        try await a.shutdown()
        try await b.shutdown()
    }

    @Test func resolvableProtocolsWorkAcrossNodes() async throws {
        let (client, server, greeter, _) = try await Self.pair()
        let unregistered: any Greeting = try $Greeting.resolve(id: greeter.id, using: client)
        await #expect(throws: MeshError.self) { try await unregistered.greet("refused") }
        server.registry.register(resolvableStub: $Greeting<MeshActorSystem>.self)
        let greeting: any Greeting = try $Greeting.resolve(id: greeter.id, using: client)
        #expect(try await greeting.greet("protocol") == "Hello, protocol!")
        withExtendedLifetime(greeter) {}
        try await client.shutdown()
        try await server.shutdown()
    }

    @Test func aMessageOverThePeersFrameLimitIsRefusedBeforeSending() async throws {
        let server = try await startNode("small-frames") { $0.maxFrameLength = 64 << 10 }
        let client = try await startNode("big-sender")
        let greeter = Greeter(actorSystem: server)
        let remote = try Greeter.resolve(id: greeter.id, using: client)
        #expect(try await remote.echoData(Data(count: 100)) == Data(count: 100))  // handshake done: limit known
        await #expect(throws: MeshError.self) { try await remote.echoData(Data(count: 200 << 10)) }
        #expect(try await remote.add(1, 2) == 3)  // the connection was not sacrificed
        withExtendedLifetime(greeter) {}
        try await client.shutdown()
        try await server.shutdown()
    }

    @Test func localCallsGoStraightToTheActor() async throws {
        let system = try await startNode("solo")
        let greeter = Greeter(actorSystem: system)
        let resolved = try Greeter.resolve(id: greeter.id, using: system)
        #expect(__isLocalActor(resolved))
        #expect(resolved === greeter)
        #expect(try await resolved.greet("me") == "Hello, me!")
        #expect(system.associationCount == 0)
        try await system.shutdown()
    }

    @Test func errorsThrownRemotelyArriveTypedOrDescribed() async throws {
        let (client, server, greeter, remote) = try await Self.pair()
        defer { withExtendedLifetime(greeter) {} }
        await #expect(throws: GreeterError.refused(reason: "busy")) { try await remote.refuse("busy") }
        do {
            _ = try await remote.fail("disk on fire")
            Issue.record("no error")
        } catch MeshError.remote(let type, let message) {
            #expect(type.contains("UnregisteredError"))
            #expect(message.contains("disk on fire"))
        }
        // The connection still serves after errors.
        #expect(try await remote.add(1, 1) == 2)
        try await client.shutdown()
        try await server.shutdown()
    }

    @Test func anUnknownActorIsReportedNotHung() async throws {
        let (client, server, greeter, _) = try await Self.pair()
        defer { withExtendedLifetime(greeter) {} }
        let ghost = MeshActorID(node: server.node, endpoint: server.endpoint, path: "/user/nobody")
        let proxy = try Greeter.resolve(id: ghost, using: client)
        await #expect(throws: MeshError.actorNotFound(ghost.description)) { try await proxy.greet("?") }
        // A reference to an earlier start of the node is stale.
        let stale = MeshActorID(node: NodeID(name: server.node.name, incarnation: server.node.incarnation &+ 1), endpoint: server.endpoint, path: greeter.id.path)
        let staleProxy = try Greeter.resolve(id: stale, using: client)
        await #expect(throws: MeshError.self) { try await staleProxy.greet("?") }
        // Locally, resolving an unknown id throws at once.
        #expect(throws: MeshError.self) { try Greeter.resolve(id: MeshActorID(node: server.node, endpoint: server.endpoint, path: "/nope"), using: server) }
        try await client.shutdown()
        try await server.shutdown()
    }

    @Test func argumentTypesOffTheAllowListAreRefused() async throws {
        let (client, server, greeter, remote) = try await Self.pair()
        defer { withExtendedLifetime(greeter) {} }
        await #expect(throws: MeshError.typeNotAllowed(String(reflecting: NotRegistered.self))) {
            try await remote.takeUnregistered(NotRegistered(value: 1))
        }
        server.registry.register(NotRegistered.self)
        #expect(try await remote.takeUnregistered(NotRegistered(value: 5)) == 5)
        try await client.shutdown()
        try await server.shutdown()
    }

    @Test func tenThousandCallsFromOneSenderArriveInOrder() async throws {
        let (client, server, greeter, remote) = try await Self.pair()
        defer { withExtendedLifetime(greeter) {} }
        // One-way: none waits for the previous, so only the protocol keeps them in order.
        try await MeshActorSystem.withOneWayDelivery {
            for value in 0..<10_000 { try await remote.record(value) }
        }
        let recorded = try await remote.recorded()
        #expect(recorded == Array(0..<10_000))
        try await client.shutdown()
        try await server.shutdown()
    }

    @Test func aCallPastItsDeadlineFailsWithTimeout() async throws {
        let (client, server, greeter, remote) = try await Self.pair()
        defer { withExtendedLifetime(greeter) {} }
        let start = ContinuousClock.now
        await #expect(throws: MeshError.timeout(seconds: 0.2)) {
            try await MeshActorSystem.withCallTimeout(.milliseconds(200)) { try await remote.sleep(milliseconds: 30_000) }
        }
        let elapsed = ContinuousClock.now - start
        // Far sooner than the 30 s reply would come, with room for a loaded machine.
        #expect(elapsed >= .milliseconds(200) && elapsed < .seconds(10), "took \(elapsed)")
        #expect(try await remote.sleep(milliseconds: 1) == 1)
        try await client.shutdown()
        try await server.shutdown()
    }

    @Test func concurrentCallsFromManyTasks() async throws {
        let (client, server, greeter, remote) = try await Self.pair()
        defer { withExtendedLifetime(greeter) {} }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<64 {
                group.addTask {
                    for index in 0..<100 {
                        let sum = try await remote.add(task, index)
                        #expect(sum == task + index)
                    }
                }
            }
            try await group.waitForAll()
        }
        try await client.shutdown()
        try await server.shutdown()
    }

    @Test func callsInFlightFailAtOnceWhenThePeerGoesAway() async throws {
        let (client, server, greeter, remote) = try await Self.pair()
        defer { withExtendedLifetime(greeter) {} }
        let start = ContinuousClock.now
        let results = try await withThrowingTaskGroup(of: (any Error)?.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    do { _ = try await remote.sleep(milliseconds: 60_000); return nil } catch { return error }
                }
            }
            // Every call is queued or running on the server before it goes away.
            _ = try await remote.add(0, 0)
            try await server.shutdown()
            var errors: [(any Error)?] = []
            for try await result in group { errors.append(result) }
            return errors
        }
        let elapsed = ContinuousClock.now - start
        print("100 in-flight calls failed \(elapsed) after the peer shut down (their replies were 60 s away)")
        #expect(results.allSatisfy { if case MeshError.nodeUnreachable? = $0 as? MeshError { true } else { false } })
        // Far sooner than the replies, with room for a loaded machine.
        #expect(elapsed < .seconds(20))
        try await client.shutdown()
    }

    @Test func theNextCallReconnectsAfterThePeerRestarts() async throws {
        let client = try await startNode("client-r")
        let first = try await startNode("server-r")
        let greeter = Greeter(actorSystem: first)
        let remote = try Greeter.resolve(id: greeter.id, using: client)
        #expect(try await remote.greet("one") == "Hello, one!")
        let port = first.endpoint.port
        try await first.shutdown()
        await #expect(throws: MeshError.self) { try await remote.greet("gone") }

        let second = try await startNode("server-r") { $0.bindPort = port }
        let reborn = Greeter(actorSystem: second)
        let again = try Greeter.resolve(id: reborn.id, using: client)
        #expect(try await again.greet("two") == "Hello, two!")
        // The old reference names the previous start of the node: stale.
        await #expect(throws: MeshError.self) { try await remote.greet("old") }
        withExtendedLifetime((greeter, reborn)) {}
        try await client.shutdown()
        try await second.shutdown()
    }
}
