import Distributed
import Foundation
import Synchronization

/// The allow-list of types a mesh decodes from the wire: call arguments,
/// results and thrown errors. Anything else is refused with
/// `MeshError.typeNotAllowed` before a byte of it is decoded.
///
/// Standard types (numbers, strings, `Data`, `Bool`, arrays and optionals of
/// them) are registered from the start. Register your own with
/// `register(_:)`; an error type registered with a name crosses the wire as
/// itself, other errors arrive as `MeshError.remote(type:message:)`.
public final class TypeRegistry: Sendable {
    private struct State {
        var allowed: Set<ObjectIdentifier> = []
        var errorDecoders: [String: @Sendable (BinaryDecoder, [UInt8]) throws -> any Error] = [:]
        var errorNames: [ObjectIdentifier: String] = [:]
        var substitutions: [String: Any.Type] = [:]
    }
    private let state = Mutex(State())

    public init() {
        registerStandardTypes()
    }

    /// Allows `type` as an argument or result, with its arrays and optionals
    /// (`[T]`, `T?`, `[T]?`).
    public func register<T: Codable>(_ type: T.Type) {
        state.withLock { state in
            for allowed: Any.Type in [T.self, [T].self, T?.self, [T]?.self] {
                state.allowed.insert(ObjectIdentifier(allowed))
            }
        }
    }

    /// Allows `type` as a thrown error, sent under `name` (stable across builds).
    public func registerError<E: Error & Codable>(_ type: E.Type, name: String) {
        state.withLock { state in
            state.allowed.insert(ObjectIdentifier(type))
            state.errorNames[ObjectIdentifier(type)] = name
            state.errorDecoders[name] = { decoder, bytes in try decoder.decode(E.self, from: bytes) }
        }
    }

    /// Allows calls through a `@Resolvable` protocol's stub (`$Proto<MeshActorSystem>`)
    /// to be executed here: such calls name the stub type as a generic parameter.
    public func register<Stub: DistributedActor>(resolvableStub: Stub.Type) {
        guard let name = _mangledTypeName(Stub.self) else { return }
        state.withLock { $0.substitutions[name] = Stub.self }
    }

    func substitution(named name: String) -> Any.Type? {
        state.withLock { $0.substitutions[name] }
    }

    public func isAllowed(_ type: Any.Type) -> Bool {
        state.withLock { $0.allowed.contains(ObjectIdentifier(type)) }
    }

    func errorName(of type: any Any.Type) -> String? {
        state.withLock { $0.errorNames[ObjectIdentifier(type)] }
    }

    func decodeError(named name: String, from bytes: [UInt8], using decoder: BinaryDecoder) -> (any Error)? {
        guard let decode = state.withLock({ $0.errorDecoders[name] }) else { return nil }
        return try? decode(decoder, bytes)
    }

    private func registerStandardTypes() {
        register(Bool.self); register(String.self); register(Data.self)
        register(Int.self); register(Int8.self); register(Int16.self); register(Int32.self); register(Int64.self)
        register(UInt.self); register(UInt8.self); register(UInt16.self); register(UInt32.self); register(UInt64.self)
        register(Double.self); register(Float.self); register(Date.self); register(UUID.self)
        register([String: String].self)
        register([String: Int].self)
        register(MeshActorID.self)
        register(NodeID.self)
        register(MemberState.self)
    }
}
