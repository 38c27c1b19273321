import Foundation

/// The Engine API requests of the docker backend (no I/O; tested alone).
enum DockerRequests {
    struct Request: Equatable {
        var method: String
        var path: String
        var body: Data?
        /// Asks the engine to hand the connection over to a raw stream.
        var upgrade = false
    }

    static let version = "v1.41"

    /// The `nproc` rlimit: room for every terminal and a command of the
    /// project at its pids limit.
    static func processLimit(_ configuration: SandboxConfiguration) -> Int {
        max(4096, configuration.limits.pids * (configuration.maxTerminals + 2))
    }

    /// Labels every container carries: its project, and the server
    /// process that made it (containers of another instance of the same
    /// project are a crashed server's, removed when a sandbox starts).
    static let projectLabel = "dev.hma.project", instanceLabel = "dev.hma.instance"
    static let instance = UUID().uuidString

    /// - Parameter terminal: a TTY and an open standard input (a shell the
    ///   user types into through `attach`).
    static func create(command: [String], projectRoot: String, projectID: String, uid: UInt32, configuration: SandboxConfiguration,
                       environment: [String: String], terminal: Bool = false) -> Request {
        var variables = ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/project", "LANG=C.UTF-8"]
        variables += environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let processes = DockerRequests.processLimit(configuration)
        let hostConfig = DockerModels.HostConfig(
            binds: ["\(projectRoot):/project:rw"],
            memory: configuration.limits.memoryBytes,
            memorySwap: configuration.limits.memoryBytes,
            nanoCpus: Int(configuration.limits.cpus * 1_000_000_000),
            pidsLimit: configuration.limits.pids,
            // Explicit, or runc fails on hosts whose own limits are below the
            // engine's defaults. nproc counts every process of the uid on
            // the host, so it is set well above PidsLimit (which contains a
            // fork bomb): one container's bomb must not stop the next start.
            ulimits: [.init(name: "nofile", soft: configuration.limits.openFiles, hard: configuration.limits.openFiles),
                      .init(name: "nproc", soft: processes, hard: processes)],
            // The engine's copy of the output stays small (the caller keeps maxOutputBytes).
            logConfig: .init(type: "", config: ["max-size": "8m"]),
            networkMode: configuration.allowNetwork ? "bridge" : "none",
            capDrop: ["ALL"],
            securityOpt: ["no-new-privileges"],
            readonlyRootfs: true,
            tmpfs: ["/tmp": "rw,nosuid,nodev,size=\(configuration.limits.tmpBytes)"],
            initProcess: true)
        let body = DockerModels.ContainerConfig(
            image: configuration.dockerImage, command: command, workingDirectory: "/project", user: "\(uid):\(uid)",
            environment: variables, networkDisabled: !configuration.allowNetwork, tty: terminal, openStdin: terminal,
            attachStdin: terminal, hostConfig: hostConfig, labels: [projectLabel: projectID, instanceLabel: instance])
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = try! encoder.encode(body)  // plain strings and numbers: cannot fail
        return Request(method: "POST", path: "/\(version)/containers/create", body: data)
    }

    static func start(_ id: String) -> Request { Request(method: "POST", path: "/\(version)/containers/\(id)/start") }
    static func wait(_ id: String) -> Request { Request(method: "POST", path: "/\(version)/containers/\(id)/wait") }
    static func kill(_ id: String) -> Request { Request(method: "POST", path: "/\(version)/containers/\(id)/kill?signal=KILL") }
    static func inspect(_ id: String) -> Request { Request(method: "GET", path: "/\(version)/containers/\(id)/json") }
    static func logs(_ id: String) -> Request { Request(method: "GET", path: "/\(version)/containers/\(id)/logs?stdout=1&stderr=1") }
    /// With its anonymous volumes (an image's VOLUME would otherwise outlive it).
    static func remove(_ id: String) -> Request { Request(method: "DELETE", path: "/\(version)/containers/\(id)?force=1&v=1") }
    static func attach(_ id: String) -> Request {
        Request(method: "POST", path: "/\(version)/containers/\(id)/attach?stream=1&stdin=1&stdout=1&stderr=1", upgrade: true)
    }
    /// The containers of `projectID`, running or not.
    static func list(projectID: String) -> Request {
        let filter = #"{"label":["\#(projectLabel)=\#(projectID)"]}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        return Request(method: "GET", path: "/\(version)/containers/json?all=1&filters=\(filter)")
    }
    static func resize(_ id: String, rows: UInt16, columns: UInt16) -> Request {
        Request(method: "POST", path: "/\(version)/containers/\(id)/resize?h=\(rows)&w=\(columns)")
    }

    /// The new container's id from a `create` answer, or the engine's reason.
    static func containerID(_ response: DockerEngineClient.Response) throws -> String {
        guard response.status == 201 else {
            throw SandboxError.launchFailed("docker create: \(response.status) \(String(decoding: response.body, as: UTF8.self))")
        }
        return try response.decode(DockerModels.Created.self, "create").id
    }

    static func checkStarted(_ response: DockerEngineClient.Response) throws {
        guard response.status == 204 || response.status == 304 else {
            throw SandboxError.launchFailed("docker start: \(response.status) \(String(decoding: response.body, as: UTF8.self))")
        }
    }

    /// The logs of a container without a TTY come in frames: a byte for the
    /// stream, three zero bytes, a big-endian u32 length, then the bytes.
    static func demultiplex(_ data: Data) -> Data {
        var output = Data()
        var index = data.startIndex
        while data.endIndex - index >= 8 {
            let length = data[(index + 4)..<(index + 8)].reduce(0) { $0 << 8 | Int($1) }
            let start = index + 8
            guard data.endIndex - start >= length else { break }
            output.append(data[start..<(start + length)])
            index = start + length
        }
        return output
    }
}
