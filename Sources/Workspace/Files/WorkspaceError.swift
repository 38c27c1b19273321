/// Every way a workspace operation fails; each names what it was about.
public enum WorkspaceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The path leads outside the project (`..`, absolute, a symlink out).
    case outsideProject(String)
    case invalidPath(String, reason: String)
    case notFound(String)
    case alreadyExists(String)
    case notADirectory(String)
    case isADirectory(String)
    case fileTooLarge(String, bytes: Int, limit: Int)
    /// The project root itself cannot be deleted, moved or overwritten.
    case rootNotAllowed(String)
    /// The project's disk quota (bytes or files) is used up.
    case noSpace(String)
    /// A FIFO, socket or device where a file's bytes were expected.
    case notARegularFile(String)
    /// Git's own files (`.git/…`) change only through git.
    case insideGitFolder(String)
    /// A system call failed for another reason.
    case io(String, operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .outsideProject(let path): return "\(path) leads outside the project"
        case .invalidPath(let path, let reason): return "invalid path \(path): \(reason)"
        case .notFound(let path): return "\(path) does not exist"
        case .alreadyExists(let path): return "\(path) already exists"
        case .notADirectory(let path): return "\(path) is not a directory"
        case .isADirectory(let path): return "\(path) is a directory"
        case .fileTooLarge(let path, let bytes, let limit): return "\(path) is \(bytes) bytes; the limit is \(limit)"
        case .rootNotAllowed(let operation): return "cannot \(operation) the project root"
        case .noSpace(let path): return "no space left for \(path): the project's disk quota is used up"
        case .notARegularFile(let path): return "\(path) is not a regular file (a pipe, socket or device)"
        case .insideGitFolder(let path): return "\(path) is inside .git: git's own files change only through git"
        case .io(let path, let operation, let errno): return "\(operation) \(path) failed: \(String(cString: strerror(errno)))"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
