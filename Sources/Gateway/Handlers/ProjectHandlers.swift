import Agents
import Foundation
import Logging
import Storage
import Workspace

extension ClientSession {
    func project(_ message: IncomingMessage) async throws -> ServerFrame? {
        let store = gateway.store
        switch message.type {
        case "list_projects":
            let projects = try await store.projects(ownerId: user.id)
            return ServerFrame("project_list", ["projects": .array(projects.map(MessageJSON.project))])

        case "start_project_init":
            let request = message.string("initialPrompt")
            guard !request.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw ProtocolError(.invalidField, "the request is empty")
            }
            try await gateway.runs.checkRoom(for: user.id)
            let (session, project) = try await newProject(
                name: message.optionalString("projectName"), language: message.string("language"), title: request)
            connection.send(ServerFrame("chat_session", ["session": MessageJSON.session(session)], replyTo: message.id))
            try await join(session)
            try await storeAndPublish(NewMessage(sessionId: session.id, sender: .user, content: request), session: session)
            try await gateway.runs.start(project: project, sessionId: session.id, request: request, choice: modelChoice())
            return nil

        case "prompt":
            let session = try await ownedSession(message.string("sessionId"))
            let text = message.string("prompt")
            try await join(session)
            try await storeAndPublish(NewMessage(sessionId: session.id, sender: .user, content: text), session: session)
            if let projectId = session.projectId, await gateway.runs.hasRun(projectId) {
                try await gateway.runs.respond(projectId: projectId, text: text)
            } else {
                let project: ProjectMeta
                if let projectId = session.projectId {
                    project = try await ownedProject(projectId)
                } else {
                    let node = try await gateway.hosts.choose()
                    let id = Store.newId()
                    project = try await store.createProject(
                        ownerId: user.id, name: Self.name(from: text), language: "auto", projectPath: "projects/\(id)", sessionId: session.id, id: id)
                    try await gateway.hosts.assign(project.id, to: node)
                }
                try await gateway.runs.start(project: project, sessionId: session.id, request: text, choice: modelChoice())
            }
            return ServerFrame("ok")

        case "approve_phase", "reject_phase":
            let session = try await ownedSession(message.string("sessionId"))
            guard let projectId = session.projectId else { throw ProtocolError(.invalidState, "this session has no project") }
            let feedback = message.optionalString("feedback")
            let text = message.type == "approve_phase"
                ? "Approved." + (feedback.map { " \($0)" } ?? "")
                : (feedback ?? "Not approved yet: please revise this phase.")
            try await storeAndPublish(NewMessage(sessionId: session.id, sender: .user, content: text), session: session)
            try await gateway.runs.respond(projectId: projectId, text: text)
            return ServerFrame("ok")

        case "stop":
            let session = try await ownedSession(message.string("sessionId"))
            guard let projectId = session.projectId else { throw ProtocolError(.invalidState, "this session has no project") }
            try await gateway.runs.stop(projectId: projectId)
            return ServerFrame("ok")

        case "import_project":
            return try await importProject(message)

        default:
            throw ProtocolError(.unknownType, message.type)
        }
    }

    private func newProject(name: String?, language: String, title: String) async throws -> (ChatSession, ProjectMeta) {
        let store = gateway.store
        // Refused before anything is made when no worker can hold it.
        let node = try await gateway.hosts.choose()
        let projectName = name.flatMap { $0.isEmpty ? nil : $0 } ?? Self.name(from: title)
        let session = try await store.createSession(userId: user.id, title: projectName)
        // The folder is named by the project's id on whichever node hosts it.
        let id = Store.newId()
        let project = try await store.createProject(
            ownerId: user.id, name: projectName, language: language.isEmpty ? "auto" : language, projectPath: "projects/\(id)",
            sessionId: session.id, id: id)
        try await gateway.hosts.assign(project.id, to: node)
        return (try await store.session(id: session.id), project)
    }

    /// A short project name from the first words of a request.
    static func name(from request: String) -> String {
        let words = request.split(whereSeparator: { $0.isWhitespace }).prefix(6).joined(separator: " ")
        let trimmed = String(words.prefix(60))
        return trimmed.isEmpty ? "Untitled project" : trimmed
    }

    private func join(_ session: ChatSession) async throws {
        let hub = gateway.hubs.hub(session.id, projectId: session.projectId)
        if await hub.isSubscribed(connection.id) { return }
        await hub.join(connection, lastSeq: await hub.seq, replyTo: nil)
    }

    /// Stores a chat message, then sends it to the session's tabs.
    func storeAndPublish(_ message: NewMessage, session: ChatSession) async throws {
        let stored = try await gateway.store.appendMessage(message)
        await gateway.hubs.hub(session.id, projectId: session.projectId).publish(ServerFrame("message", MessageJSON.payload(stored)))
    }

    /// The user's model settings (`llm_config`) and key (`set_api_key`).
    func modelChoice() async throws -> ModelChoice.Request {
        guard let saved = try await gateway.store.userSecret(userId: user.id, name: "llm_config"),
              let config = JSONValue.parse(String(decoding: saved, as: UTF8.self)) else { return ModelChoice.Request() }
        var request = ModelChoice.Request(provider: config["provider"]?.stringValue, model: config["model"]?.stringValue)
        if let provider = request.provider, provider != "demo",
           let sealed = try await gateway.store.userSecret(userId: user.id, name: "key." + provider) {
            request.apiKey = try? gateway.keys.open(sealed, context: "\(user.id)/key.\(provider)")
        }
        return request
    }

    private func importProject(_ message: IncomingMessage) async throws -> ServerFrame? {
        let sources = [message.payload["files"], message.payload["zip"], message.payload["gitUrl"]].compactMap { $0 }.count
        guard sources == 1 else { throw ProtocolError(.invalidField, "give exactly one of files, zip or gitUrl") }
        let (session, project) = try await newProject(
            name: message.optionalString("projectName") ?? "Imported project", language: message.optionalString("language") ?? "auto",
            title: "Imported project")
        let host: ProjectHostActor
        do {
            host = try await gateway.open(project)
        } catch {
            try? await gateway.store.deleteSession(id: session.id)
            throw error
        }
        do {
            if let files = message.array("files") {
                for file in files.compactMap(\.objectValue) {
                    let path = file["path"]?.stringValue ?? ""
                    let content = file["content"]?.stringValue ?? ""
                    let data: Data
                    if file["encoding"]?.stringValue == "base64" {
                        guard let decoded = Data(base64Encoded: content) else {
                            throw ProtocolError(.invalidField, "\(path): the content is not base64")
                        }
                        data = decoded
                    } else {
                        data = Data(content.utf8)
                    }
                    try await host.write(projectId: project.id, path: path, content: data, create: false)
                }
            } else if let zip = message.optionalString("zip") {
                guard let data = Data(base64Encoded: zip) else { throw ProtocolError(.invalidField, "zip is not base64") }
                _ = try await host.importZip(projectId: project.id, zip: data)
            } else if let url = message.optionalString("gitUrl") {
                try await host.importGit(projectId: project.id, url: url, credentials: Self.credentials(message.object("credentials")))
            }
        } catch {
            // Nothing half-imported stays: the project and its session go.
            try? await host.remove(projectId: project.id)
            try? await gateway.store.deleteSession(id: session.id)
            throw error
        }
        let tree = try await host.tree(projectId: project.id)
        // Acknowledged with its copy made: an import survives the loss of
        // its worker (docs/architecture.md, "Project copies").
        if try await gateway.hosts.keepsCopy(of: project.id) {
            do { try await gateway.hosts.syncCopy(of: project.id, from: host) } catch {
                gateway.logger.warning("an imported project has no copy yet", metadata: ["project": "\(project.id)", "error": "\(error)"])
            }
        }
        let hub = gateway.hubs.hub(session.id, projectId: project.id)
        await hub.join(connection, lastSeq: await hub.seq, replyTo: nil)
        for item in tree {
            await hub.publish(ServerFrame("file_tree_update", [
                "action": "create", "filePath": .string(item.name), "fileType": .string(item.type == "folder" ? "folder" : "file"),
                "projectId": .string(project.id),
            ]))
        }
        connection.send(ServerFrame("chat_session", ["session": MessageJSON.session(session)]))
        return ServerFrame("import_result", [
            "success": true, "projectId": .string(project.id), "files": .int(tree.filter { $0.type != "folder" }.count),
        ])
    }

    static func credentials(_ object: [String: JSONValue]?) -> GitCredentials {
        guard let object, let username = object["username"]?.stringValue else { return .none }
        return .usernamePassword(username: username, password: object["password"]?.stringValue ?? object["token"]?.stringValue ?? "")
    }
}
