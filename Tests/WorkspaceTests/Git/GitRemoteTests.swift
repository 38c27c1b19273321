import Foundation
import Testing
@testable import Workspace

/// Fetch, pull and push between workspaces through a bare repository, over
/// file:// and over HTTPS with basic auth (git-http-backend behind a local
/// TLS server); credentials are given per call and never stored.
@Suite(.serialized) struct GitRemoteTests {
    let alice = GitSignature(name: "Alice", email: "alice@hma.test")
    let bob = GitSignature(name: "Bob", email: "bob@hma.test")

    func commitFile(_ repository: GitRepository, _ path: String, _ text: String, by author: GitSignature) throws {
        try ProjectFiles(root: repository.path).write(path, Data(text.utf8))
        try repository.stageAll()
        try repository.commit(message: "edit \(path)", author: author)
    }

    @Test func pushAndPullBetweenTwoWorkspacesThroughABareRepository() throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let bare = project.outer + "/shared.git"
        try GitCLI.run(["init", "--bare", "-q", "-b", "main", bare], in: project.outer)
        let a = try GitRepository.initialize(project.root)
        try commitFile(a, "README.md", "from a\n", by: alice)
        try a.addRemote("origin", url: "file://" + bare)
        try a.push("origin")
        #expect(try GitCLI.run(["--git-dir", bare, "log", "--format=%an %s"], in: project.outer) == "Alice edit README.md")

        let b = try GitRepository.clone("file://" + bare, into: project.outer + "/b")
        #expect(try String(contentsOfFile: project.outer + "/b/README.md", encoding: .utf8) == "from a\n")
        try commitFile(b, "b.txt", "from b\n", by: bob)
        try b.push("origin")
        #expect(try a.pull("origin", author: alice) != .upToDate)
        #expect(try String(contentsOfFile: project.root + "/b.txt", encoding: .utf8) == "from b\n")
        #expect(try a.status().ahead == 0 && a.status().behind == 0)
        try commitFile(a, "c.txt", "c\n", by: alice)
        #expect(try a.status().ahead == 1)
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
        try GitRepository.trustCertificates(file: cert)
        let url = "https://localhost:\(port)/project.git"

        let a = try GitRepository.initialize(project.root)
        try commitFile(a, "app.swift", "print(1)\n", by: alice)
        try a.addRemote("origin", url: url)
        let right = GitCredentials.usernamePassword(username: "hma", password: "s3cret token")
        #expect(throws: GitError.self, "no credentials") { try a.push("origin") }
        #expect(throws: GitError.self, "wrong password") { try a.push("origin", credentials: .usernamePassword(username: "hma", password: "nope")) }
        try a.push("origin", credentials: right)
        #expect(try GitCLI.run(["--git-dir", served + "/project.git", "log", "--format=%s"], in: project.outer) == "edit app.swift")

        let b = try GitRepository.clone(url, into: project.outer + "/b", credentials: right)
        try commitFile(b, "more.swift", "print(2)\n", by: bob)
        try b.push("origin", credentials: right)
        #expect(try a.pull("origin", author: alice, credentials: right) != .upToDate)
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
