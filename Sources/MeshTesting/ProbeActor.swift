import Distributed
import Foundation
import Mesh

/// A distributed actor for tests and benchmarks of the mesh: echo, sleep and
/// ordered recording, hosted by in-process nodes and by `hma-mesh-node`.
public distributed actor ProbeActor {
    public typealias ActorSystem = MeshActorSystem

    /// The path `hma-mesh-node` hosts its probe at.
    public static let wellKnownPath = "/system/probe"

    private var received: [Int] = []
    private var sleepers = 0
    private var sleeperWaiters: [(Int, CheckedContinuation<Void, Never>)] = []

    public init(actorSystem: MeshActorSystem) {
        self.actorSystem = actorSystem
    }

    public distributed func echo(_ bytes: Data) -> Data { bytes }
    public distributed func add(_ a: Int, _ b: Int) -> Int { a + b }
    public distributed func sleep(milliseconds: Int) async throws -> Int {
        sleepers += 1
        let ready = sleeperWaiters.filter { $0.0 <= sleepers }
        sleeperWaiters.removeAll { $0.0 <= sleepers }
        for (_, waiter) in ready { waiter.resume() }
        defer { sleepers -= 1 }
        try await Task.sleep(for: .milliseconds(milliseconds))
        return milliseconds
    }

    /// Returns once at least `count` `sleep` calls are running.
    public distributed func waitForSleepers(_ count: Int) async {
        if sleepers >= count { return }
        await withCheckedContinuation { sleeperWaiters.append((count, $0)) }
    }
    public distributed func record(_ value: Int) { received.append(value) }
    public distributed func recorded() -> [Int] { received }
    /// One-way sink for benchmarks: counts what it gets.
    public distributed func deliver(_ bytes: Data) { received.append(bytes.count) }
    public distributed func deliveredCount() -> Int { received.count }
}
