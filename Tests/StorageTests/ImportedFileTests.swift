import Foundation
import Testing
@testable import Storage

@Suite struct ImportedFileTests {
    @Test func contentHashIsSHA256Hex() {
        #expect(ImportedFile.contentHash(of: Data("abc".utf8))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(ImportedFile.contentHash(of: Data())
            == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func recordsAndReplacesImportedFiles() async throws {
        let fixture = try await Fixture()
        let session = try await fixture.store.createSession(userId: fixture.user.id, title: "t")
        let v1 = ImportedFile.contentHash(of: Data("v1".utf8))
        let v2 = ImportedFile.contentHash(of: Data("version 2".utf8))
        let first = try await fixture.store.recordImportedFile(sessionId: session.id, path: "src/main.ts", size: 2, contentHash: v1)
        #expect(first.name == "main.ts")
        try await fixture.store.recordImportedFile(sessionId: session.id, path: "README.md", size: 2, contentHash: v1)
        let replaced = try await fixture.store.recordImportedFile(sessionId: session.id, path: "src/main.ts", size: 9, contentHash: v2)
        #expect(replaced.id == first.id)
        let files = try await fixture.store.importedFiles(sessionId: session.id)
        #expect(files.map(\.path) == ["README.md", "src/main.ts"])
        #expect(files[1].size == 9 && files[1].contentHash == v2)
    }

    @Test func refusesBadRecords() async throws {
        let fixture = try await Fixture()
        let session = try await fixture.store.createSession(userId: fixture.user.id, title: "t")
        let hash = ImportedFile.contentHash(of: Data())
        await #expect(throws: StorageError.sessionNotFound(id: "gone")) {
            try await fixture.store.recordImportedFile(sessionId: "gone", path: "a", size: 0, contentHash: hash)
        }
        await #expect(throws: StorageError.invalidField(name: "content hash", reason: "it is not a lowercase hex SHA-256")) {
            try await fixture.store.recordImportedFile(sessionId: session.id, path: "a", size: 0, contentHash: "abc")
        }
        await #expect(throws: StorageError.invalidField(name: "file size", reason: "it is negative")) {
            try await fixture.store.recordImportedFile(sessionId: session.id, path: "a", size: -1, contentHash: hash)
        }
        await #expect(throws: StorageError.invalidField(name: "file path", reason: "it is empty")) {
            try await fixture.store.recordImportedFile(sessionId: session.id, path: "", size: 0, contentHash: hash)
        }
        #expect(try await fixture.count("imported_file") == 0)
    }
}
