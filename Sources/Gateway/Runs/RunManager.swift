import Agents
import Foundation
import Logging
import Mesh
import Storage

/// The projects' agent runs on this gateway (docs/architecture.md, "Runs"):
/// each run's state is here, its files on the project's host (through the
/// mesh), its journal in the database. After a crash, `resumeUnfinished`
/// continues every run that was working.
public actor RunManager {
    struct ActiveRun {
        let id: UUID
        let run: ProjectRun
        let router: RunEventRouter
        let hub: SessionHub
        let ownerId: String
    }

    let store: Store
    let hubs: SessionHubs
    let hosts: ProjectHosts
    let node: String
    let metrics: GatewayMetrics
    let logger: Logger
    let environment: [String: String]
    /// Runs one user may have working at once.
    let maxRunsPerUser: Int
    /// What a restart does with a run that was working (docs/operations.md,
    /// "Runs after a restart").
    public enum RestartPolicy: String, Sendable {
        /// Continue at once from the last completed step.
        case resume
        /// Hold it, tell the person, and continue when they answer.
        case ask
    }
    let onRestart: RestartPolicy
    private var runs: [String: ActiveRun] = [:]
    /// Runs held after a restart (policy `ask`) until the person answers.
    private var held: [String: RunSnapshot] = [:]
    private var accepting = true

    init(store: Store, hubs: SessionHubs, hosts: ProjectHosts, node: String, metrics: GatewayMetrics,
         environment: [String: String], maxRunsPerUser: Int, onRestart: RestartPolicy = .resume, logger: Logger) {
        self.store = store
        self.hubs = hubs
        self.hosts = hosts
        self.node = node
        self.metrics = metrics
        self.environment = environment
        self.maxRunsPerUser = maxRunsPerUser
        self.onRestart = onRestart
        self.logger = logger
    }

    /// Starts the agents on `request` in a new project.
    func start(project: ProjectMeta, sessionId: String, request: String, choice: ModelChoice.Request) async throws {
        try checkRoom(for: project.ownerId)
        guard runs[project.id] == nil else { throw ProtocolError(.conflict, "this project already has a run") }
        let active = try await makeRun(project: project, sessionId: sessionId, choice: choice)
        await active.run.start(request)
    }

    /// The person speaks to the session's run: an answer, an approval, or
    /// feedback. A run that has ended is not restarted here.
    func respond(projectId: String, text: String) async throws {
        if let snapshot = held.removeValue(forKey: projectId) {
            // A held run continues; an approval or "continue" only lets it
            // go on, anything else is also said to the master.
            let project = try await store.project(id: projectId)
            guard let sessionId = project.sessionId else { throw ProtocolError(.invalidState, "this project has no session") }
            let active = try await makeRun(project: project, sessionId: sessionId, choice: ModelChoice.Request())
            await active.run.resume(from: snapshot)
            let plain = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            if !(plain.hasPrefix("approve") || plain == "continue") { await active.run.respond(text) }
            logger.notice("held run continued", metadata: ["project": "\(projectId)"])
            return
        }
        guard let active = runs[projectId] else { throw ProtocolError(.invalidState, "this project has no run waiting for you") }
        await active.run.respond(text)
        // Acknowledged only once saved: an approval survives a crash.
        await active.run.waitUntilSaved()
    }

    func stop(projectId: String) async throws {
        if let snapshot = held.removeValue(forKey: projectId) {
            // Recorded as stopped, so the next restart does not ask again.
            var stopped = snapshot
            stopped.outcome = .stopped
            try await StoreRunJournal(store: store, projectId: projectId).save(stopped)
            let project = try await store.project(id: projectId)
            if let sessionId = project.sessionId {
                let translator = EventTranslator(projectId: projectId, sessionId: sessionId, node: node, budgetUSD: nil)
                await hubs.hub(sessionId, projectId: projectId).publish(translator.projectStatus(for: .stopped))
            }
            return
        }
        guard let active = runs[projectId] else { throw ProtocolError(.invalidState, "this project has no run") }
        await active.run.stop()
    }

    /// Whether the project has a run working, waiting or held after a restart.
    func hasRun(_ projectId: String) -> Bool { runs[projectId] != nil || held[projectId] != nil }

    /// Whether `ownerId` may start another run now (checked before a new
    /// project is made for it, and again at the start).
    func checkRoom(for ownerId: String) throws {
        guard accepting else { throw ProtocolError(.unavailable, "the gateway is shutting down") }
        let working = runs.values.filter { $0.ownerId == ownerId }.count
        guard working < maxRunsPerUser else {
            throw ProtocolError(.limitReached, "you already have \(working) runs working; the limit is \(maxRunsPerUser)")
        }
    }

    /// The live agent tree of a project's run, if it has one.
    func agents(projectId: String) async -> [AgentState]? {
        guard let active = runs[projectId] else { return nil }
        return await active.run.agentStates()
    }

    /// Continues every run whose journal says it was still working (after
    /// a crash or a restart). Runs waiting for the person stay waiting.
    ///
    /// A run whose project is on a worker that has not (re)joined yet —
    /// after a gateway restart the workers come back within seconds — is
    /// tried again every second until its worker is up, for at most
    /// `hostWaitLimit`.
    public func resumeUnfinished() async {
        retryUntilHostsAreUp(await resume(only: nil))
    }

    /// Tries the runs of `waiting` again every second until their projects'
    /// hosts are up (or the projects moved to another worker), for at most
    /// `hostWaitLimit`.
    private func retryUntilHostsAreUp(_ waiting: Set<String>, afterRestart: Bool = true) {
        guard !waiting.isEmpty else { return }
        logger.notice("runs wait for their workers", metadata: ["count": "\(waiting.count)"])
        Task { [hostWaitLimit] in
            var left = waiting
            let deadline = ContinuousClock.now + hostWaitLimit
            while !left.isEmpty, ContinuousClock.now < deadline, await self.isAccepting {
                try? await Task.sleep(for: .seconds(1))
                left = await self.resume(only: left, afterRestart: afterRestart)
            }
            if !left.isEmpty { self.logger.error("runs were not resumed: their workers did not come back", metadata: ["projects": "\(left.sorted())"]) }
        }
    }

    /// Follows the cluster: the runs of a worker declared down are dropped
    /// and continued from their journals, their projects restored from
    /// their copies onto another worker (docs/agents.md, "Recovery").
    /// Runs until `shutdown`.
    public func watchWorkers() {
        guard watcher == nil else { return }
        let changes = hosts.mesh.cluster.changes()
        watcher = Task { [weak self] in
            // Down, removed, or left gracefully: its workspaces are gone
            // either way (a worker that left and comes back is a new start).
            for await member in changes where member.status.isFinal {
                guard member.roles.contains(.worker) else { continue }
                await self?.workerLost(member.node.name.rawValue)
            }
        }
    }

    private var watcher: Task<Void, Never>?

    private func workerLost(_ name: String) async {
        var dropped: Set<String> = []
        for (projectId, active) in runs {
            guard (try? await hosts.node(of: projectId)) == name, runs[projectId]?.id == active.id else { continue }
            runs.removeValue(forKey: projectId)
            await active.run.abandon()
            dropped.insert(projectId)
        }
        guard !dropped.isEmpty else { return }
        metrics.runsActive(runs.count)
        logger.notice("the worker holding these runs' projects is down; they continue from their last saved step on another worker",
                      metadata: ["worker": "\(name)", "projects": "\(dropped.sorted())"])
        retryUntilHostsAreUp(await resume(only: dropped, afterRestart: false), afterRestart: false)
    }

    /// How long a saved run waits for its project's worker after a restart.
    let hostWaitLimit: Duration = .seconds(600)

    private var isAccepting: Bool { accepting }

    /// Resumes the saved runs (those in `only`, when given); returns the
    /// projects whose worker is not up yet.
    private func resume(only: Set<String>?, afterRestart: Bool = true) async -> Set<String> {
        let saved: [(projectId: String, snapshot: Data)]
        do { saved = try await store.agentRuns() } catch {
            logger.error("the runs to resume cannot be read", metadata: ["error": "\(error)"])
            return []
        }
        var unavailable: Set<String> = []
        if !saved.isEmpty && only == nil { logger.notice("checking saved runs", metadata: ["count": "\(saved.count)"]) }
        for (projectId, _) in saved where runs[projectId] == nil && (only?.contains(projectId) ?? true) {
            do {
                let journal = StoreRunJournal(store: store, projectId: projectId)
                guard let snapshot = try await journal.load() else { continue }
                let waiting: Bool
                switch snapshot.outcome {
                case .none: waiting = false
                case .waitingForPerson?: waiting = true
                default:
                    logger.debug("a saved run has ended", metadata: ["project": "\(projectId)"])
                    continue
                }
                let project = try await store.project(id: projectId)
                guard let sessionId = project.sessionId else { continue }
                // `ask` is about the gateway's restarts; a run moved off a
                // lost worker just goes on.
                if afterRestart && onRestart == .ask && !waiting {
                    try await hold(snapshot, project: project, sessionId: sessionId)
                    continue
                }
                let active = try await makeRun(project: project, sessionId: sessionId, choice: ModelChoice.Request())
                await active.run.resume(from: snapshot)
                // The tree as it was, for tabs that join before the next event.
                let translator = EventTranslator(projectId: projectId, sessionId: sessionId, node: node, budgetUSD: nil)
                for agent in snapshot.agents {
                    await active.hub.publish(ServerFrame("agent_update", translator.agent(
                        agent.ref, status: EventTranslator.status(agent.status), task: agent.task)))
                }
                // A run that waits for the person says so again: tabs that
                // join after the restart must see the question.
                if waiting, let outcome = snapshot.outcome {
                    await active.hub.publish(translator.projectStatus(for: outcome))
                }
                logger.notice("run resumed", metadata: ["project": "\(projectId)", "waiting": "\(waiting)"])
            } catch let error as ProtocolError where error.code == .unavailable {
                unavailable.insert(projectId)
            } catch {
                logger.error("a run could not be resumed", metadata: ["project": "\(projectId)", "error": "\(error)"])
            }
        }
        return unavailable
    }

    /// Keeps a run that was working until the person answers, and tells
    /// the session's tabs so (with its phase and agent tree).
    private func hold(_ snapshot: RunSnapshot, project: ProjectMeta, sessionId: String) async throws {
        held[project.id] = snapshot
        let hub = hubs.hub(sessionId, projectId: project.id)
        await hub.setProject(project.id)
        var translator = EventTranslator(projectId: project.id, sessionId: sessionId, node: node, budgetUSD: nil)
        for output in translator.translate(.phase(snapshot.phase)) {
            if case .frame(let frame) = output { await hub.publish(frame) }
        }
        for agent in snapshot.agents {
            let status = agent.status == .working ? AgentStatus.idle : agent.status
            await hub.publish(ServerFrame("agent_update", translator.agent(agent.ref, status: EventTranslator.status(status), task: agent.task)))
        }
        await hub.publish(translator.projectStatus(for: .waitingForPerson(question:
            "HMA restarted while this run was working. Answer (or approve) to continue it from its last completed step, or stop it.")))
        logger.notice("run held until the person answers", metadata: ["project": "\(project.id)"])
    }

    private func makeRun(project: ProjectMeta, sessionId: String, choice: ModelChoice.Request) async throws -> ActiveRun {
        let chosen: ModelChoice.Chosen
        do { chosen = try await ModelChoice.choose(choice, environment: environment) } catch {
            throw ProtocolError(.provider, "\(error)")
        }
        let host = try await ProjectOpening.open(project, store: store, hosts: hosts)
        let workspace = RemoteWorkspace(try await host.agentWorkspace(projectId: project.id))
        let hub = hubs.hub(sessionId, projectId: project.id)
        await hub.setProject(project.id)
        let translator = EventTranslator(projectId: project.id, sessionId: sessionId, node: node, budgetUSD: nil)
        let projectId = project.id
        // The end of this run, not of a later one for the same project (a
        // run resumed after its worker was lost).
        let runID = UUID()
        let router = RunEventRouter(translator: translator, hub: hub, store: store, metrics: metrics, logger: logger) { [weak self] outcome in
            if case .waitingForPerson = outcome { return }
            await self?.finished(projectId, runID: runID)
        }
        var configuration = RunConfiguration()
        configuration.autoApprove = false
        let run = ProjectRun(configuration: configuration, model: chosen.model, workspace: workspace, sink: router,
                             templates: try PromptTemplates.load(), journal: StoreRunJournal(store: store, projectId: project.id, copyingFrom: hosts),
                             turns: turns(for: chosen, project: project.id, sink: router))
        let active = ActiveRun(id: runID, run: run, router: router, hub: hub, ownerId: project.ownerId)
        runs[project.id] = active
        metrics.runStarted(active: runs.count)
        await hub.publish(ServerFrame("project_status", [
            "projectId": .string(project.id), "sessionId": .string(sessionId), "status": "active",
            "message": .string("Building with \(chosen.summary)."),
        ]))
        return active
    }

    /// Where the run's model calls are made (docs/agents.md, "On the
    /// mesh"): the demo model's, which need no key, on the workers — each
    /// agent's on its own virtual actor, placed by load; a real provider's
    /// here, so its key never leaves the gateway.
    private func turns(for chosen: ModelChoice.Chosen, project: String, sink: any AgentEventSink) -> (any TurnRunner)? {
        let mesh = hosts.mesh
        let workers = mesh.cluster.members.filter { $0.node != mesh.node && $0.roles.contains(.worker) && $0.status == .up }
        guard chosen.isDemo, !workers.isEmpty else { return nil }
        return MeshTurns(system: mesh, project: project, events: RunEventsActor(sink: sink, actorSystem: mesh))
    }

    private func finished(_ projectId: String, runID: UUID) async {
        guard runs[projectId]?.id == runID, let active = runs.removeValue(forKey: projectId) else { return }
        metrics.runsActive(runs.count)
        await active.run.waitUntilSaved()
        try? await store.touchProject(id: projectId)
    }

    /// Graceful shutdown: no new runs; every run's completed steps reach
    /// the journal and its events the database. Runs are not stopped: the
    /// next start resumes them where the journal says.
    public func shutdown() async {
        accepting = false
        watcher?.cancel()
        for active in runs.values {
            await active.run.waitUntilSaved()
        }
        for active in runs.values { await active.router.drain() }
    }
}
