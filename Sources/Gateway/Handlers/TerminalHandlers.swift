import Foundation
import Storage

extension ClientSession {
    /// Terminals per project and socket.
    static let maxTerminalsPerProject = 5

    func terminal(_ message: IncomingMessage) async throws -> ServerFrame? {
        let host = gateway.host
        switch message.type {
        case "create_terminal_session":
            let project = try await ownedProject(message.string("projectId"))
            guard terminalCount(projectId: project.id) < Self.maxTerminalsPerProject else {
                throw ProtocolError(.limitReached, "this project already has \(Self.maxTerminalsPerProject) terminals open here")
            }
            let id = "t-" + UUID().uuidString.lowercased()
            try await gateway.open(project)
            rememberTerminal(id, projectId: project.id)
            do {
                try await host.openTerminal(projectId: project.id, terminalId: id, cols: message.int("cols"), rows: message.int("rows"),
                                            output: terminalOutput())
            } catch {
                forgetTerminal(id)
                throw error
            }
            return ServerFrame("terminal_session", ["sessionId": .string(id), "projectId": .string(project.id), "status": "running"])

        case "send_terminal_data":
            let id = message.string("sessionId")
            guard ownsTerminal(id) else { throw ProtocolError.notFound("terminal", id) }
            // No answer and no wait for the worker: keystrokes keep flowing.
            let data = Data(message.string("data").utf8)
            try await host.terminalInput(terminalId: id, data)
            return message.id == nil ? nil : ServerFrame("ok")

        case "resize_terminal":
            let id = message.string("sessionId")
            guard ownsTerminal(id) else { throw ProtocolError.notFound("terminal", id) }
            try await host.resizeTerminal(terminalId: id, cols: message.int("cols"), rows: message.int("rows"))
            return message.id == nil ? nil : ServerFrame("ok")

        case "close_terminal":
            let id = message.string("sessionId")
            guard ownsTerminal(id) else { throw ProtocolError.notFound("terminal", id) }
            try await host.closeTerminal(terminalId: id)
            return ServerFrame("ok")

        default:
            throw ProtocolError(.unknownType, message.type)
        }
    }
}
