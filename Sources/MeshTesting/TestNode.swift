import Foundation
import Logging
import Mesh

/// A mesh node driven over standard input, for multi-process tests and the
/// cluster benchmark (`hma-mesh-node`, `hma-bench-node`).
///
/// Options: `--name N --certs DIR [--host H] [--port P] [--join H:P,…]
/// [--labels k=v,…] [--store-here yes | --store H:P] [--register KEY]
/// [--suspicion-ms MS] [--probe-ms MS] [--probe-timeout-ms MS]
/// [--indirect-probes N] [--join-timeout S] [--log-level L]`.
///
/// It prints `ready <incarnation hex> <port>` once it has joined, then
/// `event member NAME STATUS` for every change of another member and
/// `event listing KEY a,b` for every change of the registered key's listing.
/// Commands on standard input are `<id> <command> [argument]`, answered by
/// `<id> ok <result>` or `<id> error <message>`:
/// `members`, `leader`, `call KEY` (increments the virtual counter KEY:
/// `VALUE NODE`), `activations`, `listing KEY`. End of input: the node
/// leaves the cluster and exits 0.
public enum TestNode {
    public static let counterLabel = ["counters": "yes"]

    public static func main() async {
        do {
            try await run(Array(CommandLine.arguments.dropFirst()))
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("hma test node: \(error)\n".utf8))
            exit(1)
        }
    }

    static func run(_ arguments: [String]) async throws {
        var options: [String: String] = [:]
        var rest = arguments[...]
        while let key = rest.popFirst() {
            guard key.hasPrefix("--"), let value = rest.popFirst() else { throw UsageError(text: "expected --option value, got \(key)") }
            options[String(key.dropFirst(2))] = value
        }
        guard let name = options["name"], let certs = options["certs"] else { throw UsageError(text: "--name and --certs are required") }
        var settings = MeshSettings(
            name: try NodeName(name), bindHost: options["host"] ?? "127.0.0.1", bindPort: Int(options["port"] ?? "0") ?? 0,
            credentials: try NodeCredentials(directory: certs))
        for pair in (options["labels"] ?? "").split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { settings.labels[String(parts[0])] = String(parts[1]) }
        }
        if let milliseconds = options["suspicion-ms"].flatMap(Int.init) {
            settings.failureDetector.suspicionTimeout = .milliseconds(milliseconds)
        }
        if let milliseconds = options["probe-ms"].flatMap(Int.init) {
            settings.failureDetector.probeInterval = .milliseconds(milliseconds)
        }
        if let milliseconds = options["probe-timeout-ms"].flatMap(Int.init) {
            settings.failureDetector.probeTimeout = .milliseconds(milliseconds)
        }
        if let count = options["indirect-probes"].flatMap(Int.init) {
            settings.failureDetector.indirectProbes = count
        }
        var logger = Logger(label: "hma-test-node.\(name)")
        logger.logLevel = options["log-level"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let system = try await MeshActorSystem.start(settings, logger: logger)
        let probe = MeshActorSystem.$nextActorPath.withValue(ProbeActor.wellKnownPath) { ProbeActor(actorSystem: system) }

        let events = Task {
            for await member in system.cluster.changes() where member.node != system.node {
                line("event member \(member.node.name) \(member.status)")
            }
        }
        if let seeds = options["join"] {
            let timeout = Duration.seconds(Int(options["join-timeout"] ?? "30") ?? 30)
            try await system.cluster.join(try seeds.split(separator: ",").map { try endpoint(String($0)) }, timeout: timeout)
        }
        // The counters' state store: here, or on another node.
        var store: StateStoreActor?
        var hostedStore: StateStoreActor?
        if options["store-here"] == "yes" {
            hostedStore = MeshActorSystem.$nextActorPath.withValue(StateStoreActor.wellKnownPath) { StateStoreActor(actorSystem: system) }
            store = hostedStore
        } else if let at = options["store"] {
            let storeEndpoint = try endpoint(at)
            let node = try await system.node(at: storeEndpoint)
            store = try StateStoreActor.resolve(id: MeshActorID(node: node, endpoint: storeEndpoint, path: StateStoreActor.wellKnownPath), using: system)
        }
        if let store { CounterActor.register(on: system, store: store, placement: PlacementRequirement(labels: counterLabel)) }
        var listings: Task<Void, Never>?
        if let key = options["register"] {
            let receptionKey = ReceptionKey(ProbeActor.self, id: key)
            system.receptionist.register(probe, with: receptionKey)
            listings = Task {
                for await listing in system.receptionist.listing(receptionKey) {
                    line("event listing \(key) \(listing.map { $0.id.node.name.rawValue }.joined(separator: ","))")
                }
            }
        }
        line("ready \(String(system.node.incarnation, radix: 16)) \(system.endpoint.port)")

        for await input in standardInputLines() {
            let parts = input.split(separator: " ", maxSplits: 2).map(String.init)
            guard parts.count >= 2 else { continue }
            let (id, command, argument) = (parts[0], parts[1], parts.count > 2 ? parts[2] : "")
            Task {
                do {
                    line("\(id) ok \(try await answer(command, argument, system: system))")
                } catch {
                    line("\(id) error \(error)")
                }
            }
        }
        events.cancel()
        listings?.cancel()
        try await system.shutdown()
        withExtendedLifetime((probe, hostedStore)) {}
    }

    static func answer(_ command: String, _ argument: String, system: MeshActorSystem) async throws -> String {
        switch command {
        case "members":
            return system.cluster.members.map { "\($0.node.name):\($0.status)" }.joined(separator: ",")
        case "leader":
            return system.cluster.leader?.node.name.rawValue ?? "-"
        case "call":
            return try await system.virtualActors.call(CounterActor.self, kind: CounterActor.kind, key: argument) { counter in
                "\(try await counter.increment()) \(try await counter.hostNode())"
            }
        case "activations":
            return system.virtualActors.localActivations.map(\.key.key).sorted().joined(separator: ",")
        case "listing":
            return system.receptionist.lookup(ReceptionKey(ProbeActor.self, id: argument)).map { $0.id.node.name.rawValue }.joined(separator: ",")
        default:
            throw UsageError(text: "unknown command \(command)")
        }
    }

    /// Lines of standard input, read on a thread of their own (blocking reads
    /// must not hold a cooperative thread).
    static func standardInputLines() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        Thread.detachNewThread {
            while let line = readLine() { continuation.yield(line) }
            continuation.finish()
        }
        return stream
    }

    static func endpoint(_ text: String) throws -> Endpoint {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
            throw UsageError(text: "\(text) is not HOST:PORT")
        }
        return Endpoint(host: String(text[..<colon]), port: port)
    }

    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    struct UsageError: Error, CustomStringConvertible {
        let text: String
        var description: String { text }
    }
}
