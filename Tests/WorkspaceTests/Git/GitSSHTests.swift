import Foundation
import Testing
@testable import Workspace

/// Push, clone and pull over SSH with a key file, against a real OpenSSH
/// server started by the test on 127.0.0.1 (root only: sshd logs the test
/// in as root, whose shell runs git-upload-pack / git-receive-pack), through
/// the git helper in each project's jail, as the server runs it: the key
/// file stays with the server, its contents reach the helper's private /tmp.
@Suite(.serialized, .enabled(if: LocalSSHServer.available && BwrapSandbox.isAvailable, "needs root, sshd, ssh-keygen and bubblewrap"))
struct GitSSHTests {
    let alice = GitSignature(name: "Alice", email: "alice@hma.test")

    @Test func pushCloneAndPullOverSSHWithAKeyAndAPinnedHostKey() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let server = try await LocalSSHServer.start(in: project.outer)
        let bare = project.outer + "/shared.git"
        try GitCLI.run(["init", "--bare", "-q", "-b", "main", bare], in: project.outer)
        let url = "ssh://root@127.0.0.1:\(server.port)\(bare)"
        let key = GitCredentials.sshKey(username: "root", privateKey: server.clientKey, publicKey: server.clientKey + ".pub",
                                        passphrase: nil, hostKeySHA256: server.hostKeyFingerprint)

        let a = try TestGit(project.root)
        defer { a.shutdown() }
        try await a.git.initialize()
        try ProjectFiles(root: project.root).write("main.swift", Data("print(1)\n".utf8))
        try await a.git.stageAll()
        _ = try await a.git.commit(message: "first", author: alice)
        try await a.git.addRemote("origin", url: url)
        try await a.git.push("origin", url: url, credentials: key)
        #expect(try GitCLI.run(["--git-dir", bare, "log", "--format=%an %s"], in: project.outer) == "Alice first")

        let bRoot = project.outer + "/b"
        try FileManager.default.createDirectory(atPath: bRoot, withIntermediateDirectories: true)
        let b = try TestGit(bRoot)
        defer { b.shutdown() }
        try await b.git.clone(url, credentials: key)
        try ProjectFiles(root: bRoot).write("more.swift", Data("print(2)\n".utf8))
        try await b.git.stageAll()
        _ = try await b.git.commit(message: "second", author: alice)
        try await b.git.push("origin", url: url, credentials: key)
        let pulled = try await a.git.pull("origin", url: url, author: alice, credentials: key)
        #expect(pulled != .upToDate)
        #expect(try String(contentsOfFile: project.root + "/more.swift", encoding: .utf8) == "print(2)\n")
        // The key's path and contents are nowhere in the repositories.
        let config = try String(contentsOfFile: project.root + "/.git/config", encoding: .utf8)
        #expect(!config.contains(server.clientKey))
        withExtendedLifetime(server) {}
    }

    @Test func aHostKeyOtherThanThePinnedOneIsRefusedBeforeAuthenticating() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        let server = try await LocalSSHServer.start(in: project.outer)
        let bare = project.outer + "/shared.git"
        try GitCLI.run(["init", "--bare", "-q", "-b", "main", bare], in: project.outer)
        let a = try TestGit(project.root)
        defer { a.shutdown() }
        try await a.git.initialize()
        try ProjectFiles(root: project.root).write("x", Data("x\n".utf8))
        try await a.git.stageAll()
        _ = try await a.git.commit(message: "x", author: alice)
        let url = "ssh://root@127.0.0.1:\(server.port)\(bare)"
        try await a.git.addRemote("origin", url: url)

        let wrongHost = GitCredentials.sshKey(username: "root", privateKey: server.clientKey, publicKey: server.clientKey + ".pub",
                                              passphrase: nil, hostKeySHA256: "SHA256:" + String(repeating: "A", count: 43))
        let wrongHostError = await #expect(throws: GitError.self) { try await a.git.push("origin", url: url, credentials: wrongHost) }
        #expect(wrongHostError.map { "\($0)" }?.lowercased().contains("certificate") == true || wrongHostError.map { "\($0)" }?.lowercased().contains("host") == true,
                "\(String(describing: wrongHostError))")

        // A key the server does not know.
        let strangerKey = project.outer + "/stranger"
        try LocalSSHServer.keygen(strangerKey)
        let stranger = GitCredentials.sshKey(username: "root", privateKey: strangerKey, publicKey: strangerKey + ".pub",
                                             passphrase: nil, hostKeySHA256: server.hostKeyFingerprint)
        let strangerError = await #expect(throws: GitError.self) { try await a.git.push("origin", url: url, credentials: stranger) }
        // No credentials at all.
        let noKeyError = await #expect(throws: GitError.self) { try await a.git.push("origin", url: url) }
        // Refused for their credentials, not because of a dead server. Without
        // a key there is no fingerprint to check the host key against either.
        #expect("\(String(describing: strangerError))".contains("authentication failed"), "\(String(describing: strangerError))")
        #expect("\(String(describing: noKeyError))".contains("hostkey"), "\(String(describing: noKeyError))")
        #expect(try GitCLI.run(["--git-dir", bare, "log", "--format=%s"], in: project.outer, allowFailure: true).isEmpty,
                "nothing was pushed")
        // The server lived through every attempt (its last use is above).
        withExtendedLifetime(server) {}
    }
}

