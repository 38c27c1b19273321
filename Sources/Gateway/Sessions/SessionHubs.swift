import Foundation
import Synchronization

/// The gateway's session hubs, one per chat session that has a run or a
/// tab joined (made on first use).
public final class SessionHubs: Sendable {
    private let hubs = Mutex<[String: SessionHub]>([:])
    let limits: SessionHub.Limits

    public init(limits: SessionHub.Limits = .init()) { self.limits = limits }

    public func hub(_ sessionId: String, projectId: String? = nil) -> SessionHub {
        hubs.withLock { hubs in
            if let hub = hubs[sessionId] { return hub }
            let hub = SessionHub(sessionId: sessionId, projectId: projectId, limits: limits)
            hubs[sessionId] = hub
            return hub
        }
    }

    public func existing(_ sessionId: String) -> SessionHub? { hubs.withLock { $0[sessionId] } }

    func remove(_ sessionId: String) { _ = hubs.withLock { $0.removeValue(forKey: sessionId) } }

    public var all: [SessionHub] { hubs.withLock { Array($0.values) } }
}
