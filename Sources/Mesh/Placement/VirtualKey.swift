/// A virtual actor's logical address: kind and key
/// (`coder` + `project/P/src/api/user.ts`).
public struct VirtualKey: Hashable, Sendable, Codable, CustomStringConvertible {
    public let kind: String
    public let key: String
    public init(kind: String, key: String) {
        self.kind = kind
        self.key = key
    }
    public var description: String { "\(kind):\(key)" }
    var path: String { "/virtual/\(kind)/\(key)" }
}
