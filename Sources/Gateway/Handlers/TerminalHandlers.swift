import Foundation
import Storage

extension ClientSession {
    /// Terminals per user and project, over all their tabs.
    static let maxTerminalsPerProject = 5

    func terminal(_ message: IncomingMessage) async throws -> ServerFrame? {
        let terminals = gateway.terminals
        switch message.type {
        case "create_terminal_session":
            let project = try await ownedProject(message.string("projectId"))
            guard terminals.count(ownerId: user.id, projectId: project.id) < Self.maxTerminalsPerProject else {
                throw ProtocolError(.limitReached, "this project already has \(Self.maxTerminalsPerProject) terminals open; close one first")
            }
            let id = "t-" + UUID().uuidString.lowercased()
            let host = try await gateway.open(project)
            terminals.add(id, ownerId: user.id, projectId: project.id, connection: connection)
            do {
                try await host.openTerminal(projectId: project.id, terminalId: id, cols: message.int("cols"), rows: message.int("rows"),
                                            output: gateway.terminalOutput)
            } catch {
                terminals.remove(id)
                throw error
            }
            return ServerFrame("terminal_session", ["sessionId": .string(id), "projectId": .string(project.id), "status": "running"])

        case "list_terminals":
            let project = try await ownedProject(message.string("projectId"))
            return ServerFrame("terminal_list", [
                "projectId": .string(project.id),
                "terminals": .array(terminals.list(ownerId: user.id, projectId: project.id).map {
                    ["sessionId": .string($0.id), "attached": .bool($0.attached)]
                }),
            ])

        case "attach_terminal":
            let id = message.string("sessionId")
            guard terminals.attach(id, ownerId: user.id, connection: connection, replyTo: message.id) else {
                throw ProtocolError.notFound("terminal", id)
            }
            return nil  // answered inside, before the output it replays

        case "send_terminal_data":
            let (id, host) = try await ownedTerminal(message.string("sessionId"))
            // No answer and no wait for the worker: keystrokes keep flowing.
            try await host.terminalInput(terminalId: id, Data(message.string("data").utf8))
            return message.id == nil ? nil : ServerFrame("ok")

        case "resize_terminal":
            let (id, host) = try await ownedTerminal(message.string("sessionId"))
            try await host.resizeTerminal(terminalId: id, cols: message.int("cols"), rows: message.int("rows"))
            return message.id == nil ? nil : ServerFrame("ok")

        case "close_terminal":
            let (id, host) = try await ownedTerminal(message.string("sessionId"))
            try await host.closeTerminal(terminalId: id)
            return ServerFrame("ok")

        default:
            throw ProtocolError(.unknownType, message.type)
        }
    }

    /// The user's terminal `id` and the host of its project.
    private func ownedTerminal(_ id: String) async throws -> (String, ProjectHostActor) {
        guard let projectId = gateway.terminals.project(of: id, ownerId: user.id) else { throw ProtocolError.notFound("terminal", id) }
        return (id, try await gateway.hosts.host(for: projectId))
    }
}
