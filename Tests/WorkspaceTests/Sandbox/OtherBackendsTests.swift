import Foundation
import Testing
@testable import Workspace

@Suite struct OtherBackendsTests {
    @Test func dockerRequestsCarryTheSameIsolationAsContainerOptions() throws {
        var configuration = SandboxConfiguration()
        configuration.limits.memoryBytes = 256 << 20
        configuration.limits.cpus = 0.5
        configuration.limits.pids = 128
        let request = DockerRequests.create(command: ["npm", "test"], projectRoot: "/srv/projects/p1", projectID: "p1", uid: 200_001,
                                            configuration: configuration, environment: ["CI": "1"])
        #expect(request.method == "POST" && request.path == "/v1.41/containers/create")
        let body = try #require(try JSONSerialization.jsonObject(with: request.body!) as? [String: Any])
        #expect(body["Cmd"] as? [String] == ["npm", "test"])
        #expect(body["User"] as? String == "200001:200001")
        #expect(body["WorkingDir"] as? String == "/project")
        #expect(body["NetworkDisabled"] as? Bool == true)
        #expect((body["Env"] as? [String])?.contains("CI=1") == true)
        let host = try #require(body["HostConfig"] as? [String: Any])
        #expect(host["Binds"] as? [String] == ["/srv/projects/p1:/project:rw"])
        #expect(host["Memory"] as? Int == 256 << 20 && host["MemorySwap"] as? Int == 256 << 20)
        #expect(host["NanoCpus"] as? Int == 500_000_000)
        #expect(host["PidsLimit"] as? Int == 128)
        let ulimits = try #require(host["Ulimits"] as? [[String: Any]])
        #expect(ulimits.map { "\($0["Name"]!)=\($0["Soft"]!):\($0["Hard"]!)" } == ["nofile=4096:4096", "nproc=4096:4096"], "nproc well above PidsLimit")
        #expect((host["LogConfig"] as? [String: Any])?["Config"] as? [String: String] == ["max-size": "8m"])
        #expect((body["Labels"] as? [String: String]) == ["dev.hma.project": "p1"])
        #expect(DockerRequests.remove("abc").path == "/v1.41/containers/abc?force=1&v=1", "anonymous volumes go with the container")
        #expect(host["NetworkMode"] as? String == "none")
        #expect(host["CapDrop"] as? [String] == ["ALL"])
        #expect(host["SecurityOpt"] as? [String] == ["no-new-privileges"])
        #expect(host["ReadonlyRootfs"] as? Bool == true)
        #expect(DockerRequests.kill("abc") == .init(method: "POST", path: "/v1.41/containers/abc/kill?signal=KILL", body: nil))
    }

    @Test func dockerLogFramesAreDemultiplexedAndHTTPResponsesParsed() throws {
        var frames = Data([1, 0, 0, 0, 0, 0, 0, 3]) + Data("out".utf8)
        frames += Data([2, 0, 0, 0, 0, 0, 0, 4]) + Data("err\n".utf8)
        #expect(DockerRequests.demultiplex(frames) == Data("outerr\n".utf8))
        let chunked = Data("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n".utf8)
        let response = try UnixHTTPClient.parse(chunked)
        #expect(response.status == 200 && response.body == Data("hello world".utf8))
        #expect(try UnixHTTPClient.parse(Data("HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}".utf8)).status == 404)
        // Cut or odd chunked bodies keep what arrived whole instead of trapping.
        let cut = try UnixHTTPClient.parse(Data("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nff\r\npartial".utf8))
        #expect(cut.body == Data("hellopartial".utf8))
        #expect(try UnixHTTPClient.parse(Data("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel".utf8)).body == Data("hel".utf8))
        #expect(try UnixHTTPClient.parse(Data("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n\r\n".utf8)).body.isEmpty)
        #expect(try UnixHTTPClient.parse(Data("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc".utf8)).body == Data("abc".utf8))
        #expect(throws: SandboxError.self) { _ = try UnixHTTPClient.parse(Data("garbage".utf8)) }
    }

    @Test func withoutADockerSocketTheDockerBackendSaysSo() throws {
        var configuration = SandboxConfiguration()
        configuration.dockerSocket = "/nonexistent/docker.sock"
        #expect(throws: SandboxError.unavailable(.docker, reason: "no Docker Engine socket at /nonexistent/docker.sock")) {
            _ = try DockerSandbox(projectRoot: "/tmp", projectID: "p", uid: 200_000, configuration: configuration)
        }
    }

    @Test func theUnsandboxedRunnerRunsOnlyWhenChosenAndEnforcesNothing() async throws {
        let project = try TemporaryProject()
        defer { project.remove() }
        var configuration = SandboxConfiguration()
        configuration.kind = SandboxKind.none
        let sandbox = try SandboxFactory.make(projectRoot: project.root, projectID: "plain", uid: 200_000, configuration: configuration)
        #expect(sandbox.kind == SandboxKind.none)
        #expect(sandbox.enforcement.unenforced == ["memory", "cpu", "pids"])
        let result = try await sandbox.run(["pwd"], options: RunOptions())
        #expect(result.text == project.root + "\n" || result.text == URL(fileURLWithPath: project.root).resolvingSymlinksInPath().path + "\n")
        // Never chosen by default.
        #expect(SandboxFactory.defaultKind(configuration: SandboxConfiguration()) != SandboxKind.none)
    }
}
