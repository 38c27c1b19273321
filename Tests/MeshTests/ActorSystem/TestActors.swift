import Distributed
import Foundation
@testable import Mesh

struct Point: Codable, Equatable, Sendable {
    var x: Int
    var y: Int
}

struct Shape: Codable, Equatable, Sendable {
    enum Kind: Codable, Equatable, Sendable { case polygon(sides: Int), circle(radius: Double) }
    var name: String
    var kind: Kind
    var points: [Point]
    var tags: [String: String]
    var note: String?
    var blob: Data
}

struct NotRegistered: Codable, Sendable { var value: Int }

enum GreeterError: Error, Codable, Equatable { case refused(reason: String) }
struct UnregisteredError: Error { let detail: String }

distributed actor Greeter: Codable {
    typealias ActorSystem = MeshActorSystem
    private var received: [Int] = []

    distributed func greet(_ name: String) -> String { "Hello, \(name)!" }
    distributed func add(_ a: Int, _ b: Int) -> Int { a + b }
    distributed func echo(_ shape: Shape) -> Shape { shape }
    distributed func echoData(_ data: Data) -> Data { data }
    distributed func nothing() {}
    distributed func maybe(_ value: Int?) -> [Int]? { value.map { [$0, $0] } }
    distributed func refuse(_ reason: String) throws -> String { throw GreeterError.refused(reason: reason) }
    distributed func fail(_ detail: String) throws -> Int { throw UnregisteredError(detail: detail) }
    distributed func takeUnregistered(_ value: NotRegistered) -> Int { value.value }
    distributed func sleep(milliseconds: Int) async throws -> Int {
        try await Task.sleep(for: .milliseconds(milliseconds))
        return milliseconds
    }
    distributed func record(_ value: Int) { received.append(value) }
    distributed func store(_ data: Data) {}
    distributed func recorded() -> [Int] { received }
}

/// Calls another actor on behalf of its caller: references to actors cross the wire.
distributed actor Relay {
    typealias ActorSystem = MeshActorSystem

    distributed func relay(to greeter: Greeter, name: String) async throws -> String {
        try await greeter.greet(name) + " (via \(actorSystem.node.name))"
    }
}

/// A protocol callers can resolve without knowing the concrete actor type.
@Resolvable
protocol Greeting: DistributedActor where ActorSystem: DistributedActorSystem<any Codable> {
    distributed func greet(_ name: String) -> String
}

extension Greeter: Greeting {}
