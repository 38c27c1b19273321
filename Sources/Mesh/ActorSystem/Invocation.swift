import Distributed
import NIOCore

/// Records a distributed call's arguments, each encoded on its own with the
/// mesh's binary codec (docs/wire-protocol.md §7).
public struct MeshInvocationEncoder: DistributedTargetInvocationEncoder {
    public typealias SerializationRequirement = any Codable

    var arguments: [[UInt8]] = []
    var genericSubstitutions: [String] = []
    let encoder = BinaryEncoder()

    public mutating func recordGenericSubstitution<T>(_ type: T.Type) throws {
        guard let name = _mangledTypeName(T.self) else {
            throw MeshError.unsupported("generic parameter \(T.self) has no mangled name")
        }
        genericSubstitutions.append(name)
    }

    public mutating func recordArgument<Value: Codable>(_ argument: RemoteCallArgument<Value>) throws {
        arguments.append(try encoder.encode(argument.value))
    }

    public mutating func recordReturnType<R: Codable>(_ type: R.Type) throws {}

    public mutating func recordErrorType<E: Error>(_ type: E.Type) throws {}

    public mutating func doneRecording() throws {}
}

/// Hands a received call's arguments to the distributed thunk, refusing any
/// type that is not on the allow-list.
public struct MeshInvocationDecoder: DistributedTargetInvocationDecoder {
    public typealias SerializationRequirement = any Codable

    var arguments: [ByteBuffer]
    var substitutions: [String]
    var next = 0
    let registry: TypeRegistry
    let decoder: BinaryDecoder

    /// Only names registered with `TypeRegistry.register(resolvableStub:)`
    /// resolve: a name from the wire is never handed to the runtime's type
    /// lookup.
    public mutating func decodeGenericSubstitutions() throws -> [Any.Type] {
        try substitutions.map { name in
            guard let type = registry.substitution(named: name) else { throw MeshError.typeNotAllowed(name) }
            return type
        }
    }

    public mutating func decodeNextArgument<Argument: Codable>() throws -> Argument {
        guard next < arguments.count else {
            throw MeshError.decodeFailed("the call has \(arguments.count) arguments; the function expects more")
        }
        guard registry.isAllowed(Argument.self) else { throw MeshError.typeNotAllowed(String(reflecting: Argument.self)) }
        defer { next += 1 }
        do {
            return try decoder.decode(Argument.self, from: arguments[next].readableBytesView)
        } catch {
            throw MeshError.decodeFailed("argument \(next) as \(Argument.self): \(error)")
        }
    }

    public mutating func decodeErrorType() throws -> Any.Type? { nil }

    public mutating func decodeReturnType() throws -> Any.Type? { nil }
}

/// Sends the outcome of a received call back as a `reply` or `failure` frame.
public struct MeshResultHandler: DistributedTargetInvocationResultHandler {
    public typealias SerializationRequirement = any Codable

    let reply: @Sendable (CallOutcome) -> Void
    let registry: TypeRegistry

    public func onReturn<Success: Codable>(value: Success) async throws {
        do {
            reply(.value(try BinaryEncoder().encode(value)))
        } catch {
            reply(.failure(code: .decodeFailed, type: "", message: "could not encode the result: \(error)", payload: nil))
        }
    }

    public func onReturnVoid() async throws {
        reply(.void)
    }

    public func onThrow<Err: Error>(error: Err) async throws {
        if let meshError = error as? MeshError {
            reply(CallOutcome(meshError))
            return
        }
        // The dynamic type: `Err` is often just `any Error`.
        let dynamicType = type(of: error as any Error)
        let registered = registry.errorName(of: dynamicType)
        let name = registered ?? String(reflecting: dynamicType)
        var payload: [UInt8]?
        if registered != nil, let codable = error as? any Encodable {
            payload = try? BinaryEncoder().encode(codable)
        }
        reply(.failure(code: .remote, type: name, message: "\(error)", payload: payload))
    }
}

/// How a received call ended, as sent back to the caller.
enum CallOutcome: Sendable {
    case value([UInt8])
    case void
    case failure(code: WireErrorCode, type: String, message: String, payload: [UInt8]?)

    init(_ error: MeshError) {
        switch error {
        case .actorNotFound(let id): self = .failure(code: .actorNotFound, type: "", message: id, payload: nil)
        case .typeNotAllowed(let type): self = .failure(code: .typeNotAllowed, type: type, message: error.description, payload: nil)
        case .decodeFailed(let reason): self = .failure(code: .decodeFailed, type: "", message: reason, payload: nil)
        case .unknownTarget(let target): self = .failure(code: .unknownTarget, type: target, message: error.description, payload: nil)
        case .timeout: self = .failure(code: .timeout, type: "", message: error.description, payload: nil)
        case .overloaded: self = .failure(code: .overloaded, type: "", message: error.description, payload: nil)
        case .refused(let reason): self = .failure(code: .refused, type: "", message: reason, payload: nil)
        default: self = .failure(code: .remote, type: "MeshError", message: error.description, payload: nil)
        }
    }
}
