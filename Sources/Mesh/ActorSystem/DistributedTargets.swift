#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The allow-list of call targets: the distributed functions compiled into
/// this binary (docs/wire-protocol.md §5).
///
/// `executeDistributedTarget` demangles the target name and resolves the
/// types in it *before* it finds out whether such a function exists, so a
/// name from the wire would let a peer make the runtime instantiate
/// arbitrary metadata. This check runs first: it asks the runtime's table
/// of accessible functions (the `swift5_accessible_functions` records the
/// compiler emits for every distributed function) for the exact name — a
/// string comparison per record, no demangling — and only names found
/// there reach the runtime.
final class DistributedTargets: Sendable {
    private typealias Lookup = @convention(c) (UnsafePointer<CChar>, Int) -> UnsafeRawPointer?

    /// The runtime's lookup by exact name (exported by libswiftCore).
    private static let lookup: Lookup? = {
        guard let symbol = dlsym(nil, "swift_findAccessibleFunction") else { return nil }
        return unsafeBitCast(symbol, to: Lookup.self)
    }()

    /// Whether this runtime can check targets (the mesh refuses to start otherwise).
    static var isAvailable: Bool { lookup != nil }

    /// Longer names are refused unread (real ones are a few hundred bytes).
    static let maxNameBytes = 4096

    /// Names found before: the set is bounded by the functions in the binary.
    private let known = Mutex<Set<String>>([])

    func allows(_ name: String) -> Bool {
        if known.withLock({ $0.contains(name) }) { return true }
        guard name.utf8.count <= Self.maxNameBytes, let lookup = Self.lookup else { return false }
        var copy = name
        let found = copy.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in chars.baseAddress.map { lookup($0, chars.count) != nil } ?? false }
        }
        if found { known.withLock { _ = $0.insert(name) } }
        return found
    }
}
