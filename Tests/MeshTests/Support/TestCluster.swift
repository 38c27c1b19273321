import Foundation
import Logging
@testable import Mesh

/// Certificates for test nodes, made once per test process (P-256 signing is cheap).
enum TestCertificates {
    static let ca: CertificateAuthority.Issued = try! CertificateAuthority.makeCA(commonName: "HMA test CA")
    static let otherCA: CertificateAuthority.Issued = try! CertificateAuthority.makeCA(commonName: "Some other CA")

    static func credentials(_ name: String, ca: CertificateAuthority.Issued = ca) -> NodeCredentials {
        let issued = try! CertificateAuthority.issueNode(
            try! NodeName(name), addresses: ["127.0.0.1"], caCertificatePEM: ca.certificatePEM, caPrivateKeyPEM: ca.privateKeyPEM)
        return NodeCredentials(caCertificatePEM: ca.certificatePEM, certificatePEM: issued.certificatePEM, privateKeyPEM: issued.privateKeyPEM)
    }
}

/// Starts an in-process node on 127.0.0.1 with a free port.
func startNode(_ name: String, configure: (inout MeshSettings) -> Void = { _ in }) async throws -> MeshActorSystem {
    var settings = MeshSettings(name: try NodeName(name), credentials: TestCertificates.credentials(name))
    settings.defaultCallTimeout = .seconds(10)
    configure(&settings)
    var logger = Logger(label: "test.\(name)")
    logger.logLevel = .critical
    return try await MeshActorSystem.start(settings, logger: logger)
}
