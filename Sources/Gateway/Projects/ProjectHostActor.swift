import Agents
import Distributed
import Foundation
import Logging
import Mesh
import Storage
import Workspace

/// A worker's projects: their folders, git repositories, sandboxes and
/// terminals (docs/architecture.md, "Projects"). The gateway reaches it
/// over the mesh for every file, git, terminal and download request, and
/// the agents reach a project's files through `agentWorkspace`. It trusts
/// the gateway (the mesh authenticated it) and nothing a project runs:
/// paths go through `ProjectFiles`, commands and git into the sandbox.
public distributed actor ProjectHostActor {
    public typealias ActorSystem = MeshActorSystem
    /// Where each node that holds projects keeps its host (the gateway
    /// finds a worker's host by its member state and this path).
    public static let path = "/hma/projects"

    /// Where each project's folder lives: `<root>/<project id>`.
    let root: String
    let sandboxConfiguration: SandboxConfiguration
    let logger: Logger

    private var projects: [String: HostedProject] = [:]
    private var terminals: [String: HostedTerminal] = [:]
    private var exports: [String: URL] = [:]
    /// Digests of files read for copies, by project and path, with the
    /// stamp they were read at: a file whose stamp has not moved is not
    /// read again (`copyChanges`).
    private var copyDigests: [String: [String: (stamp: FileStamp, digest: String)]] = [:]
    /// Stamps that changed more recently than this are not trusted (a
    /// write in the same clock tick keeps the stamp).
    let trustStampsAfter: Duration

    struct HostedProject {
        let files: ProjectFiles
        let sandbox: any Sandbox
        let git: ProjectGit?
        let workspace: WorkspaceActor
    }

    struct HostedTerminal {
        let projectId: String
        let session: TerminalSession
        let pump: Task<Void, Never>
    }

    public init(root: String, sandbox: SandboxConfiguration, logger: Logger, trustStampsAfter: Duration = .seconds(2),
                actorSystem: MeshActorSystem) {
        self.root = root
        self.trustStampsAfter = trustStampsAfter
        self.sandboxConfiguration = sandbox
        self.logger = logger
        self.actorSystem = actorSystem
        ProjectHostActor.registerTypes(on: actorSystem)
    }

    /// The node's host at the well-known `path`.
    public static func start(root: String, sandbox: SandboxConfiguration, logger: Logger, trustStampsAfter: Duration = .seconds(2),
                             actorSystem: MeshActorSystem) -> ProjectHostActor {
        MeshActorSystem.$nextActorPath.withValue(path) {
            ProjectHostActor(root: root, sandbox: sandbox, logger: logger, trustStampsAfter: trustStampsAfter, actorSystem: actorSystem)
        }
    }

    /// Only a gateway (or this node itself) may use a host: a worker taken
    /// over by the code it runs must not reach another worker's projects.
    private func checkCaller() throws {
        try MeshActorSystem.requireCaller(of: id, toHave: .gateway)
    }

    static func registerTypes(on system: MeshActorSystem) {
        AgentMeshTypes.register(on: system)
        system.registry.register(FileContent.self)
        system.registry.register(FolderItem.self)
        system.registry.register([FolderItem].self)
        system.registry.register(FolderListing.self)
        system.registry.register(GitCall.self)
        system.registry.register(GitAnswer.self)
        system.registry.register(GitCredentials.self)
        system.registry.register(Data.self)
        system.registry.register([StoredProject].self)
        system.registry.register(CopyDelta.self)
        system.registry.register(CopiedFile.self)
        system.registry.register([CopiedFile].self)
        system.registry.register([String: String].self)
        // Passed to a worker's host (terminals' output comes back to it).
        system.registry.register(TerminalOutputActor.self)
        system.registry.register(resolvableStub: TerminalOutputActor.self)
        system.registry.register(resolvableStub: WorkspaceActor.self)
        system.registry.registerError(ProtocolError.self, name: "hma.ProtocolError")
    }

    // MARK: - Projects

    /// Creates the project's folder (if new) and opens its sandbox.
    public distributed func open(projectId: String) throws {
        try checkCaller()
        _ = try project(projectId)
    }

    /// The project's files and commands, for its agents.
    public distributed func agentWorkspace(projectId: String) throws -> WorkspaceActor {
        try checkCaller()
        return try project(projectId).workspace
    }

    /// Closes the project's terminals and sandbox; its folder stays.
    public distributed func close(projectId: String) throws {
        try checkCaller()
        for (id, terminal) in terminals where terminal.projectId == projectId { closeTerminalNow(id) }
        projects.removeValue(forKey: projectId)?.sandbox.shutdown()
        copyDigests.removeValue(forKey: projectId)
    }

    /// Removes the project's folder and its compressed copy for good
    /// (retention). Removing what is already gone is not an error.
    public distributed func remove(projectId: String) throws {
        try checkCaller()
        guard ProtocolValidator.isId(projectId), !projectId.hasPrefix(".") else { throw ProtocolError(.invalidField, "bad project id") }
        try close(projectId: projectId)
        for path in [folder(projectId), archive(projectId)] where FileManager.default.fileExists(atPath: path) {
            try FileManager.default.removeItem(atPath: path)
        }
    }

    /// Packs an idle project's folder into one zip under `<root>/.archives`
    /// and removes the folder (retention, docs/operations.md "Retention").
    /// Lossless but for symlinks and special files, which a zip cannot
    /// hold: `.git`, dependency folders and large files are kept. The next
    /// `open` unpacks it. A project that is already packed is left alone.
    public distributed func compress(projectId: String) throws {
        try checkCaller()
        guard ProtocolValidator.isId(projectId), !projectId.hasPrefix(".") else { throw ProtocolError(.invalidField, "bad project id") }
        try close(projectId: projectId)
        let folder = folder(projectId)
        guard FileManager.default.fileExists(atPath: folder) else { return }
        let destination = archive(projectId)
        let partial = destination + ".partial"
        do {
            try FileManager.default.createDirectory(atPath: archivesFolder, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            try? FileManager.default.removeItem(atPath: partial)
            var options = ProjectArchive.ExportOptions()
            options.excludedFolders = []
            options.includeGit = true
            options.maxFileBytes = .max
            let summary = try ProjectArchive.export(try ProjectFiles(root: folder), to: URL(fileURLWithPath: partial), options: options)
            // The zip is complete before it takes its name, and the folder
            // goes only after: a crash leaves one whole copy or the other.
            guard rename(partial, destination) == 0 else { throw ProtocolError(.workspace, "cannot name the archive: errno \(errno)") }
            try FileManager.default.removeItem(atPath: folder)
            logger.info("project compressed", metadata: [
                "project": "\(projectId)", "files": "\(summary.files)", "bytes": "\(summary.bytes)", "skipped": "\(summary.skipped.count)"])
        } catch let error as ProtocolError {
            throw error
        } catch {
            throw ProtocolError(.workspace, "the project cannot be compressed: \(error)")
        }
    }

    /// The projects that have a folder or a compressed copy here.
    public distributed func storedProjects() throws -> [StoredProject] {
        try checkCaller()
        let manager = FileManager.default
        var stored: [String: StoredProject] = [:]
        for name in (try? manager.contentsOfDirectory(atPath: root)) ?? [] where ProtocolValidator.isId(name) && !name.hasPrefix(".") {
            let modified = (try? manager.attributesOfItem(atPath: folder(name))[.modificationDate] as? Date) ?? nil
            stored[name] = StoredProject(projectId: name, hasFolder: true, compressed: false, modifiedAt: modified ?? Date())
        }
        for name in (try? manager.contentsOfDirectory(atPath: archivesFolder)) ?? [] where name.hasSuffix(".zip") {
            let id = String(name.dropLast(4))
            guard ProtocolValidator.isId(id) else { continue }
            let modified = (try? manager.attributesOfItem(atPath: archive(id))[.modificationDate] as? Date) ?? nil
            stored[id, default: StoredProject(projectId: id, hasFolder: false, compressed: true, modifiedAt: modified ?? Date())].compressed = true
        }
        return stored.values.sorted { $0.projectId < $1.projectId }
    }

    private func folder(_ projectId: String) -> String { (root as NSString).appendingPathComponent(projectId) }
    private var archivesFolder: String { (root as NSString).appendingPathComponent(".archives") }
    private func archive(_ projectId: String) -> String { (archivesFolder as NSString).appendingPathComponent(projectId + ".zip") }

    private func project(_ projectId: String) throws -> HostedProject {
        if let hosted = projects[projectId] { return hosted }
        guard ProtocolValidator.isId(projectId), !projectId.hasPrefix(".") else { throw ProtocolError(.invalidField, "bad project id") }
        let folder = folder(projectId)
        do {
            let packed = archive(projectId)
            let unpack = !FileManager.default.fileExists(atPath: folder) && FileManager.default.fileExists(atPath: packed)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            // One uid per project, stable across restarts (its files keep their owner).
            let uid = sandboxConfiguration.uidBase + UInt32(projectId.utf8.reduce(UInt32(5381)) { ($0 &* 33) &+ UInt32($1) } % 50_000)
            let sandbox = try SandboxFactory.make(projectRoot: folder, projectID: projectId, uid: uid, configuration: sandboxConfiguration)
            let owned = getuid() == 0 && sandbox.kind != .none
            let files = try ProjectFiles(root: folder, owner: owned ? (uid, uid) : nil)
            if owned { chown(folder, uid, uid) }
            if unpack {
                // A compressed project comes back as it was packed, owned
                // by its uid. Its own archive: no import limits but the disk's.
                var limits = ProjectArchive.ImportLimits()
                limits.maxTotalBytes = .max
                limits.maxEntries = .max
                limits.maxCompressionRatio = .max
                try ProjectArchive.importZip(URL(fileURLWithPath: packed), into: files, limits: limits)
                try FileManager.default.removeItem(atPath: packed)
                logger.info("project unpacked", metadata: ["project": "\(projectId)"])
            }
            let isolation: ProjectGit.Isolation? = (sandbox as? BwrapSandbox).map { .jail($0) } ?? (getuid() == 0 ? nil : .serverUser)
            let git = try isolation.map { try ProjectGit(projectRoot: folder, isolation: $0) }
            let workspace = WorkspaceActor(workspace: LocalWorkspace(files: files, sandbox: sandbox), actorSystem: actorSystem)
            let hosted = HostedProject(files: files, sandbox: sandbox, git: git, workspace: workspace)
            projects[projectId] = hosted
            return hosted
        } catch let error as ProtocolError {
            throw error
        } catch {
            throw ProtocolError(.workspace, "the project cannot be opened: \(error)")
        }
    }

    // MARK: - Files

    public distributed func read(projectId: String, path: String) throws -> FileContent {
        try checkCaller()
        let data = try Self.mapping { try project(projectId).files.read(path) }
        if let text = String(data: data, encoding: .utf8) { return FileContent(content: text, encoding: "text") }
        return FileContent(content: data.base64EncodedString(), encoding: "base64")
    }

    /// Writes a file; with `create`, fails if it exists.
    public distributed func write(projectId: String, path: String, content: Data, create: Bool) throws {
        try checkCaller()
        let files = try project(projectId).files
        try Self.mapping {
            if create, try files.exists(path) { throw WorkspaceError.alreadyExists(path) }
            try files.write(path, content)
        }
    }

    public distributed func delete(projectId: String, path: String) throws {
        try checkCaller()
        let files = try project(projectId).files
        try Self.mapping { try files.delete(path) }
    }

    public distributed func createFolder(projectId: String, path: String) throws {
        try checkCaller()
        let files = try project(projectId).files
        try Self.mapping { try files.create(path, directory: true) }
    }

    public distributed func list(projectId: String, path: String) throws -> FolderListing {
        try checkCaller()
        let files = try project(projectId).files
        let listing = try Self.mapping { try files.list(path) }
        return FolderListing(items: listing.entries.map { entry in
            FolderItem(name: entry.path.name, type: entry.kind == .directory ? "folder" : entry.kind.rawValue, size: entry.size)
        }, complete: listing.isComplete)
    }

    /// Every file and folder path (for imports' `file_tree_update`s).
    public distributed func tree(projectId: String) throws -> [FolderItem] {
        try checkCaller()
        let files = try project(projectId).files
        return try Self.mapping { try files.tree() }.map {
            FolderItem(name: $0.path.description, type: $0.kind == .directory ? "folder" : $0.kind.rawValue, size: $0.size)
        }
    }

    /// Unpacks a zip into the project (import).
    public distributed func importZip(projectId: String, zip: Data) throws -> Int {
        try checkCaller()
        let files = try project(projectId).files
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("hma-import-\(UUID().uuidString).zip")
        defer { try? FileManager.default.removeItem(at: temporary) }
        do {
            try zip.write(to: temporary)
            try ProjectArchive.importZip(temporary, into: files)
        } catch {
            throw ProtocolError(.workspace, "the zip cannot be imported: \(error)")
        }
        return try Self.mapping { try files.tree() }.count
    }

    /// Clones a repository into the (empty) project (import).
    public distributed func importGit(projectId: String, url: String, credentials: GitCredentials) async throws {
        try checkCaller()
        let hosted = try project(projectId)
        guard let git = hosted.git else { throw ProtocolError(.unavailable, "git needs the bwrap sandbox on a node that runs as root") }
        do {
            try await ProjectArchive.importGit(url, into: hosted.files, git: git, credentials: credentials)
        } catch {
            throw ProtocolError(.git, "the repository cannot be imported: \(error)")
        }
    }

    static func mapping<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as WorkspaceError {
            throw ProtocolError(error)
        } catch let error as ProtocolError {
            throw error
        } catch {
            throw ProtocolError(.workspace, "\(error)")
        }
    }

    // MARK: - Durable copy

    /// What changed in the project since the gateway's copy, whose files'
    /// SHA-256 are `known` (docs/architecture.md, "Project copies"): whole
    /// files whose content differs and paths that are gone, up to about
    /// `maxBytes` of content per answer (`complete` false: ask again with
    /// the new digests).
    public distributed func copyChanges(projectId: String, known: [String: String], maxBytes: Int) throws -> CopyDelta {
        try checkCaller()
        let files = try project(projectId).files
        let (entries, skipped, listedWhole) = try Self.mapping { try ProjectCopy.files(of: files) }
        var delta = CopyDelta(changes: ProjectCopyChanges(), complete: true, skipped: skipped)
        var present = Set(skipped)
        var bytes = 0
        let cached = copyDigests[projectId] ?? [:]
        // Rebuilt from what is present: a removed file's digest goes.
        var digests: [String: (stamp: FileStamp, digest: String)] = [:]
        let now = Date()
        for entry in entries {
            let path = entry.path.description
            present.insert(path)
            if let stamp = entry.stamp, let hit = cached[path], hit.stamp == stamp {
                digests[path] = hit
                if known[path] == hit.digest { continue }  // unchanged, not read
            }
            guard delta.complete else { continue }
            guard let content = try? files.read(path) else { continue }  // gone or swapped since the walk
            let digest = CopiedFile.digest(content)
            if let stamp = entry.stamp, !stamp.isRecent(within: trustStampsAfter, of: now) { digests[path] = (stamp, digest) }
            guard known[path] != digest else { continue }
            if bytes > 0 && bytes + content.count > maxBytes {
                delta.complete = false
                continue
            }
            bytes += content.count
            delta.changes.written.append(CopiedFile(path: path, content: content))
        }
        copyDigests[projectId] = digests
        // A folder listed only in part hides files that are still there.
        delta.changes.removed = listedWhole ? known.keys.filter { !present.contains($0) }.sorted() : []
        return delta
    }

    /// Empties the project's folder for a copy to be restored into it (a
    /// lost worker's project, re-placed here).
    public distributed func beginRestore(projectId: String) throws {
        try checkCaller()
        try remove(projectId: projectId)
        _ = try project(projectId)
    }

    /// Writes files of a copy back into the project.
    public distributed func restoreFiles(projectId: String, _ copied: [CopiedFile]) throws {
        try checkCaller()
        let files = try project(projectId).files
        try Self.mapping {
            for file in copied { try ProjectCopy.restore(file.path, file.content, into: files) }
        }
    }

    // MARK: - Downloads

    /// Zips the project (dependency and build folders left out) and returns
    /// an export id to read it by, a megabyte at a time.
    public distributed func export(projectId: String) throws -> String {
        try checkCaller()
        let files = try project(projectId).files
        let id = UUID().uuidString
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hma-export-\(id).zip")
        do {
            _ = try ProjectArchive.export(files, to: url)
        } catch {
            throw ProtocolError(.workspace, "the project cannot be zipped: \(error)")
        }
        exports[id] = url
        return id
    }

    /// Up to `maxBytes` of an export from `offset`; an empty answer ends it
    /// and removes the file.
    public distributed func readExport(_ id: String, offset: Int, maxBytes: Int) throws -> Data {
        try checkCaller()
        guard let url = exports[id] else { throw ProtocolError(.notFound, "no export \(id)") }
        guard let handle = try? FileHandle(forReadingFrom: url) else { throw ProtocolError(.notFound, "no export \(id)") }
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(max(0, offset)))
        let data = try handle.read(upToCount: min(max(1, maxBytes), 4 << 20)) ?? Data()
        if data.isEmpty {
            exports.removeValue(forKey: id)
            try? FileManager.default.removeItem(at: url)
        }
        return data
    }

    // MARK: - Git

    public distributed func git(projectId: String, _ call: GitCall) async throws -> GitAnswer {
        try checkCaller()
        guard let git = try project(projectId).git else {
            throw ProtocolError(.unavailable, "git needs the bwrap sandbox on a node that runs as root")
        }
        do {
            return try await call.perform(on: git)
        } catch let error as GitError {
            throw ProtocolError(.git, error.description)
        }
    }

    // MARK: - Terminals

    /// Opens a shell in the project's sandbox; its output goes to `output`
    /// in order, in batches of what arrived together.
    public distributed func openTerminal(projectId: String, terminalId: String, cols: Int, rows: Int,
                                         output: TerminalOutputActor) async throws {
        try checkCaller()
        let hosted = try project(projectId)
        let session: TerminalSession
        do {
            session = try await hosted.sandbox.openTerminal(rows: UInt16(rows), columns: UInt16(cols))
        } catch let error as SandboxError {
            if case .tooManyTerminals = error { throw ProtocolError(.limitReached, error.description) }
            throw ProtocolError(.workspace, error.description)
        }
        let pump = Task {
            for await chunk in session.output {
                try? await MeshActorSystem.withOneWayDelivery { try await output.data(terminalId: terminalId, chunk) }
            }
            let exit = await session.exitStatus()
            try? await output.ended(terminalId: terminalId, exitCode: exit.exitCode.map(Int.init))
        }
        terminals[terminalId] = HostedTerminal(projectId: projectId, session: session, pump: pump)
    }

    public distributed func terminalInput(terminalId: String, _ data: Data) throws {
        try checkCaller()
        guard let terminal = terminals[terminalId] else { throw ProtocolError(.notFound, "no terminal \(terminalId)") }
        do {
            try terminal.session.write(data)
        } catch {
            throw ProtocolError(.limitReached, "\(error)")
        }
    }

    public distributed func resizeTerminal(terminalId: String, cols: Int, rows: Int) async throws {
        try checkCaller()
        guard let terminal = terminals[terminalId] else { throw ProtocolError(.notFound, "no terminal \(terminalId)") }
        try? await terminal.session.resize(rows: UInt16(rows), columns: UInt16(cols))
    }

    public distributed func closeTerminal(terminalId: String) throws {
        try checkCaller()
        closeTerminalNow(terminalId)
    }

    private func closeTerminalNow(_ id: String) {
        guard let terminal = terminals.removeValue(forKey: id) else { return }
        terminal.session.close()
    }

    /// Drains this worker, or stops draining it (`hma worker drain`): new
    /// agents are placed elsewhere when another worker can take them.
    public distributed func setDraining(_ draining: Bool) throws {
        try checkCaller()
        guard draining != actorSystem.isDraining else { return }
        actorSystem.setDraining(draining)
        logger.notice(draining ? "this worker is drained: new agents go to other workers" : "this worker takes new agents again")
    }

    /// Closes every project (shutdown).
    public distributed func closeAll() throws {
        try checkCaller()
        for id in Array(projects.keys) { try close(projectId: id) }
    }
}

