// make bench-agents: how close a run of the agent hierarchy comes to its
// critical path, against running the same calls one at a time (the earlier
// Python version's effective behaviour: a blocking RUN held every agent),
// and what the runtime adds to each model call.
//
// A scripted model with a fixed latency per call builds 40 files in 8
// folders: master → root manager → 8 folder managers → 5 coders each. The
// critical path is the longest chain of calls that depend on each other
// (10 calls: delegate, create, delegate, create, delegate, change, finish,
// finish, finish, finish) × the latency. "Overhead per call" is the time
// between a coder's model call returning and its next call starting (the
// action's parse and checks, the file write, the events, the journal-free
// bookkeeping, the next prompt with the project tree): measured on one
// coder making 60 calls alone with an instant model (the runtime's own
// cost), and in the 40-file build with an instant model (where it also
// waits behind the other agents' work on 2 cores).
import Agents
import BenchmarkReport
import Foundation
import Logging
import Mesh
import Providers
import Synchronization
import Workspace

let latency = Duration.milliseconds(100)
let folders = (1...8).map { "pkg\($0)" }
let filesPerFolder = 5
let criticalPathCalls = 10

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
}

/// Answers every agent's prompt after `latency`; one call at a time when `sequential`.
final class BenchModel: LanguageModelProvider {
    let name = "bench"
    let latency: Duration
    let sequential: Bool
    /// One coder making this many calls (the isolated overhead run), or 0.
    let singleCoderCalls: Int
    private let gate = Mutex<Bool>(false)
    private let calls = Mutex<[(agent: String, start: ContinuousClock.Instant, end: ContinuousClock.Instant)]>([])

    init(latency: Duration, sequential: Bool, singleCoderCalls: Int = 0) {
        self.latency = latency
        self.sequential = sequential
        self.singleCoderCalls = singleCoderCalls
    }

    var callCount: Int { calls.withLock { $0.count } }

    /// Gaps between one call of an agent ending and its next starting.
    var continuationGaps: [Double] {
        let all = calls.withLock { $0 }
        var gaps: [Double] = []
        for agent in Set(all.map(\.agent)) where agent.hasPrefix("coder") {
            let mine = all.filter { $0.agent == agent }.sorted { $0.start < $1.start }
            for (previous, next) in zip(mine, mine.dropFirst()) {
                gaps.append(Double((next.start - previous.end).components.attoseconds) / 1e15 + Double((next.start - previous.end).components.seconds) * 1000)
            }
        }
        return gaps
    }

