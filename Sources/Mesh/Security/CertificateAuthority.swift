import Crypto
import Foundation
import SwiftASN1
import X509

/// The cluster's certificate authority: creates the CA and issues node
/// certificates (docs/wire-protocol.md §2). Keys are P-256 ECDSA.
///
/// A node certificate names its node in a subject-alternative-name URI
/// `urn:hma:node:<name>` — the one name the mesh handshake accepts for that
/// node — its roles in URIs `urn:hma:role:<gateway|worker|observer>` (the
/// only roles the node is granted, whatever it claims), and lists the
/// node's addresses as DNS names / IP addresses.
public enum CertificateAuthority {
    /// The URI prefix that carries the node name in a certificate.
    public static let nodeURIPrefix = "urn:hma:node:"
    /// The URI prefix that carries each role in a certificate.
    public static let roleURIPrefix = "urn:hma:role:"

    /// Who a verified certificate says its holder is.
    public struct Identity: Sendable, Equatable {
        public var name: String
        public var roles: NodeRoles

        public init(name: String, roles: NodeRoles) {
            self.name = name
            self.roles = roles
        }
    }

    public struct Issued: Sendable {
        public var certificatePEM: String
        public var privateKeyPEM: String
    }

    public enum Failure: Error, CustomStringConvertible {
        case invalidAddress(String)
        case unreadable(path: String, reason: String)
        case noRoles

        public var description: String {
            switch self {
            case .noRoles: return "A node certificate needs at least one role (gateway, worker or observer)."
            case .invalidAddress(let address): return "\(address) is neither an IP address nor a DNS name."
            case .unreadable(let path, let reason): return "Cannot read \(path): \(reason)."
            }
        }
    }

    /// A new self-signed CA, valid for `years`.
    public static func makeCA(commonName: String = "HMA cluster CA", years: Int = 10, now: Date = Date()) throws -> Issued {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("HMA")
            CommonName(commonName)
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(Double(years) * 365 * 86_400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(key.publicKey))
            },
            issuerPrivateKey: .init(key))
        return Issued(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
    }

    /// A certificate for node `name` with `roles`, signed by the CA, valid for `days`.
    /// - Parameter addresses: host names and IP addresses the node is reached at.
    public static func issueNode(
        _ name: NodeName, roles: NodeRoles, addresses: [String], caCertificatePEM: String, caPrivateKeyPEM: String,
        days: Int = 825, now: Date = Date()
    ) throws -> Issued {
        guard !roles.isEmpty else { throw Failure.noRoles }
        let caCertificate = try Certificate(pemEncoded: caCertificatePEM)
        let caKey = try P256.Signing.PrivateKey(pemRepresentation: caPrivateKeyPEM)
        let key = P256.Signing.PrivateKey()
        var names: [GeneralName] = [.uniformResourceIdentifier(nodeURIPrefix + name.rawValue)]
        for role in roles.names { names.append(.uniformResourceIdentifier(roleURIPrefix + role)) }
        for address in addresses { names.append(try generalName(for: address)) }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
            issuer: caCertificate.subject,
            subject: try DistinguishedName {
                OrganizationName("HMA")
                CommonName(name.rawValue)
            },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
                SubjectKeyIdentifier(hash: .init(key.publicKey))
                AuthorityKeyIdentifier(keyIdentifier: try caCertificate.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: .init(caKey))
        return Issued(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
    }

    /// The node name a certificate (DER) was issued for: the single
    /// `urn:hma:node:` URI among its subject alternative names, else nil.
    public static func nodeName(inCertificateDER der: [UInt8]) -> String? {
        identity(inCertificateDER: der)?.name
    }

    /// The node name and roles a certificate (DER) was issued for. Role
    /// URIs naming no known role are ignored; a certificate with none has no
    /// roles (one from before roles were written into certificates).
    public static func identity(inCertificateDER der: [UInt8]) -> Identity? {
        guard let certificate = try? Certificate(derEncoded: der),
              let names = try? certificate.extensions.subjectAlternativeNames else { return nil }
        var nodeNames: [String] = []
        var roles: NodeRoles = []
        for name in names {
            guard case .uniformResourceIdentifier(let uri) = name else { continue }
            if uri.hasPrefix(nodeURIPrefix) { nodeNames.append(String(uri.dropFirst(nodeURIPrefix.count))) }
            if uri.hasPrefix(roleURIPrefix), let role = NodeRoles.byName.first(where: { roleURIPrefix + $0.0 == uri }) {
                roles.insert(role.1)
            }
        }
        return nodeNames.count == 1 ? Identity(name: nodeNames[0], roles: roles) : nil
    }

    static func generalName(for address: String) throws -> GeneralName {
        if let bytes = ipv4Bytes(address) ?? ipv6Bytes(address) {
            return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes)))
        }
        let label = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
        guard address.count <= 253, address.range(of: "^\(label)(\\.\(label))*$", options: .regularExpression) != nil else {
            throw Failure.invalidAddress(address)
        }
        return .dnsName(address)
    }

    static func ipv4Bytes(_ text: String) -> [UInt8]? {
        var address = in_addr()
        return inet_pton(AF_INET, text, &address) == 1 ? withUnsafeBytes(of: &address) { Array($0) } : nil
    }

    static func ipv6Bytes(_ text: String) -> [UInt8]? {
        var address = in6_addr()
        return inet_pton(AF_INET6, text, &address) == 1 ? withUnsafeBytes(of: &address) { Array($0) } : nil
    }
}
