/// A path inside a project, checked before any file is touched: relative,
/// no `..` component, no NUL byte, every name and the whole path within the
/// limits. `.` and empty components (`a//b`, `./a`) are dropped. The empty
/// path is the project root.
///
/// The check is lexical; the file operations also open every path with
/// `RESOLVE_BENEATH`, so a symlink (even one created between the check and
/// the use, by a process in the sandbox) cannot lead outside the project.
public struct ProjectPath: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let components: [String]

    public init(_ text: String, limits: FileLimits = .init()) throws(WorkspaceError) {
        if text.utf8.contains(0) { throw .invalidPath(text, reason: "contains a NUL byte") }
        if text.hasPrefix("/") { throw .outsideProject(text) }
        if text.utf8.count > limits.maxPathBytes {
            throw .invalidPath(String(text.prefix(64)) + "…", reason: "longer than \(limits.maxPathBytes) bytes")
        }
        var components: [String] = []
        for component in text.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            if component == ".." { throw .outsideProject(text) }
            if component.utf8.count > limits.maxNameBytes {
                throw .invalidPath(text, reason: "the name \(component.prefix(32))… is longer than \(limits.maxNameBytes) bytes")
            }
            components.append(String(component))
        }
        self.components = components
    }

    init(components: [String]) { self.components = components }

    public static let root = ProjectPath(components: [])

    public var isRoot: Bool { components.isEmpty }
    /// Whether it is a `.git` folder or inside one (at any depth: a
    /// nested repository's too).
    public var isInGitFolder: Bool { components.contains(".git") }
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

    public static func < (lhs: ProjectPath, rhs: ProjectPath) -> Bool { lhs.components.lexicographicallyPrecedes(rhs.components) }
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
