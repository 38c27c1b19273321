import Foundation
import NIOSSL

/// A node's TLS identity as `hma certs issue` writes it into a folder:
/// `ca.pem` (the cluster CA), `node.pem` (this node's certificate) and
/// `node.key` (its private key, mode 0600).
public struct NodeCredentials: Sendable {
    public var caCertificatePEM: String
    public var certificatePEM: String
    public var privateKeyPEM: String

    public init(caCertificatePEM: String, certificatePEM: String, privateKeyPEM: String) {
        self.caCertificatePEM = caCertificatePEM
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }

    /// Reads the three files from `directory`.
    public init(directory: String) throws {
        func read(_ file: String) throws -> String {
            let path = (directory as NSString).appendingPathComponent(file)
            do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw CertificateAuthority.Failure.unreadable(path: path, reason: "\(error)")
            }
        }
        self.init(caCertificatePEM: try read("ca.pem"), certificatePEM: try read("node.pem"), privateKeyPEM: try read("node.key"))
    }

    /// The node name this identity's certificate was issued for.
    public var nodeName: String? { identity?.name }

    /// The node name and roles this identity's certificate grants.
    public var identity: CertificateAuthority.Identity? {
        guard let certificate = try? NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem),
              let der = try? certificate.toDERBytes() else { return nil }
        return CertificateAuthority.identity(inCertificateDER: der)
    }

    /// TLS 1.3 only, mutual authentication against the cluster CA. Host
    /// names are not checked by TLS: the mesh handshake checks the node name
    /// instead (a node is known by name, not by address).
    public func tlsConfiguration(server: Bool) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)
        var configuration = server
            ? TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            : TLSConfiguration.makeClientConfiguration()
        if !server {
            configuration.certificateChain = chain
            configuration.privateKey = .privateKey(key)
        }
        configuration.minimumTLSVersion = .tlsv13
        configuration.maximumTLSVersion = .tlsv13
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caCertificatePEM.utf8)))
        return configuration
    }
}