/// An OpenSSH server on 127.0.0.1 with its own host key and one authorised
/// client key, in a folder of the test; stopped when the object goes.
final class LocalSSHServer: Sendable {
    static var available: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh-keygen")
    }

    let process: Daemon
    let port: Int
    let clientKey: String
    let hostKeyFingerprint: String

    private init(process: Daemon, port: Int, clientKey: String, hostKeyFingerprint: String) {
        self.process = process
        self.port = port
        self.clientKey = clientKey
        self.hostKeyFingerprint = hostKeyFingerprint
    }

    static func keygen(_ path: String) throws {
        _ = try output("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "hma-test", "-f", path])
    }

    static func start(in folder: String) async throws -> LocalSSHServer {
        let hostKey = folder + "/ssh_host_ed25519_key", clientKey = folder + "/id_ed25519"
        try keygen(hostKey)
        try keygen(clientKey)
        try FileManager.default.copyItem(atPath: clientKey + ".pub", toPath: folder + "/authorized_keys")
        // "256 SHA256:… hma-test (ED25519)"
        let fingerprint = try output("/usr/bin/ssh-keygen", ["-l", "-f", hostKey + ".pub"]).split(separator: " ")[1]
        // sshd refuses to start without its privilege separation folder.
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)

        // A port nobody listens on; sshd cannot be asked for an ephemeral one.
        // Another process may take it in between: then sshd says so and the
        // next port is tried.
        for _ in 0..<5 {
            let port = try freePort()
            let config = folder + "/sshd_config"
            try """
            ListenAddress 127.0.0.1:\(port)
            HostKey \(hostKey)
            AuthorizedKeysFile \(folder)/authorized_keys
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            PidFile none
            LogLevel INFO

            """.write(toFile: config, atomically: true, encoding: .utf8)
            let process = try Daemon(["/usr/sbin/sshd", "-D", "-e", "-f", config], directory: folder)
            let line = await process.waitForLine(containing: ["Server listening", "Bind to port", "fatal"])
            if let line, line.contains("Server listening") {
                return LocalSSHServer(process: process, port: port, clientKey: clientKey, hostKeyFingerprint: String(fingerprint))
            }
            await process.stop()
            if let line, line.contains("fatal"), !line.contains("Bind to port") { throw SSHServerFailed(output: line) }
        }
        throw SSHServerFailed(output: "no free port after 5 attempts")
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw SSHServerFailed(output: "no port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func output(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw SSHServerFailed(output: "\(executable) \(arguments) failed") }
        return String(decoding: data, as: UTF8.self)
    }
}

struct SSHServerFailed: Error, CustomStringConvertible {
    let output: String
    var description: String { "sshd did not start: \(output)" }
}
