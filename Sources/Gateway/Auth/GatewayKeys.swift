import Crypto
import Foundation

/// The gateway's secret key (32 random bytes in `<data>/gateway.key`, mode
/// 0600, made on first start): it signs download links and seals users'
/// provider keys at rest (AES-GCM). Losing it invalidates both.
public struct GatewayKeys: Sendable {
    let key: SymmetricKey

    public init(key: SymmetricKey) { self.key = key }

    /// Loads the key from `directory`, creating it on first use.
    public static func loadOrCreate(directory: String) throws -> GatewayKeys {
        let path = (directory as NSString).appendingPathComponent("gateway.key")
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count == 32 else { throw KeyError(path: path, reason: "it holds \(data.count) bytes, not 32") }
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let mode = attributes[.posixPermissions] as? NSNumber, mode.intValue & 0o077 != 0 {
                throw KeyError(path: path, reason: "others may read it (mode \(String(mode.intValue, radix: 8))); chmod 600 it")
            }
            return GatewayKeys(key: SymmetricKey(data: data))
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let key = SymmetricKey(size: .bits256)
        let data = key.withUnsafeBytes { Data($0) }
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw KeyError(path: path, reason: String(cString: strerror(errno))) }
        defer { Glibc.close(fd) }
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == data.count, fsync(fd) == 0 else { throw KeyError(path: path, reason: "could not write it") }
        return GatewayKeys(key: key)
    }

    public struct KeyError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "the gateway key \(path) cannot be used: \(reason)" }
    }

    /// HMAC-SHA256 of `message`, base64url.
    func sign(_ message: String) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: key)).base64URL
    }

    func verify(_ message: String, signature: String) -> Bool {
        guard let mac = Data(base64URL: signature) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data(message.utf8), using: key)
    }

    /// Seals a secret; `context` (user and name) is bound in, so a sealed
    /// value copied to another row does not open.
    func seal(_ secret: String, context: String) throws -> Data {
        try AES.GCM.seal(Data(secret.utf8), using: key, authenticating: Data(context.utf8)).combined ?? Data()
    }

    func open(_ sealed: Data, context: String) throws -> String {
        let box = try AES.GCM.SealedBox(combined: sealed)
        return String(decoding: try AES.GCM.open(box, using: key, authenticating: Data(context.utf8)), as: UTF8.self)
    }
}

extension Data {
    var base64URL: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    init?(base64URL text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        self.init(base64Encoded: base64)
    }
}
