import Foundation
import Logging
import Mesh
import Storage
import Synchronization

/// One socket's conversation after the upgrade: it checks each message's
/// rights and hands it to its handler (docs/protocol.md). Every id a
/// message names is looked up with the socket's user as owner, so another
/// user's ids get `not_found`, never data.
final class ClientSession: Sendable {
    let gateway: Gateway
    let connection: ClientConnection
    var user: User { connection.user }
    var logger: Logger { gateway.logger }
    private let state = Mutex(State())

    struct State {
        var sessions: Set<String> = []
    }

    init(gateway: Gateway, connection: ClientConnection) {
        self.gateway = gateway
        self.connection = connection
    }

    /// Handles one validated message; the answer (or an `error`) is queued on the connection.
    func handle(_ message: IncomingMessage) async {
        gateway.metrics.received()
        do {
            if gateway.draining.isSet && message.type != "hello" {
                throw ProtocolError(.unavailable, "the gateway is shutting down; reconnect in a moment")
            }
            if let reply = try await dispatch(message) {
                connection.send(reply.withReply(message.id))
            }
        } catch let error as ProtocolError {
            gateway.metrics.refusedOne()
            connection.send(.error(error, replyTo: message.id))
        } catch let error as MeshError {
            if case .remote(let type, let text) = error, type == "hma.ProtocolError" {
                connection.send(.error(ProtocolError(.workspace, text), replyTo: message.id))
            } else {
                logger.warning("a project host call failed", metadata: ["type": "\(message.type)", "error": "\(error)"])
                connection.send(.error(ProtocolError(.unavailable, "the project's worker did not answer: \(error)"), replyTo: message.id))
            }
        } catch let error as StorageError {
            connection.send(.error(Self.map(error), replyTo: message.id))
        } catch {
            logger.error("a request failed", metadata: ["type": "\(message.type)", "error": "\(error)"])
            connection.send(.error(ProtocolError(.internal, "the request failed inside the gateway; it is logged"), replyTo: message.id))
        }
    }

    static func map(_ error: StorageError) -> ProtocolError {
        switch error {
        case .sessionNotFound(let id): return .notFound("chat session", id)
        case .projectNotFound(let id): return .notFound("project", id)
        case .invalidField, .messageTooLarge: return ProtocolError(.invalidField, error.description)
        case .duplicateId: return ProtocolError(.conflict, error.description)
        default: return ProtocolError(.internal, "the database refused the request: \(error.description)")
        }
    }

    private func dispatch(_ message: IncomingMessage) async throws -> ServerFrame? {
        switch message.type {
        case "hello": return try await hello(message)
        case "resume": return try await resume(message)
        case "leave_session": return try await leave(message)
        case "new_chat", "save_chat_session", "load_chat_history", "load_chat_messages", "delete_chat_session":
            return try await chat(message)
        case "start_project_init", "prompt", "approve_phase", "reject_phase", "stop", "import_project", "list_projects":
            return try await project(message)
        case "file_read", "file_create", "file_update", "file_delete", "dir_create", "dir_delete", "dir_list", "download_project":
            return try await files(message)
        case "create_terminal_session", "send_terminal_data", "resize_terminal", "close_terminal", "list_terminals", "attach_terminal":
            return try await terminal(message)
        case "llm_config", "set_api_key", "cluster_status", "list_models", "check_model":
            return try await settings(message)
        default:
            if message.type.hasPrefix("git_") { return try await git(message) }
            throw ProtocolError(.unknownType, "unknown message type \(message.type)")
        }
    }

    // MARK: - Session

    private func hello(_ message: IncomingMessage) async throws -> ServerFrame {
        if let token = message.optionalString("token"), !token.isEmpty {
            // A token in hello must name the same user as the socket's credentials.
            guard let named = try await gateway.accounts.user(cookie: token, bearer: token), named.id == user.id else {
                throw ProtocolError(.unauthorized, "the token does not belong to this connection's user")
            }
        }
        return ServerFrame("welcome", [
            "userId": .string(user.id), "userName": .string(user.name), "serverVersion": .string(HMAVersion.current),
            "protocolVersion": .string(WebProtocol.version),
            "features": ["resume", "terminals", "git", "download", "import", "llm_stream_coalesced"],
            "demoModel": .bool(gateway.usesDemoModel),
        ])
    }

    private func resume(_ message: IncomingMessage) async throws -> ServerFrame? {
        let session = try await ownedSession(message.string("sessionId"))
        let hub = gateway.hubs.hub(session.id, projectId: session.projectId)
        state.withLock { _ = $0.sessions.insert(session.id) }
        await hub.join(connection, lastSeq: Int64(message.int("lastSeq")), replyTo: message.id)
        return nil
    }

    private func leave(_ message: IncomingMessage) async throws -> ServerFrame {
        let session = try await ownedSession(message.string("sessionId"))
        state.withLock { _ = $0.sessions.remove(session.id) }
        await gateway.hubs.existing(session.id)?.leave(connection.id)
        return ServerFrame("ok")
    }

    /// The writer asks for this when the client fell behind on a session.
    func resyncFrame(sessionId: String) async -> String? {
        await gateway.hubs.existing(sessionId)?.resync(connection)
    }

    /// The socket closed: leave hubs; its terminals keep running for a
    /// while, for the tab to attach again after a reload.
    func closed() async {
        let sessions = state.withLock { $0.sessions }
        for id in sessions { await gateway.hubs.existing(id)?.leave(connection.id) }
        if !gateway.terminals.detachAll(from: connection).isEmpty {
            gateway.closeDetachedTerminals(after: gateway.terminals.detachedLifetime)
        }
    }

    // MARK: - Ownership

    func ownedSession(_ id: String) async throws -> ChatSession {
        do {
            let session = try await gateway.store.session(id: id)
            guard session.userId == user.id else { throw ProtocolError.notFound("chat session", id) }
            return session
        } catch StorageError.sessionNotFound {
            throw ProtocolError.notFound("chat session", id)
        }
    }

    func ownedProject(_ id: String) async throws -> ProjectMeta {
        do {
            let project = try await gateway.store.project(id: id)
            guard project.ownerId == user.id else { throw ProtocolError.notFound("project", id) }
            return project
        } catch StorageError.projectNotFound {
            throw ProtocolError.notFound("project", id)
        }
    }
}
