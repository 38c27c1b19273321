import Mesh
import Providers

/// Where an agent's model calls are made: in this process, or by an
/// `AgentTurnActor` somewhere on the mesh.
public protocol TurnRunner: Sendable {
    /// Makes the call; `forward` gets the reply's text as it streams (a
    /// runner that streams tokens another way may not call it).
    func takeTurn(_ request: ModelRequest, for agent: AgentRef, forward: @escaping @Sendable (String) -> Void) async throws -> TurnReply
}

/// Model calls in this process.
public struct LocalTurns: TurnRunner {
    let provider: any LanguageModelProvider

    public init(provider: any LanguageModelProvider) { self.provider = provider }

    public func takeTurn(_ request: ModelRequest, for agent: AgentRef, forward: @escaping @Sendable (String) -> Void) async throws -> TurnReply {
        try await TurnCall.run(request, on: provider, forward: forward)
    }
}

/// Model calls on the mesh: each agent's calls go to its virtual
/// `AgentTurnActor` (key `project/agent`), placed by load on a worker and
/// moved when its node is lost; tokens come back through `events`.
public struct MeshTurns: TurnRunner {
    let system: MeshActorSystem
    let project: String
    let events: RunEventsActor

    public init(system: MeshActorSystem, project: String, events: RunEventsActor) {
        self.system = system
        self.project = project
        self.events = events
    }

    public func takeTurn(_ request: ModelRequest, for agent: AgentRef, forward: @escaping @Sendable (String) -> Void) async throws -> TurnReply {
        let turn = TurnRequest(request, agent: agent)
        let events = self.events
        return try await system.virtualActors.call(AgentTurnActor.self, kind: AgentTurnActor.kind, key: "\(project)/\(agent)") {
            try await $0.takeTurn(turn, events: events)
        }
    }
}