    static func single(agent: String, prompt: String, calls: Int) -> String {
        if agent == "master" { return prompt.contains("[manager (Task:") ? #"FINISH PROMPT="built""# : #"DELEGATE PROMPT="build it""# }
        if agent == "manager" {
            if prompt.contains("Your task:") && !prompt.contains("CREATE succeeded") { return #"CREATE file "one.py""# }
            if prompt.contains("CREATE succeeded") && !prompt.contains("DELEGATE succeeded") { return #"DELEGATE file "one.py" PROMPT="write it""# }
            return #"FINISH PROMPT="done""#
        }
        let call = prompt.range(of: "(call ").flatMap { Int(prompt[$0.upperBound...].prefix { $0.isNumber }) } ?? 1
        return call >= calls ? #"FINISH PROMPT="written""# : "CHANGE CONTENT=\"x = \(call)\\n\""
    }

    static func reply(agent: String, prompt: String) -> String {
        if agent == "master" { return prompt.contains("[manager (Task:") ? #"FINISH PROMPT="built""# : #"DELEGATE PROMPT="build it""# }
        if agent == "manager" {
            if prompt.contains("Your task:") && !prompt.contains("CREATE succeeded") {
                return "CREATE " + folders.map { "folder \"\($0)\"" }.joined(separator: ", ")
            }
            if prompt.contains("CREATE succeeded") && !prompt.contains("DELEGATE succeeded") {
                return "DELEGATE " + folders.map { "folder \"\($0)\" PROMPT=\"build \($0)\"" }.joined(separator: ", ")
            }
            return prompt.contains("Nobody is working for you now") ? #"FINISH PROMPT="all folders""# : "WAIT"
        }
        if agent.hasPrefix("manager ") {
            let folder = String(agent.dropFirst("manager ".count))
            let files = (1...filesPerFolder).map { "\(folder)/m\($0).py" }
            if prompt.contains("Your task:") && !prompt.contains("CREATE succeeded") {
                return "CREATE " + files.map { "file \"\($0)\"" }.joined(separator: ", ")
            }
            if prompt.contains("CREATE succeeded") && !prompt.contains("DELEGATE succeeded") {
                return "DELEGATE " + files.map { "file \"\($0)\" PROMPT=\"write it\"" }.joined(separator: ", ")
            }
            return prompt.contains("Nobody is working for you now") ? #"FINISH PROMPT="folder done""# : "WAIT"
        }
        return prompt.contains("CHANGE succeeded") ? #"FINISH PROMPT="written""# : #"CHANGE CONTENT="def f():\n    return 1\n""#
    }

    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ProviderEvent, any Error> {
        let agent = DemoProvider.agent(in: request) ?? "?"
        let prompt = request.messages.last?.text ?? ""
        let nowPart = prompt.range(of: "# Now").map { String(prompt[$0.lowerBound...]) } ?? prompt
        let context = prompt
        return AsyncThrowingStream { continuation in
            let task = Task {
                if sequential { while gate.withLock({ taken in defer { taken = true }; return taken }) { await Task.yield() } }
                let start = ContinuousClock.now
                try? await Task.sleep(for: latency)
                let text = singleCoderCalls > 0
                    ? Self.single(agent: agent, prompt: agent.hasPrefix("coder") ? nowPart : context, calls: singleCoderCalls)
                    : Self.reply(agent: agent, prompt: agent.hasPrefix("coder") ? nowPart : context)
                continuation.yield(.textDelta(text))
                continuation.yield(.usage(Usage(inputTokens: prompt.count / 4, outputTokens: text.count / 4, estimated: false)))
                continuation.yield(.finish(.stop))
                calls.withLock { $0.append((agent, start, ContinuousClock.now)) }
                if sequential { gate.withLock { $0 = false } }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

final class NullSink: AgentEventSink { func record(_ event: AgentEvent) {} }

struct Measured {
    var wall: Duration
    var calls: Int
    var gaps: [Double]
}

func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }

/// One build of the 40-file project; on the mesh when `nodes` > 1.
func build(sequential: Bool, latency: Duration, nodes: Int, singleCoderCalls: Int = 0) async throws -> Measured {
    let root = NSTemporaryDirectory() + "hma-bench-agents-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    var sandboxConfiguration = SandboxConfiguration()
    sandboxConfiguration.kind = SandboxKind.none  // no commands run: files only
    let sandbox = try SandboxFactory.make(projectRoot: root, projectID: "bench", uid: 0, configuration: sandboxConfiguration)
    let workspace = LocalWorkspace(files: try ProjectFiles(root: root), sandbox: sandbox)
    let model = BenchModel(latency: latency, sequential: sequential, singleCoderCalls: singleCoderCalls)
    var configuration = RunConfiguration()
    configuration.startPhase = .implementation
    configuration.coderTurnLimit = 100
    let templates = try PromptTemplates.load(directory: nil)
    var systems: [MeshActorSystem] = []
    var turns: (any TurnRunner)?
    if nodes > 1 {
        let ca = try CertificateAuthority.makeCA()
        for index in 0..<nodes {
            let name = try NodeName("bench-agents-\(index)")
            let issued = try CertificateAuthority.issueNode(name, roles: .member, addresses: ["127.0.0.1"], caCertificatePEM: ca.certificatePEM, caPrivateKeyPEM: ca.privateKeyPEM)
            var settings = MeshSettings(name: name, roles: index == 0 ? [.gateway] : [.worker], credentials: NodeCredentials(
                caCertificatePEM: ca.certificatePEM, certificatePEM: issued.certificatePEM, privateKeyPEM: issued.privateKeyPEM))
            settings.defaultCallTimeout = .seconds(120)
            var logger = Logger(label: "bench")
            logger.logLevel = .critical
            let system = try await MeshActorSystem.start(settings, logger: logger)
            AgentTurnActor.register(on: system, model: model)
            if index > 0 { try await system.cluster.join([systems[0].endpoint]) }
            systems.append(system)
        }
        for system in systems {
            while system.cluster.members.filter({ $0.status == .up }).count < nodes { try await Task.sleep(for: .milliseconds(20)) }
        }
        turns = MeshTurns(system: systems[0], project: UUID().uuidString, events: RunEventsActor(sink: NullSink(), actorSystem: systems[0]))
    }
    let run = ProjectRun(configuration: configuration, model: AgentModel(provider: model, providerName: "bench", model: "bench"),
                         workspace: workspace, sink: NullSink(), templates: templates, turns: turns)
    let start = ContinuousClock.now
    await run.start("40 files")
    let outcome = try await run.waitForOutcome()
    let wall = ContinuousClock.now - start
    guard case .completed = outcome else { fatalError("the benchmark run ended with \(outcome)") }
    for system in systems { try? await system.shutdown() }
    sandbox.shutdown()
    return Measured(wall: wall, calls: model.callCount, gaps: model.continuationGaps)
}

let runs = 5
var rows: [(String, Double, Double, Int)] = []
var ratios: [Double] = []
var isolated: [Double] = []
for _ in 0..<3 { isolated += try await build(sequential: false, latency: .zero, nodes: 1, singleCoderCalls: 60).gaps }
print("one coder alone, 60 calls: overhead per call p50 \(String(format: "%.2f", percentile(isolated, 0.5))) ms, p99 \(String(format: "%.2f", percentile(isolated, 0.99))) ms")
for nodes in [1, 3] {
    var walls: [Double] = []
    var calls = 0
    for _ in 0..<runs {
        let measured = try await build(sequential: false, latency: latency, nodes: nodes)
        walls.append(seconds(measured.wall))
        calls = measured.calls
    }
    let overhead = try await build(sequential: false, latency: .zero, nodes: nodes)
    let wall = percentile(walls, 0.5)
    let critical = seconds(latency) * Double(criticalPathCalls)
    ratios.append(wall / critical)
    rows.append(("\(nodes) node\(nodes == 1 ? "" : "s")", wall, percentile(overhead.gaps, 0.5), calls))
    print("nodes \(nodes): wall p50 \(String(format: "%.2f", wall)) s over \(runs) runs, \(calls) calls, wall/critical \(String(format: "%.2f", wall / critical)), overhead p50 \(String(format: "%.2f", percentile(overhead.gaps, 0.5))) ms")
}
let sequential = try await build(sequential: true, latency: latency, nodes: 1)
let sequentialWall = seconds(sequential.wall)
print("sequential (one call at a time): \(String(format: "%.2f", sequentialWall)) s, \(sequential.calls) calls")
let closing = "agents: wall/critical-path \(String(format: "%.2f", ratios[0])), overhead per call p50 \(String(format: "%.1f", percentile(isolated, 0.5))) ms"
print(closing)
let critical = seconds(latency) * Double(criticalPathCalls)
try writeBenchmarkSection(
    name: "agents", command: "make bench-agents",
    detail: "scripted model, \(Int(seconds(latency) * 1000)) ms per call; 40 files in 8 folders; wall time p50 of \(runs) runs",
    summary: [closing, "sequential run (one call at a time) \(String(format: "%.2f", sequentialWall)) s: \(String(format: "%.1f", sequentialWall / rows[0].1))× the hierarchy's wall time",
              "overhead per call, one coder alone: p50 \(String(format: "%.2f", percentile(isolated, 0.5))) ms, p99 \(String(format: "%.2f", percentile(isolated, 0.99))) ms"],
    table: ["| run | wall time (p50) | critical path | wall / critical path | gap between a coder's calls with an instant model, 40 coders at once (p50) | model calls |", "|---|---|---|---|---|---|"]
        + rows.map { "| \($0.0) | \(String(format: "%.2f", $0.1)) s | \(String(format: "%.2f", critical)) s | \(String(format: "%.2f", $0.1 / critical)) | \(String(format: "%.2f", $0.2)) ms | \($0.3) |" }
        + ["| sequential, 1 node (the earlier version's behaviour) | \(String(format: "%.2f", sequentialWall)) s | \(String(format: "%.2f", critical)) s | \(String(format: "%.2f", sequentialWall / critical)) | — | \(sequential.calls) |"])
