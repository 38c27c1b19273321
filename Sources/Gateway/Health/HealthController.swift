import Foundation
import Hummingbird
import Mesh
import Storage

/// `GET /health`: readiness of this node. 200 with `"status": "ok"` when every
/// check passes, 503 with `"status": "unavailable"` and the failing check's
/// error otherwise, so a load balancer can take the node out of rotation.
struct HealthController: Sendable {
    let store: Store
    /// This node's mesh, when it runs one.
    var mesh: MeshActorSystem? = nil

    struct Check: Codable, Sendable {
        var status: String
        var latencyMs: Double
        var schema: String?
        var node: String?
        var endpoint: String?
        var error: String?
    }

    struct Report: ResponseEncodable, Sendable {
        var status: String
        var version: String
        var checks: [String: Check]
    }

    func register(on router: Router<some RequestContext>) {
        router.get("/health") { _, _ -> EditedResponse<Report> in
            let report = await self.report()
            return EditedResponse(status: report.status == "ok" ? .ok : .serviceUnavailable, response: report)
        }
    }

    func report() async -> Report {
        var checks = ["database": await checkDatabase()]
        if let mesh {
            checks["mesh"] = Check(status: "ok", latencyMs: 0, node: mesh.node.description, endpoint: mesh.endpoint.description)
        }
        return Report(
            status: checks.values.allSatisfy { $0.status == "ok" } ? "ok" : "unavailable",
            version: HMAVersion.current,
            checks: checks)
    }

    private func checkDatabase() async -> Check {
        let start = ContinuousClock.now
        do {
            try await store.check()
            let schema = try await store.schemaVersion()
            return Check(status: "ok", latencyMs: Self.milliseconds(since: start), schema: schema)
        } catch {
            return Check(status: "error", latencyMs: Self.milliseconds(since: start), error: "\(error)")
        }
    }

    private static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }
}
