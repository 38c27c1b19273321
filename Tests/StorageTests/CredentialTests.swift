import Foundation
import Storage
import Testing

@Suite("Access tokens and user secrets")
struct CredentialTests {
    func makeStore() throws -> (Store, String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hma-cred-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return (try Store(path: folder + "/hma.sqlite"), folder)
    }

    @Test func aOnceTokenSignsInExactlyOnce() async throws {
        let (store, folder) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let user = try await store.ensureUser(name: "dev")
        let hash = Data(repeating: 7, count: 32)
        try await store.addAccessToken(hash: hash, userId: user.id, kind: .once)
        #expect(try await store.redeemAccessToken(hash: hash, kinds: [.once])?.id == user.id)
        #expect(try await store.redeemAccessToken(hash: hash, kinds: [.once]) == nil)
    }

    @Test func aTokenOnlyCountsForItsKindAndUntilItExpires() async throws {
        let (store, folder) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let user = try await store.ensureUser(name: "alice")
        let api = Data(repeating: 1, count: 32)
        let expired = Data(repeating: 2, count: 32)
        try await store.addAccessToken(hash: api, userId: user.id, kind: .api, label: "laptop")
        try await store.addAccessToken(hash: expired, userId: user.id, kind: .login, expiresAt: Date(timeIntervalSinceNow: -1))
        #expect(try await store.redeemAccessToken(hash: api, kinds: [.login]) == nil)
        #expect(try await store.redeemAccessToken(hash: api, kinds: [.api])?.name == "alice")
        #expect(try await store.redeemAccessToken(hash: api, kinds: [.api])?.name == "alice")
        #expect(try await store.redeemAccessToken(hash: expired, kinds: [.login]) == nil)
        try await store.revokeAccessTokens(userId: user.id)
        #expect(try await store.redeemAccessToken(hash: api, kinds: [.api]) == nil)
    }

    @Test func secretsAreKeptPerUserAndReplaced() async throws {
        let (store, folder) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let alice = try await store.ensureUser(name: "alice")
        let bob = try await store.ensureUser(name: "bob")
        try await store.setUserSecret(userId: alice.id, name: "openai", sealed: Data([1, 2, 3]))
        try await store.setUserSecret(userId: alice.id, name: "openai", sealed: Data([4]))
        #expect(try await store.userSecret(userId: alice.id, name: "openai") == Data([4]))
        #expect(try await store.userSecret(userId: bob.id, name: "openai") == nil)
        #expect(try await store.userSecretNames(userId: alice.id) == ["openai"])
        await #expect(throws: StorageError.self) {
            try await store.setUserSecret(userId: "nobody", name: "openai", sealed: Data())
        }
    }
}
