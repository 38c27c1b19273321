import Foundation
import Synchronization
import Testing
@testable import Workspace

/// Fetch, pull and push between workspaces through a bare repository, over
/// file:// and over HTTPS with basic auth (git-http-backend behind a local
/// TLS server); credentials are given per call and never stored. Everything
/// goes through the git helper in each project's jail, as the server runs it.
@Suite(.serialized, .enabled(if: TestGit.isAvailable, "needs bubblewrap as root, or a non-root user")) struct GitRemoteTests {
    let alice = GitSignature(name: "Alice", email: "alice@hma.test")
    let bob = GitSignature(name: "Bob", email: "bob@hma.test")

    func commitFile(_ git: ProjectGit, _ path: String, _ text: String, by author: GitSignature) async throws {
        try ProjectFiles(root: git.projectRoot).write(path, Data(text.utf8))
        try await git.stageAll()
        _ = try await git.commit(message: "edit \(path)", author: author)
    }

    @Test func pushAndPullBetweenTwoWorkspacesThroughABareRepository() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        // The operator's folder for local remotes, writable by the projects.
        let remotes = project.outer + "/remotes"
        let bare = remotes + "/shared.git"
        try GitCLI.run(["init", "--bare", "-q", "-b", "main", bare], in: project.outer)
        try run("/bin/chmod", ["-R", "a+rwX", remotes])
        let uid = 260_000 + sandboxCounter.add(1, ordering: .relaxed).newValue
        let a = try TestGit(project.root, uid: uid) { $0.remotePolicy.localRemotesRoot = remotes }
        defer { a.shutdown() }
        try await a.git.initialize()
        try await commitFile(a.git, "README.md", "from a\n", by: alice)
        try await a.git.addRemote("origin", url: "file://" + bare)
        try await a.git.push("origin", url: "file://" + bare)
        #expect(try GitCLI.run(["--git-dir", bare, "log", "--format=%an %s"], in: project.outer) == "Alice edit README.md")

        let bRoot = project.outer + "/b"
        try FileManager.default.createDirectory(atPath: bRoot, withIntermediateDirectories: true)
        let b = try TestGit(bRoot, uid: uid) { $0.remotePolicy.localRemotesRoot = remotes }
        defer { b.shutdown() }
        try await b.git.clone("file://" + bare)
        #expect(try String(contentsOfFile: bRoot + "/README.md", encoding: .utf8) == "from a\n")
        try await commitFile(b.git, "b.txt", "from b\n", by: bob)
        try await b.git.push("origin", url: "file://" + bare)
        #expect(try await a.git.pull("origin", url: "file://" + bare, author: alice) != .upToDate)
        #expect(try String(contentsOfFile: project.root + "/b.txt", encoding: .utf8) == "from b\n")
        let status = try await a.git.status()
        #expect(status.ahead == 0 && status.behind == 0)
        try await commitFile(a.git, "c.txt", "c\n", by: alice)
        #expect(try await a.git.status().ahead == 1)
    }

    @Test func httpsWithBasicAuthWorksWithTheRightCredentialsOnly() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let served = project.outer + "/srv"
        try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
        try GitCLI.run(["init", "--bare", "-q", "-b", "main", served + "/project.git"], in: project.outer)
        try GitCLI.run(["--git-dir", served + "/project.git", "config", "http.receivepack", "true"], in: project.outer)
        let cert = project.outer + "/cert.pem", key = project.outer + "/key.pem"
        try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                     "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                                     "-addext", "subjectAltName=DNS:localhost"])
        let server = Process()
        server.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "/usr/bin/env")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Support/git-https-server.py").path
        server.arguments = (server.executableURL!.path == "/usr/bin/env" ? ["python3"] : []) + [script, served, cert, key, "hma", "s3cret token"]
        let input = Pipe(), output = Pipe()
        server.standardInput = input
        server.standardOutput = output
        try server.run()
        defer {
            try? input.fileHandleForWriting.close()
            server.waitUntilExit()
        }
        let ready = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        let port = try #require(Int(ready.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").last ?? ""), "server said \(ready)")
        let url = "https://localhost:\(port)/project.git"

        let a = try TestGit(project.root) { $0.trustedCertificatesFile = cert }
        defer { a.shutdown() }
        try await a.git.initialize()
        try await commitFile(a.git, "app.swift", "print(1)\n", by: alice)
        try await a.git.addRemote("origin", url: url)
        let right = GitCredentials.usernamePassword(username: "hma", password: "s3cret token")
        await #expect(throws: GitError.self, "no credentials") { try await a.git.push("origin", url: url) }
        await #expect(throws: GitError.self, "wrong password") { try await a.git.push("origin", url: url, credentials: .usernamePassword(username: "hma", password: "nope")) }
        try await a.git.push("origin", url: url, credentials: right)
        #expect(try GitCLI.run(["--git-dir", served + "/project.git", "log", "--format=%s"], in: project.outer) == "edit app.swift")

        let bRoot = project.outer + "/b"
        try FileManager.default.createDirectory(atPath: bRoot, withIntermediateDirectories: true)
        let b = try TestGit(bRoot) { $0.trustedCertificatesFile = cert }
        defer { b.shutdown() }
        try await b.git.clone(url, credentials: right)
        try await commitFile(b.git, "more.swift", "print(2)\n", by: bob)
        try await b.git.push("origin", url: url, credentials: right)
        #expect(try await a.git.pull("origin", url: url, author: alice, credentials: right) != .upToDate)
        #expect(FileManager.default.fileExists(atPath: project.root + "/more.swift"))
        // The credentials are nowhere in the repositories.
        for directory in [project.root + "/.git", project.outer + "/b/.git"] {
            let config = try String(contentsOfFile: directory + "/config", encoding: .utf8)
            #expect(!config.contains("s3cret"), "\(directory)/config")
        }
        #expect(try GitCLI.run(["grep", "-r", "-c", "s3cret", "--no-index", "--", project.root + "/.git"], in: project.outer, allowFailure: true).isEmpty)
    }

    func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(executable) \(arguments)")
    }
}
