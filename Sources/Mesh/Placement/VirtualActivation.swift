/// One active virtual actor.
public struct VirtualActivation: Hashable, Sendable, Codable {
    public let key: VirtualKey
    public let id: MeshActorID
}
