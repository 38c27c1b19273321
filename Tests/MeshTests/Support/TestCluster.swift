import Foundation
import Logging
import MeshTesting
@testable import Mesh

/// Certificates for test nodes, made once per test process (P-256 signing is cheap).
enum TestCertificates {
    static let ca: CertificateAuthority.Issued = try! CertificateAuthority.makeCA(commonName: "HMA test CA")
    static let otherCA: CertificateAuthority.Issued = try! CertificateAuthority.makeCA(commonName: "Some other CA")

    static func credentials(_ name: String, roles: NodeRoles = .member, ca: CertificateAuthority.Issued = ca) -> NodeCredentials {
        let issued = try! CertificateAuthority.issueNode(
            try! NodeName(name), roles: roles, addresses: ["127.0.0.1"], caCertificatePEM: ca.certificatePEM, caPrivateKeyPEM: ca.privateKeyPEM)
        return NodeCredentials(caCertificatePEM: ca.certificatePEM, certificatePEM: issued.certificatePEM, privateKeyPEM: issued.privateKeyPEM)
    }
}

/// Starts an in-process node on 127.0.0.1 with a free port.
func startNode(_ name: String, configure: (inout MeshSettings) -> Void = { _ in }) async throws -> MeshActorSystem {
    var settings = MeshSettings(name: try NodeName(name), credentials: TestCertificates.credentials(name))
    settings.defaultCallTimeout = .seconds(10)
    settings.labels = ["node": name]
    configure(&settings)
    var logger = Logger(label: "test.\(name)")
    logger.logLevel = .critical
    return try await MeshActorSystem.start(settings, logger: logger)
}

/// Starts nodes, joins the later ones through the first, and returns once
/// every node sees all of them up.
func startCluster(_ names: [String], configure: (String, inout MeshSettings) -> Void = { _, _ in }) async throws -> [MeshActorSystem] {
    var systems: [MeshActorSystem] = []
    for name in names { systems.append(try await startNode(name) { configure(name, &$0) }) }
    for system in systems.dropFirst() { try await system.cluster.join([systems[0].endpoint]) }
    for system in systems {
        try await waitForMembers(of: system, "\(system.node.name) to see \(names.count) members up") { members in
            members.filter { $0.status == .up }.count == names.count
        }
    }
    return systems
}

func shutdownAll(_ systems: [MeshActorSystem]) async {
    for system in systems { try? await system.shutdown() }
}
