import Foundation
import Mesh

/// A CA and credentials written where `hma-mesh-node` reads them.
public struct CertificateFolder: Sendable {
    public let folder: String
    public let ca: CertificateAuthority.Issued

    public init() throws {
        folder = NSTemporaryDirectory() + "hma-mesh-certs-\(UUID().uuidString)"
        ca = try CertificateAuthority.makeCA()
    }

    public func credentials(_ name: String) throws -> NodeCredentials {
        let issued = try CertificateAuthority.issueNode(try NodeName(name), roles: .member, addresses: ["127.0.0.1"], caCertificatePEM: ca.certificatePEM, caPrivateKeyPEM: ca.privateKeyPEM)
        return NodeCredentials(caCertificatePEM: ca.certificatePEM, certificatePEM: issued.certificatePEM, privateKeyPEM: issued.privateKeyPEM)
    }

    public func directory(for name: String) throws -> String {
        let credentials = try credentials(name)
        let directory = folder + "/" + name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try credentials.caCertificatePEM.write(toFile: directory + "/ca.pem", atomically: true, encoding: .utf8)
        try credentials.certificatePEM.write(toFile: directory + "/node.pem", atomically: true, encoding: .utf8)
        try credentials.privateKeyPEM.write(toFile: directory + "/node.key", atomically: true, encoding: .utf8)
        return directory
    }
}

