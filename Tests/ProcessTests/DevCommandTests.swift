import Foundation
import ProcessTesting
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MeshTesting
import Testing

/// `hma dev` as a real process on a free port.
@Suite struct DevCommandTests {
    struct Health: Decodable {
        struct Check: Decodable { var status: String; var schema: String?; var node: String?; var endpoint: String? }
        var status: String
        var version: String
        var checks: [String: Check]
    }

    /// Starts `hma dev` on port 0 and returns it with the URL it printed.
    static func startDev(dataDir: String, extra: [String] = [], environment: [String: String] = [:]) async throws -> (ChildProcess, URL) {
        let child = try ChildProcess(
            ChildProcess.executable("hma"), ["dev", "--data-dir", dataDir, "--port", "0", "--mesh-port", "0"] + extra, environment: environment)
        let line = try await within(60, "hma dev to print its URL") {
            await child.lines.first { $0.contains("http://") }
        }
        let text = try #require(line, "hma dev exited early: \(child.standardError)")
        let url = try #require(URL(string: String(text[text.range(of: "http://")!.lowerBound...])))
        return (child, url)
    }

    static func get(_ url: URL) async throws -> (Int, Data) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.connectionProxyDictionary = [:]
        let session = URLSession(configuration: configuration)
        let (data, response) = try await session.data(from: url)
        return ((response as! HTTPURLResponse).statusCode, data)
    }

    @Test func servesHealthAndStopsCleanlyOnSIGTERM() async throws {
        let folder = NSTemporaryDirectory() + "hma-dev-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (child, url) = try await Self.startDev(dataDir: folder)
        #expect(url.host == "127.0.0.1")
        #expect(url.port != 8080 && url.port != 0)

        let (status, body) = try await Self.get(url.appendingPathComponent("health"))
        #expect(status == 200)
        let health = try JSONDecoder().decode(Health.self, from: body)
        #expect(health.status == "ok")
        #expect(health.checks["database"]?.status == "ok")
        #expect(health.checks["database"]?.schema?.hasPrefix("v5") == true)
        #expect(FileManager.default.fileExists(atPath: folder + "/hma.sqlite"))
        // The mesh listens with a dev CA created under the data dir.
        #expect(health.checks["mesh"]?.status == "ok")
        #expect(health.checks["mesh"]?.node?.hasPrefix("dev#") == true)
        #expect(health.checks["mesh"]?.endpoint?.hasPrefix("127.0.0.1:") == true)
        let key = try FileManager.default.attributesOfItem(atPath: folder + "/certs/node.key")[.posixPermissions] as? Int
        #expect(key == 0o600)
        let caBefore = try String(contentsOfFile: folder + "/certs/ca.pem", encoding: .utf8)

        let (pageStatus, page) = try await Self.get(url)
        #expect(pageStatus == 200)
        // The web IDE when frontend/dist is built, else a status page: HTML either way.
        #expect(String(decoding: page, as: UTF8.self).lowercased().hasPrefix("<!doctype html>"))

        child.signal(SIGTERM)
        let exit = try await within(30, "hma dev to exit after SIGTERM") { await child.exitStatus() }
        #expect(exit == 0, "stderr: \(child.standardError)")
        #expect(!child.terminatedBySignal)

        // A restart keeps the dev CA, so certificates issued from it stay valid.
        let (again, _) = try await Self.startDev(dataDir: folder)
        #expect(try String(contentsOfFile: folder + "/certs/ca.pem", encoding: .utf8) == caBefore)
        again.signal(SIGTERM)
        #expect(try await within(30, "hma dev to exit") { await again.exitStatus() } == 0)
    }

    @Test func refusesADataDirWhoseDatabaseIsNotSQLite() async throws {
        let folder = NSTemporaryDirectory() + "hma-dev-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("not a database".utf8).write(to: URL(fileURLWithPath: folder + "/hma.sqlite"))
        let child = try ChildProcess(ChildProcess.executable("hma"), ["dev", "--data-dir", folder, "--port", "0", "--mesh-port", "0"])
        let exit = try await within(60, "hma dev to exit") { await child.exitStatus() }
        #expect(exit != 0)
        #expect(child.standardError.contains("is not an HMA database"), "stderr: \(child.standardError)")
    }

    @Test func refusesADataDirWhoseProjectsTheirSandboxesCannotReach() async throws {
        // Like a data dir under /root (mode 0700): bwrap runs as each
        // project's uid, which may not pass through it. Said at start, with
        // the fix, instead of every command failing later.
        guard getuid() == 0 else { return }  // bwrap is the sandbox only as root
        let parent = NSTemporaryDirectory() + "hma-private-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let dev = try ChildProcess(ChildProcess.executable("hma"), ["dev", "--data-dir", parent + "/data", "--port", "0", "--mesh-port", "0"])
        #expect(try await within(60, "hma to exit") { await dev.exitStatus() } != 0)
        #expect(dev.standardError.contains("chmod o+x \(parent)"), "stderr: \(dev.standardError)")
    }

    @Test func refusesBadSettingsFromTheEnvironmentAndConfigFile() async throws {
        let folder = NSTemporaryDirectory() + "hma-dev-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let badPort = try ChildProcess(
            ChildProcess.executable("hma"), ["dev", "--data-dir", folder], environment: ["HMA_HTTP_PORT": "eighty"])
        #expect(try await within(60, "hma to exit") { await badPort.exitStatus() } != 0)
        #expect(badPort.standardError.contains("http.port must be an integer"), "stderr: \(badPort.standardError)")

        // Limits and retention thresholds that cannot work are refused at start.
        for (key, value, says) in [("HMA_LIMITS_USER_RUNS", "0", "must be positive"),
                                   ("HMA_LIMITS_MESSAGES_PER_SECOND", "lots", "must be a number"),
                                   ("HMA_RETENTION_ARCHIVE_DAYS", "100", "retention needs 0 < archive")] {
            let bad = try ChildProcess(ChildProcess.executable("hma"), ["dev", "--data-dir", folder, "--port", "0", "--mesh-port", "0"],
                                       environment: [key: value])
            #expect(try await within(60, "hma to exit") { await bad.exitStatus() } != 0, "\(key)=\(value) was accepted")
            #expect(bad.standardError.contains(says), "\(key)=\(value): \(bad.standardError)")
        }

        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let config = folder + "/config.json"
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: config))
        let badFile = try ChildProcess(ChildProcess.executable("hma"), ["dev", "--config", config, "--data-dir", folder])
        #expect(try await within(60, "hma to exit") { await badFile.exitStatus() } != 0)
        #expect(badFile.standardError.contains("is not valid JSON"), "stderr: \(badFile.standardError)")
    }

    @Test func takesSettingsFromAConfigFileAndTheEnvironment() async throws {
        let folder = NSTemporaryDirectory() + "hma-dev-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let config = folder + "/config.json"
        try Data(#"{"http": {"host": "127.0.0.3", "port": 0}, "mesh": {"port": 0}}"#.utf8).write(to: URL(fileURLWithPath: config))
        let dataDir = folder + "/from-env"
        let child = try ChildProcess(
            ChildProcess.executable("hma"), ["dev", "--config", config], environment: ["HMA_DATA_DIR": dataDir])
        let line = try await within(60, "hma dev to print its URL") { await child.lines.first { $0.contains("http://") } }
        #expect(line?.contains("http://127.0.0.3:") == true, "stdout line: \(line ?? "none"); stderr: \(child.standardError)")
        #expect(FileManager.default.fileExists(atPath: dataDir + "/hma.sqlite"))
        child.signal(SIGTERM)
        #expect(try await within(30, "hma dev to exit") { await child.exitStatus() } == 0)
    }
}
