import Crypto
import Foundation
import Storage

/// Who a request is (docs/operations.md, "Accounts"). Tokens are 32 random
/// bytes, base64url; the database keeps only their SHA-256. Browsers sign
/// in by opening `/?token=…` with a one-time or API token and get an
/// `HttpOnly; SameSite=Strict` session cookie; programs send
/// `Authorization: Bearer <API token>`.
public struct Accounts: Sendable {
    public static let cookieName = "hma_session"
    /// How long a browser stays signed in.
    public static let loginLifetime: TimeInterval = 30 * 86_400

    let store: Store

    public init(store: Store) { self.store = store }

    static func newToken() -> String {
        Data(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }).base64URL
    }

    static func hash(_ token: String) -> Data { Data(SHA256.hash(data: Data(token.utf8))) }

    /// Creates a token for `userId` and returns it (the only time it is seen).
    public func issue(_ kind: AccessTokenKind, userId: String, label: String? = nil, lifetime: TimeInterval? = nil) async throws -> String {
        let token = Self.newToken()
        try await store.addAccessToken(hash: Self.hash(token), userId: userId, kind: kind, label: label,
                                       expiresAt: lifetime.map { Date(timeIntervalSinceNow: $0) })
        return token
    }

    /// Exchanges a one-time or API token for a new login token (the cookie's value).
    public func signIn(token: String) async throws -> (user: User, login: String)? {
        guard Self.plausible(token), let user = try await store.redeemAccessToken(hash: Self.hash(token), kinds: [.once, .api]) else {
            return nil
        }
        return (user, try await issue(.login, userId: user.id, lifetime: Self.loginLifetime))
    }

    /// The user behind a session cookie or a bearer token.
    public func user(cookie: String?, bearer: String?) async throws -> User? {
        if let cookie, Self.plausible(cookie), let user = try await store.redeemAccessToken(hash: Self.hash(cookie), kinds: [.login]) {
            return user
        }
        if let bearer, Self.plausible(bearer) {
            return try await store.redeemAccessToken(hash: Self.hash(bearer), kinds: [.api])
        }
        return nil
    }

    /// Cheap shape check before touching the database.
    static func plausible(_ token: String) -> Bool {
        (20...100).contains(token.utf8.count) && token.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x2D || byte == 0x5F
        }
    }

    /// The value of cookie `name` in a `Cookie` header.
    public static func cookie(_ name: String, in header: String?) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            if pair.hasPrefix(name + "=") { return String(pair.dropFirst(name.count + 1)) }
        }
        return nil
    }

    /// The token of an `Authorization: Bearer …` header.
    public static func bearer(in header: String?) -> String? {
        guard let header, header.lowercased().hasPrefix("bearer ") else { return nil }
        return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    /// Whether a WebSocket upgrade's `Origin` may open a socket. Browsers
    /// always send the page's origin (http or https), which must be this
    /// gateway's own address (host and port the request was addressed
    /// to) or one listed. No Origin, or a `ws:`/`wss:` one, comes from a
    /// program, not a page another site could have opened.
    public static func originAllowed(_ origin: String?, host: String?, allowed: [String]) -> Bool {
        guard let origin else { return true }
        if allowed.contains(origin) { return true }
        guard let url = URL(string: origin), let scheme = url.scheme?.lowercased(), let originHost = url.host else { return false }
        if scheme == "ws" || scheme == "wss" { return true }
        guard scheme == "http" || scheme == "https", let host else { return false }
        let originAuthority = url.port.map { "\(originHost):\($0)" } ?? originHost
        return originAuthority.lowercased() == host.lowercased()
    }
}
