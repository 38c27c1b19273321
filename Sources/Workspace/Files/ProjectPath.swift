/// A path inside a project, checked before any file is touched: relative,
/// no `..` component, no NUL byte, every name and the whole path within the
/// limits. `.` and empty components (`a//b`, `./a`) are dropped. The empty
/// path is the project root.
///
/// The check is lexical, on bytes: the text is split at every `/` byte and
/// names are compared byte for byte — never as Swift characters, where a
/// `/` followed by a combining mark (or after U+0600) is no `/` at all and
/// `é` equals `e` + U+0301. The file operations also open every path with
/// `RESOLVE_BENEATH`, so a symlink (even one created between the check and
/// the use, by a process in the sandbox) cannot lead outside the project.
public struct ProjectPath: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// Each name, without `/` or NUL bytes.
    public let components: [String]

    public init(_ text: String, limits: FileLimits = .init()) throws(WorkspaceError) {
        let bytes = Array(text.utf8)
        if bytes.contains(0) { throw .invalidPath(text, reason: "contains a NUL byte") }
        if bytes.first == 0x2F { throw .outsideProject(text) }
        if bytes.count > limits.maxPathBytes {
            throw .invalidPath(String(text.prefix(64)) + "…", reason: "longer than \(limits.maxPathBytes) bytes")
        }
        var components: [String] = []
        for component in bytes.split(separator: 0x2F, omittingEmptySubsequences: true) {
            if component.elementsEqual([0x2E]) { continue }
            if component.elementsEqual([0x2E, 0x2E]) { throw .outsideProject(text) }
            let name = String(decoding: component, as: UTF8.self)  // whole scalars: the text was valid UTF-8
            if FileName.encode(name).count > limits.maxNameBytes {
                throw .invalidPath(text, reason: "the name \(name.prefix(32))… is longer than \(limits.maxNameBytes) bytes")
            }
            components.append(name)
        }
        self.components = components
    }

    public static func == (lhs: ProjectPath, rhs: ProjectPath) -> Bool {
        lhs.components.count == rhs.components.count && zip(lhs.components, rhs.components).allSatisfy { $0.utf8.elementsEqual($1.utf8) }
    }

    public func hash(into hasher: inout Hasher) {
        for component in components {
            hasher.combine(component.utf8.count)
            for byte in component.utf8 { hasher.combine(byte) }
        }
    }

    init(components: [String]) { self.components = components }

    public static let root = ProjectPath(components: [])

    public var isRoot: Bool { components.isEmpty }
    /// Whether it is a `.git` folder or inside one (at any depth: a
    /// nested repository's too).
    public var isInGitFolder: Bool { components.contains { $0.utf8.elementsEqual(".git".utf8) } }
    public var name: String { components.last ?? "" }
    public var parent: ProjectPath { ProjectPath(components: Array(components.dropLast())) }
    public func appending(_ name: String) -> ProjectPath { ProjectPath(components: components + [name]) }
    public var description: String { components.joined(separator: "/") }
    /// The path for system calls relative to the project root (`.` for
    /// the root), as the bytes the names stand for (see `FileName`).
    var systemRelative: [CChar] { FileName.system(isRoot ? "." : description) }
    /// The last name for system calls (see `FileName`).
    var systemName: [CChar] { FileName.system(name) }
    /// The path for people: bytes that are not UTF-8 shown as `\xNN`.
    public var displayDescription: String { FileName.display(description) }

    public static func < (lhs: ProjectPath, rhs: ProjectPath) -> Bool {
        lhs.components.lexicographicallyPrecedes(rhs.components) { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}

/// Limits of one project's files.
public struct FileLimits: Sendable, Equatable {
    /// Largest file `write` accepts and `read` returns.
    public var maxFileBytes = 10 << 20
    /// Longest name (one path component), as Linux allows.
    public var maxNameBytes = 255
    /// Longest path inside the project.
    public var maxPathBytes = 4096
    /// Most entries `tree` returns.
    public var maxTreeEntries = 50_000
    /// Most entries one directory listing reads; the rest of a larger
    /// directory is not read (memory stays bounded whatever its size).
    public var maxDirectoryEntries = 20_000

    public init() {}
}
