/// The stable name of a mesh node, as written in its certificate and claimed
/// in the handshake. Names are DNS-label-like so they fit in a certificate's
/// subject alternative name: 1–63 characters of `a-z`, `0-9` and `-`, not
/// starting or ending with `-`.
public struct NodeName: Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    public enum Invalid: Error, Equatable, CustomStringConvertible {
        case empty
        case tooLong(Int)
        case badCharacter(Character)
        case edgeHyphen

        public var description: String {
            switch self {
            case .empty: return "A node name cannot be empty."
            case .tooLong(let n): return "A node name has at most 63 characters (this one has \(n))."
            case .badCharacter(let c): return "A node name uses only a-z, 0-9 and '-' (found \"\(c)\")."
            case .edgeHyphen: return "A node name cannot start or end with '-'."
            }
        }
    }

    /// - Throws: `NodeName.Invalid` naming what is wrong.
    public init(_ text: String) throws {
        guard !text.isEmpty else { throw Invalid.empty }
        guard text.count <= 63 else { throw Invalid.tooLong(text.count) }
        if let bad = text.first(where: { !($0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-")) }) {
            throw Invalid.badCharacter(bad)
        }
        guard text.first != "-", text.last != "-" else { throw Invalid.edgeHyphen }
        rawValue = text
    }

    private enum CodingKeys: String, CodingKey { case rawValue }

    /// Decoded names pass the same checks as made ones: a peer cannot
    /// gossip a member named "" or "Zz!" into the cluster (synthesised
    /// decoding would set `rawValue` without them).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(container.decode(String.self, forKey: .rawValue))
    }

    public var description: String { rawValue }
}
