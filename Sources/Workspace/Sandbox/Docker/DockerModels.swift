import Foundation

/// The parts of the Docker Engine API (v1.41) the docker backend sends and
/// reads, as Codable types with the Engine's own key names.
enum DockerModels {
    struct ContainerConfig: Codable, Equatable {
        var image: String
        var command: [String]
        var workingDirectory: String
        var user: String
        var environment: [String]
        var networkDisabled: Bool
        var attachStdout = true
        var attachStderr = true
        var tty: Bool
        var openStdin: Bool
        var attachStdin: Bool
        var stdinOnce = false
        var hostConfig: HostConfig
        var labels: [String: String]

        enum CodingKeys: String, CodingKey {
            case image = "Image", command = "Cmd", workingDirectory = "WorkingDir", user = "User", environment = "Env"
            case networkDisabled = "NetworkDisabled", attachStdout = "AttachStdout", attachStderr = "AttachStderr", tty = "Tty"
            case openStdin = "OpenStdin", attachStdin = "AttachStdin", stdinOnce = "StdinOnce", hostConfig = "HostConfig", labels = "Labels"
        }
    }

    struct HostConfig: Codable, Equatable {
        var binds: [String]
        var memory: Int
        var memorySwap: Int
        var nanoCpus: Int
        var pidsLimit: Int
        var ulimits: [Ulimit]
        var logConfig: LogConfig
        var networkMode: String
        var capDrop: [String]
        var securityOpt: [String]
        var readonlyRootfs: Bool
        var tmpfs: [String: String]
        var initProcess: Bool

        enum CodingKeys: String, CodingKey {
            case binds = "Binds", memory = "Memory", memorySwap = "MemorySwap", nanoCpus = "NanoCpus", pidsLimit = "PidsLimit"
            case ulimits = "Ulimits", logConfig = "LogConfig", networkMode = "NetworkMode", capDrop = "CapDrop"
            case securityOpt = "SecurityOpt", readonlyRootfs = "ReadonlyRootfs", tmpfs = "Tmpfs", initProcess = "Init"
        }
    }

    struct Ulimit: Codable, Equatable {
        var name: String
        var soft: Int
        var hard: Int
        enum CodingKeys: String, CodingKey { case name = "Name", soft = "Soft", hard = "Hard" }
    }

    struct LogConfig: Codable, Equatable {
        var type: String
        var config: [String: String]
        enum CodingKeys: String, CodingKey { case type = "Type", config = "Config" }
    }

    /// `POST /containers/create` → 201.
    struct Created: Codable { var id: String; enum CodingKeys: String, CodingKey { case id = "Id" } }
    /// `POST /containers/{id}/wait` → 200.
    struct Waited: Codable { var statusCode: Int; enum CodingKeys: String, CodingKey { case statusCode = "StatusCode" } }
    /// `GET /containers/{id}/json`, the part we read.
    struct Inspected: Codable {
        struct State: Codable { var oomKilled: Bool?; enum CodingKeys: String, CodingKey { case oomKilled = "OOMKilled" } }
        var state: State?
        enum CodingKeys: String, CodingKey { case state = "State" }
    }
    /// One entry of `GET /containers/json`.
    struct Summary: Codable {
        var id: String
        var labels: [String: String]?
        enum CodingKeys: String, CodingKey { case id = "Id", labels = "Labels" }
    }
}
