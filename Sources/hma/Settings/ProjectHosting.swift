import ArgumentParser
import Foundation
import Gateway
import Logging
import Mesh
import Workspace

/// Where a node that holds projects (`hma dev`, `hma worker`) keeps them
/// and how it isolates them: `<data dir>/projects` and the `sandbox.kind`
/// setting (docs/architecture.md, "Projects on workers").
struct ProjectHosting {
    let root: String
    let sandbox: SandboxConfiguration

    /// Reads and checks the settings before the node starts: a data dir
    /// the projects' uids cannot reach is refused now rather than at each
    /// project's first command.
    init(settings: NodeSettings) throws {
        var sandbox = SandboxConfiguration()
        let sandboxKind = settings.string("sandbox.kind", default: "")
        if !sandboxKind.isEmpty {
            guard let kind = SandboxKind(rawValue: sandboxKind) else { throw ValidationError("sandbox.kind is bwrap, docker or none") }
            sandbox.kind = kind
        }
        root = (settings.dataDirectory as NSString).appendingPathComponent("projects")
        if (sandbox.kind ?? SandboxFactory.defaultKind(configuration: sandbox)) == .bwrap {
            do { try BwrapSandbox.checkReachable(root) } catch { throw ValidationError("\(error) (or --data-dir elsewhere)") }
        }
        self.sandbox = sandbox
    }

    /// The node's project host, at the path gateways look for it.
    func start(on mesh: MeshActorSystem, logger: Logger) -> ProjectHostActor {
        ProjectHostActor.start(root: root, sandbox: sandbox, logger: logger, actorSystem: mesh)
    }
}
