import Foundation
import Storage

extension ClientSession {
    func chat(_ message: IncomingMessage) async throws -> ServerFrame {
        let store = gateway.store
        switch message.type {
        case "new_chat":
            let session = try await store.createSession(userId: user.id, title: message.optionalString("title") ?? "New chat")
            return ServerFrame("chat_session", ["session": MessageJSON.session(session)])

        case "save_chat_session":
            let body = message.object("session") ?? [:]
            let id = body["id"]?.stringValue ?? ""
            var session = try await ownedSession(id)
            if let projectId = body["projectId"]?.stringValue, projectId != session.projectId {
                throw ProtocolError(.invalidField, "a session's project is set when the project is made; it cannot be moved")
            }
            if let title = body["title"]?.stringValue, title != session.title {
                session = try await store.renameSession(id: id, title: title)
            }
            let messages = (body["messages"]?.arrayValue ?? []).compactMap(\.objectValue).map { item in
                NewMessage(
                    id: item["id"]?.stringValue, sessionId: id,
                    sender: MessageSender(rawValue: item["sender"]?.stringValue ?? "") ?? .user,
                    content: item["content"]?.stringValue ?? "")
            }
            if !messages.isEmpty { _ = try await store.appendMessages(messages) }
            return ServerFrame("chat_save_result", ["success": true, "sessionId": .string(session.id)])

        case "load_chat_history":
            let page = try await store.sessions(userId: user.id, limit: message.int("limit"), before: message.optionalString("before"))
            return ServerFrame("chat_history_response", [
                "sessions": .array(page.items.map(MessageJSON.session)), "nextCursor": .optional(page.nextCursor),
            ])

        case "load_chat_messages":
            let session = try await ownedSession(message.string("sessionId"))
            let page = try await store.messages(sessionId: session.id, limit: message.int("limit"), before: message.optionalString("before"))
            return ServerFrame("chat_messages_response", [
                "sessionId": .string(session.id), "messages": .array(page.items.map { .object(MessageJSON.payload($0)) }),
                "nextCursor": .optional(page.nextCursor),
            ])

        case "delete_chat_session":
            let session = try await ownedSession(message.string("sessionId"))
            if let projectId = session.projectId, await gateway.runs.hasRun(projectId) {
                throw ProtocolError(.conflict, "the session's run is working; stop it first")
            }
            try await store.deleteSession(id: session.id)
            gateway.hubs.remove(session.id)
            return ServerFrame("chat_delete_result", ["success": true, "sessionId": .string(session.id)])

        default:
            throw ProtocolError(.unknownType, message.type)
        }
    }
}
