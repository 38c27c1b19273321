import Foundation
import ProcessTesting
import Mesh
import MeshTesting
import Testing

/// `hma certs init` and `hma certs issue` as an operator runs them.
@Suite struct CertsCommandTests {
    func run(_ arguments: [String]) async throws -> (Int32, ChildProcess) {
        let child = try ChildProcess(ChildProcess.executable("hma"), arguments)
        let status = try await within(60, "hma \(arguments.joined(separator: " "))") { await child.exitStatus() }
        return (status, child)
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }

    @Test func initThenIssueWritesUsableFilesWithPrivateKeysClosed() async throws {
        let folder = NSTemporaryDirectory() + "hma-certs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(try await run(["certs", "init", "--out", folder + "/ca"]).0 == 0)
        #expect(try mode(folder + "/ca/ca.key") == 0o600)
        let (status, child) = try await run(["certs", "issue", "worker-7", "--ca", folder + "/ca", "--out", folder + "/w7",
                                             "--address", "127.0.0.7", "--address", "worker7.example.internal"])
        #expect(status == 0, "\(child.standardError)")
        #expect(try mode(folder + "/w7/node.key") == 0o600)
        let credentials = try NodeCredentials(directory: folder + "/w7")
        #expect(credentials.identity == .init(name: "worker-7", roles: .worker), "worker unless told otherwise")
        #expect(credentials.caCertificatePEM == (try String(contentsOfFile: folder + "/ca/ca.pem", encoding: .utf8)))
        _ = try credentials.tlsConfiguration(server: true)

        // A second init would orphan every issued certificate: refused without --force.
        let (again, refused) = try await run(["certs", "init", "--out", folder + "/ca"])
        #expect(again != 0)
        #expect(refused.standardError.contains("--force"))
    }

    @Test func badNamesAddressesAndFoldersAreRefused() async throws {
        let folder = NSTemporaryDirectory() + "hma-certs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(try await run(["certs", "init", "--out", folder + "/ca"]).0 == 0)
        let (badName, nameChild) = try await run(["certs", "issue", "Worker_1", "--ca", folder + "/ca", "--out", folder + "/x"])
        #expect(badName != 0 && nameChild.standardError.contains("a-z, 0-9 and '-'"))
        let (badAddress, addressChild) = try await run(["certs", "issue", "w", "--ca", folder + "/ca", "--out", folder + "/x", "--address", "not a host!"])
        #expect(badAddress != 0 && addressChild.standardError.contains("neither an IP address nor a DNS name"))
        let (badRole, roleChild) = try await run(["certs", "issue", "w", "--ca", folder + "/ca", "--out", folder + "/x", "--role", "admin"])
        #expect(badRole != 0 && roleChild.standardError.contains("gateway, worker or observer"), "\(roleChild.standardError)")
        let (noCA, caChild) = try await run(["certs", "issue", "w", "--ca", folder + "/missing", "--out", folder + "/x"])
        #expect(noCA != 0 && caChild.standardError.contains("hma certs init"))
        #expect(!FileManager.default.fileExists(atPath: folder + "/x/node.key"))
    }
}
