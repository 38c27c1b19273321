import Foundation

extension NodeCredentials {
    /// The credentials `hma dev` uses: a dev CA and a certificate for `name`
    /// under `directory`, created on first start (keys mode 0600) and reused
    /// afterwards, so workers can be issued certificates from the same CA
    /// (`hma certs issue NAME --ca DIRECTORY`) and join the dev node.
    public static func loadOrCreateDev(directory: String, name: NodeName) throws -> NodeCredentials {
        let files = ["ca.pem", "ca.key", "node.pem", "node.key"].map { (directory as NSString).appendingPathComponent($0) }
        if files.allSatisfy(FileManager.default.fileExists(atPath:)) {
            let credentials = try NodeCredentials(directory: directory)
            // Reissued when the name differs or the roles are missing (a
            // certificate from before roles were written into them).
            if credentials.identity == .init(name: name.rawValue, roles: .member) { return credentials }
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ca: CertificateAuthority.Issued
        if FileManager.default.fileExists(atPath: files[0]), FileManager.default.fileExists(atPath: files[1]) {
            ca = .init(certificatePEM: try String(contentsOfFile: files[0], encoding: .utf8),
                       privateKeyPEM: try String(contentsOfFile: files[1], encoding: .utf8))
        } else {
            ca = try CertificateAuthority.makeCA(commonName: "HMA dev CA")
            try writeFile(files[0], ca.certificatePEM, secret: false)
            try writeFile(files[1], ca.privateKeyPEM, secret: true)
        }
        let node = try CertificateAuthority.issueNode(
            name, roles: .member, addresses: ["127.0.0.1", "localhost"], caCertificatePEM: ca.certificatePEM, caPrivateKeyPEM: ca.privateKeyPEM)
        try writeFile(files[2], node.certificatePEM, secret: false)
        try writeFile(files[3], node.privateKeyPEM, secret: true)
        return NodeCredentials(caCertificatePEM: ca.certificatePEM, certificatePEM: node.certificatePEM, privateKeyPEM: node.privateKeyPEM)
    }

    /// Writes `text` to `path` atomically; secrets get mode 0600 from creation on.
    public static func writeFile(_ path: String, _ text: String, secret: Bool) throws {
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, secret ? 0o600 : 0o644)
        guard descriptor >= 0 else { throw CertificateAuthority.Failure.unreadable(path: path, reason: String(cString: strerror(errno))) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        fchmod(descriptor, secret ? 0o600 : 0o644)
        fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CertificateAuthority.Failure.unreadable(path: path, reason: "cannot write: \(String(cString: strerror(errno)))")
        }
    }
}
