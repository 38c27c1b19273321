import Foundation
import Storage

extension ClientSession {
    func files(_ message: IncomingMessage) async throws -> ServerFrame {
        let project = try await ownedProject(message.string("projectId"))
        let id = JSONValue.string(project.id)
        let host = try await gateway.open(project)
        switch message.type {
        case "file_read":
            let path = message.string("filePath")
            let file = try await host.read(projectId: project.id, path: path)
            return ServerFrame("file_read_result", [
                "projectId": id, "filePath": .string(path), "content": .string(file.content), "encoding": .string(file.encoding),
            ])

        case "file_create", "file_update":
            let path = message.string("filePath")
            let content = Data((message.optionalString("content") ?? "").utf8)
            try await host.write(projectId: project.id, path: path, content: content, create: message.type == "file_create")
            await announce(project.sessionId, action: message.type == "file_create" ? "create" : "update", path: path,
                           type: "file", projectId: project.id)
            try? await gateway.store.touchProject(id: project.id)
            return ServerFrame("file_operation_result", [
                "success": true, "projectId": id, "filePath": .string(path), "operation": .string(String(message.type.dropFirst(5))),
            ])

        case "file_delete", "dir_delete":
            let key = message.type == "file_delete" ? "filePath" : "dirPath"
            let path = message.string(key)
            try await host.delete(projectId: project.id, path: path)
            await announce(project.sessionId, action: "delete", path: path, type: message.type == "file_delete" ? "file" : "folder",
                           projectId: project.id)
            return message.type == "file_delete"
                ? ServerFrame("file_operation_result", ["success": true, "projectId": id, "filePath": .string(path), "operation": "delete"])
                : ServerFrame("dir_operation_result", ["success": true, "projectId": id, "dirPath": .string(path), "operation": "delete"])

        case "dir_create":
            let path = message.string("dirPath")
            try await host.createFolder(projectId: project.id, path: path)
            await announce(project.sessionId, action: "create", path: path, type: "folder", projectId: project.id)
            return ServerFrame("dir_operation_result", ["success": true, "projectId": id, "dirPath": .string(path), "operation": "create"])

        case "dir_list":
            let path = message.string("dirPath")
            let listing = try await host.list(projectId: project.id, path: path)
            return ServerFrame("dir_list_result", [
                "projectId": id, "dirPath": .string(path), "complete": .bool(listing.complete),
                "items": .array(listing.items.map { ["name": .string($0.name), "type": .string($0.type), "size": .int($0.size)] }),
            ])

        case "download_project":
            let expires = Int(Date().timeIntervalSince1970 + gateway.options.downloadLinkLifetime)
            let signature = gateway.keys.sign(DownloadLink.message(projectId: project.id, userId: user.id, expires: expires))
            return ServerFrame("download_ready", [
                "projectId": id, "url": .string("/download/\(project.id)?user=\(user.id)&expires=\(expires)&sig=\(signature)"),
                "expiresInSeconds": .int(Int(gateway.options.downloadLinkLifetime)),
            ])

        default:
            throw ProtocolError(.unknownType, message.type)
        }
    }

    /// Tells the project's session (every tab on it) that the tree changed.
    private func announce(_ sessionId: String?, action: String, path: String, type: String, projectId: String) async {
        guard let sessionId else { return }
        await gateway.hubs.hub(sessionId, projectId: projectId).publish(ServerFrame("file_tree_update", [
            "action": .string(action), "filePath": .string(path), "fileType": .string(type), "projectId": .string(projectId),
        ]))
    }
}

/// Signed download links: `/download/<project>?user=…&expires=…&sig=…`,
/// HMAC-SHA256 over project, user and expiry with the gateway key.
enum DownloadLink {
    static func message(projectId: String, userId: String, expires: Int) -> String { "download|\(projectId)|\(userId)|\(expires)" }
}
