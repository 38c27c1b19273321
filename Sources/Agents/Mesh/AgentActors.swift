import Distributed
import Foundation
import Mesh
import Providers

/// Where an agent's model calls run on the mesh: a virtual actor (kind
/// `agent`, key `project/role path`) placed by load on a worker, which
/// calls its node's model and streams the tokens back to the run
/// (docs/agents.md, "On the mesh"). It keeps no state: the run holds every
/// agent's state on the gateway, so losing its node loses nothing but the
/// call in flight, which the run makes again on the key's next activation.
public distributed actor AgentTurnActor {
    public typealias ActorSystem = MeshActorSystem
    public static let kind = "agent"

    let model: any LanguageModelProvider

    public init(model: any LanguageModelProvider, actorSystem: MeshActorSystem) {
        self.model = model
        self.actorSystem = actorSystem
        AgentMeshTypes.register(on: actorSystem)
    }

    /// Makes the model call, sending its tokens to `events` as they arrive.
    public distributed func takeTurn(_ request: TurnRequest, events: RunEventsActor) async throws -> TurnReply {
        let agent = request.agent
        var reply = try await TurnCall.run(request.modelRequest, on: model) { text in
            Task { try? await MeshActorSystem.withOneWayDelivery { try await events.tokens(agent, text) } }
        }
        reply.node = actorSystem.node.name.rawValue
        return reply
    }

    /// The node this activation runs on (tests, status).
    public distributed func hostNode() -> String { actorSystem.node.name.rawValue }

    /// Registers the `agent` kind (placed only on workers), with the model
    /// this node calls. Every node that places agents' turns registers it
    /// too: placement reads the kind's requirement where the call starts.
    /// `onActivate` is told each key activated here (the node's log).
    public static func register(on system: MeshActorSystem, model: any LanguageModelProvider,
                                onActivate: @escaping @Sendable (String) -> Void = { _ in }) {
        AgentMeshTypes.register(on: system)
        system.kinds.register(kind, as: AgentTurnActor.self, placement: PlacementRequirement(role: .worker)) { key, system in
            onActivate(key)
            return AgentTurnActor(model: model, actorSystem: system)
        }
    }
}

/// The run's end of the token stream: on the gateway, forwarding to its sink.
public distributed actor RunEventsActor {
    public typealias ActorSystem = MeshActorSystem
    let sink: any AgentEventSink

    public init(sink: any AgentEventSink, actorSystem: MeshActorSystem) {
        self.sink = sink
        self.actorSystem = actorSystem
        AgentMeshTypes.register(on: actorSystem)
    }

    public distributed func tokens(_ agent: AgentRef, _ text: String) {
        sink.record(.token(agent, text))
    }
}

/// A project's workspace served on the node that holds its folder; agents
/// anywhere reach it through `RemoteWorkspace`.
public distributed actor WorkspaceActor {
    public typealias ActorSystem = MeshActorSystem
    let workspace: any AgentWorkspace

    public init(workspace: any AgentWorkspace, actorSystem: MeshActorSystem) {
        self.workspace = workspace
        self.actorSystem = actorSystem
        AgentMeshTypes.register(on: actorSystem)
    }

    public distributed func read(_ path: String) async throws -> String { try await workspace.read(path) }
    public distributed func exists(_ path: String) async throws -> Bool { try await workspace.exists(path) }
    public distributed func write(_ path: String, _ text: String) async throws { try await workspace.write(path, text) }
    public distributed func createFolder(_ path: String) async throws { try await workspace.createFolder(path) }
    public distributed func delete(_ path: String) async throws { try await workspace.delete(path) }
    public distributed func tree() async throws -> [String] { try await workspace.tree() }
    public distributed func run(_ command: String, timeout: Duration?, maxOutputBytes: Int) async throws -> CommandResult {
        try await workspace.run(command, timeout: timeout, maxOutputBytes: maxOutputBytes)
    }
}

/// A workspace reached through its `WorkspaceActor`, wherever it lives.
public struct RemoteWorkspace: AgentWorkspace {
    let actor: WorkspaceActor

    public init(_ actor: WorkspaceActor) { self.actor = actor }

    public func read(_ path: String) async throws -> String { try await actor.read(path) }
    public func exists(_ path: String) async throws -> Bool { try await actor.exists(path) }
    public func write(_ path: String, _ text: String) async throws { try await actor.write(path, text) }
    public func createFolder(_ path: String) async throws { try await actor.createFolder(path) }
    public func delete(_ path: String) async throws { try await actor.delete(path) }
    public func tree() async throws -> [String] { try await actor.tree() }
    public func run(_ command: String, timeout: Duration?, maxOutputBytes: Int) async throws -> CommandResult {
        try await actor.run(command, timeout: timeout, maxOutputBytes: maxOutputBytes)
    }
}

/// The types agents' calls carry over the mesh: on its allow-list
/// (docs/wire-protocol.md §7), on every node that runs agents.
public enum AgentMeshTypes {
    public static func register(on system: MeshActorSystem) {
        system.registry.register(TurnRequest.self)
        system.registry.register(TurnReply.self)
        system.registry.register(AgentRef.self)
        system.registry.register(CommandResult.self)
        system.registry.register(RunEventsActor.self)
        system.registry.register(WorkspaceActor.self)
        system.registry.register(AgentTurnActor.self)
        system.registry.register(Duration.self)
        system.registry.register(Optional<Duration>.self)
    }
}
