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
        #expect((body["Labels"] as? [String: String]) == ["dev.hma.project": "p1", "dev.hma.instance": DockerRequests.instance])
        #expect((host["Tmpfs"] as? [String: String]) == ["/tmp": "rw,nosuid,nodev,size=\(64 << 20)"])
        #expect(DockerRequests.remove("abc").path == "/v1.41/containers/abc?force=1&v=1", "anonymous volumes go with the container")
        #expect(host["NetworkMode"] as? String == "none")
        #expect(host["CapDrop"] as? [String] == ["ALL"])
        #expect(host["SecurityOpt"] as? [String] == ["no-new-privileges"])
        #expect(host["ReadonlyRootfs"] as? Bool == true)
        #expect(DockerRequests.kill("abc") == .init(method: "POST", path: "/v1.41/containers/abc/kill?signal=KILL", body: nil))
    }

    @Test func dockerLogFramesAreDemultiplexedAndEngineAnswersDecoded() throws {
        var frames = Data([1, 0, 0, 0, 0, 0, 0, 3]) + Data("out".utf8)
        frames += Data([2, 0, 0, 0, 0, 0, 0, 4]) + Data("err\n".utf8)
        #expect(DockerRequests.demultiplex(frames) == Data("outerr\n".utf8))
        // The engine's answers are read as Codable types; one the backend cannot read is a clear error.
        let created = DockerEngineClient.Response(status: 201, body: Data(#"{"Id":"abc123","Warnings":[]}"#.utf8))
        #expect(try DockerRequests.containerID(created) == "abc123")
        #expect(throws: SandboxError.self) { try DockerRequests.containerID(.init(status: 201, body: Data("{}".utf8))) }
        #expect(throws: SandboxError.self) { try DockerRequests.containerID(.init(status: 500, body: Data(#"{"message":"no such image"}"#.utf8))) }
        let inspected = try DockerEngineClient.Response(status: 200, body: Data(#"{"State":{"OOMKilled":true,"Status":"exited"}}"#.utf8))
            .decode(DockerModels.Inspected.self, "inspect")
        #expect(inspected.state?.oomKilled == true)
        let list = DockerRequests.list(projectID: "p1")
        #expect(list.path.hasPrefix("/v1.41/containers/json?all=1&filters=") && list.path.removingPercentEncoding?.contains(#"{"label":["dev.hma.project=p1"]}"#) == true)
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
