import Foundation
import NIOSSL
import Testing
@testable import Mesh

@Suite struct CertificateAuthorityTests {
    func der(_ pem: String) throws -> [UInt8] {
        try NIOSSLCertificate(bytes: Array(pem.utf8), format: .pem).toDERBytes()
    }

    @Test func aNodeCertificateNamesExactlyItsNode() throws {
        let ca = try CertificateAuthority.makeCA()
        let issued = try CertificateAuthority.issueNode(
            try NodeName("gateway"), roles: [.gateway], addresses: ["10.0.0.5", "::1", "gw.example"],
            caCertificatePEM: ca.certificatePEM, caPrivateKeyPEM: ca.privateKeyPEM)
        #expect(CertificateAuthority.nodeName(inCertificateDER: try der(issued.certificatePEM)) == "gateway")
        // The CA itself names no node, so it cannot be used as one.
        #expect(CertificateAuthority.nodeName(inCertificateDER: try der(ca.certificatePEM)) == nil)
        #expect(CertificateAuthority.nodeName(inCertificateDER: [1, 2, 3]) == nil)
    }

    @Test func refusesAddressesThatAreNeitherIPNorDNS() throws {
        let ca = try CertificateAuthority.makeCA()
        for bad in ["", "has space", "-leading.example", "under_score", String(repeating: "a", count: 300)] {
            #expect(throws: CertificateAuthority.Failure.self) {
                try CertificateAuthority.issueNode(try NodeName("n"), roles: .worker, addresses: [bad], caCertificatePEM: ca.certificatePEM, caPrivateKeyPEM: ca.privateKeyPEM)
            }
        }
    }

    @Test func aNodeCertificateCarriesItsRoles() throws {
        let ca = try CertificateAuthority.makeCA()
        for roles in [NodeRoles.gateway, .worker, .observer, .member, [.gateway, .worker, .observer]] {
            let issued = try CertificateAuthority.issueNode(
                try NodeName("n"), roles: roles, addresses: [], caCertificatePEM: ca.certificatePEM, caPrivateKeyPEM: ca.privateKeyPEM)
            #expect(CertificateAuthority.identity(inCertificateDER: try der(issued.certificatePEM)) == .init(name: "n", roles: roles))
        }
        #expect(throws: CertificateAuthority.Failure.self) {
            try CertificateAuthority.issueNode(try NodeName("n"), roles: [], addresses: [], caCertificatePEM: ca.certificatePEM, caPrivateKeyPEM: ca.privateKeyPEM)
        }
    }

    @Test func aNodeRefusesToStartWithSomeoneElsesCertificate() async throws {
        let settings = MeshSettings(name: try NodeName("alice"), credentials: TestCertificates.credentials("bob"))
        await #expect(throws: MeshError.handshakeRejected("the certificate is for node bob, not alice")) {
            try await MeshActorSystem.start(settings)
        }
    }
}
