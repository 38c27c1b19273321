// hma-mesh-node --name NAME --certs DIR [--host 127.0.0.1] [--port 0] [--join HOST:PORT]
//
// A mesh node for multi-process tests: hosts a ProbeActor at
// /system/probe and prints "ready <incarnation hex> <port>" once it accepts
// connections, then runs until killed (or until its standard input closes,
// so a crashed test never leaves it behind).
import Foundation
import Logging
import Mesh
import MeshTesting

var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst()
while let key = arguments.popFirst() {
    guard key.hasPrefix("--"), let value = arguments.popFirst() else {
        FileHandle.standardError.write(Data("usage: hma-mesh-node --name NAME --certs DIR [--host H] [--port P]\n".utf8))
        exit(2)
    }
    options[String(key.dropFirst(2))] = value
}
guard let name = options["name"], let certs = options["certs"] else { exit(2) }

var settings = MeshSettings(
    name: try NodeName(name), bindHost: options["host"] ?? "127.0.0.1", bindPort: Int(options["port"] ?? "0") ?? 0,
    credentials: try NodeCredentials(directory: certs))
settings.defaultCallTimeout = .seconds(30)
var logger = Logger(label: "hma-mesh-node")
logger.logLevel = .warning
let system = try await MeshActorSystem.start(settings, logger: logger)
let probe = MeshActorSystem.$nextActorPath.withValue(ProbeActor.wellKnownPath) { ProbeActor(actorSystem: system) }
if let seed = options["join"], let colon = seed.lastIndex(of: ":"), let port = Int(seed[seed.index(after: colon)...]) {
    try await system.cluster.join([Endpoint(host: String(seed[..<colon]), port: port)])
}
FileHandle.standardOutput.write(Data("ready \(String(system.node.incarnation, radix: 16)) \(system.endpoint.port)\n".utf8))
// Exit when the parent goes away.
while FileHandle.standardInput.availableData.count > 0 {}
withExtendedLifetime(probe) {}
try await system.shutdown()
