import ArgumentParser
import Foundation
import Mesh

/// `hma certs`: the cluster CA and node certificates for the mesh's mutual TLS.
struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Create the cluster CA and issue node certificates.",
        subcommands: [Init.self, Issue.self]
    )

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a cluster CA: writes ca.pem and ca.key (mode 0600) into --out.")

        @Option(help: "Folder to write the CA into (created if missing).")
        var out: String

        @Flag(help: "Replace an existing CA in --out (every node certificate it issued stops working).")
        var force = false

        func run() throws {
            let ca = CertificateFiles(directory: out)
            if !force && FileManager.default.fileExists(atPath: ca.path("ca.key")) {
                throw ValidationError("\(ca.path("ca.key")) exists; pass --force to replace the CA.")
            }
            let issued = try CertificateAuthority.makeCA()
            try ca.write("ca.pem", issued.certificatePEM, secret: false)
            try ca.write("ca.key", issued.privateKeyPEM, secret: true)
            print("Created the cluster CA in \(out) (keep ca.key secret; copy only ca.pem to nodes).")
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a certificate for NODE: writes node.key (0600), node.pem and ca.pem into --out.")

        @Argument(help: "The node name (a-z, 0-9, '-'; at most 63 characters).")
        var node: String

        @Option(help: "Folder holding the CA (ca.pem and ca.key).")
        var ca: String

        @Option(help: "Folder to write the node's files into (created if missing).")
        var out: String

        @Option(name: .customLong("address"), help: "A host name or IP address the node is reached at (repeatable).")
        var addresses: [String] = []

        @Option(name: .customLong("role"), help: "gateway, worker or observer (repeatable; default worker). An observer can only read status (`hma status`).")
        var roleNames: [String] = ["worker"]

        func run() throws {
            let name: NodeName
            do { name = try NodeName(node) } catch { throw ValidationError("\(error)") }
            var roles: NodeRoles = []
            for roleName in roleNames {
                guard let role = NodeRoles.byName.first(where: { $0.0 == roleName }) else {
                    throw ValidationError("Unknown role \"\(roleName)\": use gateway, worker or observer.")
                }
                roles.insert(role.1)
            }
            let caFiles = CertificateFiles(directory: ca)
            let caPEM = try caFiles.read("ca.pem"), caKey = try caFiles.read("ca.key")
            let issued: CertificateAuthority.Issued
            do {
                issued = try CertificateAuthority.issueNode(name, roles: roles, addresses: addresses, caCertificatePEM: caPEM, caPrivateKeyPEM: caKey)
            } catch let failure as CertificateAuthority.Failure {
                throw ValidationError(failure.description)
            }
            let files = CertificateFiles(directory: out)
            try files.write("node.key", issued.privateKeyPEM, secret: true)
            try files.write("node.pem", issued.certificatePEM, secret: false)
            try files.write("ca.pem", caPEM, secret: false)
            print("Issued a certificate for node \(name) (\(roles.names.joined(separator: ", "))) in \(out).")
        }
    }
}

/// Reads and writes the PEM files of `hma certs` (private keys get mode 0600
/// from the moment they exist).
struct CertificateFiles {
    let directory: String

    func path(_ file: String) -> String { (directory as NSString).appendingPathComponent(file) }

    func read(_ file: String) throws -> String {
        do { return try String(contentsOfFile: path(file), encoding: .utf8) } catch {
            throw ValidationError("Cannot read \(path(file)): is --ca the folder written by `hma certs init`?")
        }
    }

    func write(_ file: String, _ text: String, secret: Bool) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try NodeCredentials.writeFile(path(file), text, secret: secret)
        } catch {
            throw ValidationError("Cannot write \(path(file)): \(error)")
        }
    }
}
