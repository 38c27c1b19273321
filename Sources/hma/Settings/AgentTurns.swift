import Agents
import Foundation
import Logging
import Mesh

/// Agents' model calls on the mesh (docs/agents.md, "On the mesh"): every
/// node registers the `agent` kind with the demo model, which needs no key,
/// so a demo run's turns spread over the workers. Runs with a real
/// provider keep their calls on the gateway, which alone holds the keys.
enum AgentTurns {
    static func register(on mesh: MeshActorSystem, logger: Logger) {
        let demo = ModelChoice.demoProvider(environment: ProcessInfo.processInfo.environment)
        AgentTurnActor.register(on: mesh, model: demo) { key in
            // Once per agent per node: where each agent's calls run.
            logger.notice("agent turns activated here", metadata: ["agent": "\(key)"])
        }
    }
}