/// A project the host holds on disk (retention reconciles these with the
/// database).
public struct StoredProject: Codable, Sendable, Equatable {
    public var projectId: String
    public var hasFolder: Bool
    public var compressed: Bool
    public var modifiedAt: Date
}

/// Where a terminal's output goes: the gateway's end, per connection.
public distributed actor TerminalOutputActor {
    public typealias ActorSystem = MeshActorSystem
    let onData: @Sendable (String, Data) -> Void
    let onEnd: @Sendable (String, Int?) -> Void

    public init(actorSystem: MeshActorSystem, onData: @escaping @Sendable (String, Data) -> Void,
                onEnd: @escaping @Sendable (String, Int?) -> Void) {
        self.actorSystem = actorSystem
        self.onData = onData
        self.onEnd = onEnd
    }

    public distributed func data(terminalId: String, _ bytes: Data) { onData(terminalId, bytes) }
    public distributed func ended(terminalId: String, exitCode: Int?) { onEnd(terminalId, exitCode) }
}

/// A host's answer to `copyChanges`.
public struct CopyDelta: Codable, Sendable, Equatable {
    public var changes: ProjectCopyChanges
    /// False: more changed than one answer carries; ask again.
    public var complete: Bool
    /// Left out of the copy: too large, symlinks, special files.
    public var skipped: [String]
}

public struct FileContent: Codable, Sendable, Equatable {
    public var content: String
    public var encoding: String
}

public struct FolderItem: Codable, Sendable, Equatable {
    public var name: String
    public var type: String
    public var size: Int
}

public struct FolderListing: Codable, Sendable, Equatable {
    public var items: [FolderItem]
    public var complete: Bool
}

extension ProtocolError: Codable {
    enum CodingKeys: String, CodingKey { case code, message }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(try container.decode(ErrorCode.self, forKey: .code), try container.decode(String.self, forKey: .message))
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(code, forKey: .code)
        try container.encode(message, forKey: .message)
    }

    init(_ error: WorkspaceError) {
        switch error {
        case .outsideProject, .invalidPath, .rootNotAllowed, .insideGitFolder: self.init(.invalidPath, error.description)
        case .notFound: self.init(.notFound, error.description)
        case .alreadyExists: self.init(.conflict, error.description)
        case .fileTooLarge, .noSpace: self.init(.limitReached, error.description)
        default: self.init(.workspace, error.description)
        }
    }
}
