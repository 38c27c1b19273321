import Foundation
import ZIPFoundation
#if canImport(Glibc)
import Glibc
#endif

/// Zip export and import of a project (ZIPFoundation), and import from a
/// git URL.
///
/// Export streams every file from disk into the archive file in chunks, so
/// a project larger than memory exports fine; the web server then streams
/// that file as the response body. Import checks every entry before a byte
/// is written: a path outside the project, a symlink entry, a file over the
/// size limit, a declared total or compression ratio over the limits; and
/// it counts the bytes it actually inflates, so an archive that lies about
/// its sizes is stopped too.
public enum ProjectArchive {
    public struct ExportOptions: Sendable {
        /// Folder names left out wherever they are (dependencies, build output).
        public var excludedFolders: Set<String> = ["node_modules", ".venv", "venv", "__pycache__", ".build", "build", "dist", "target", ".gradle"]
        public var includeGit = false
        /// Larger files are left out (and reported).
        public var maxFileBytes = 50 << 20
        public init() {}
    }

    public struct ExportSummary: Sendable, Equatable {
        public var files = 0
        public var bytes = 0
        /// Left out: over the size limit, symlinks, special files.
        public var skipped: [String] = []
        /// A folder held more entries than a listing reads: what is past
        /// the cut was not seen (not the same as gone).
        public var listingsCut = false
    }

    public struct ImportLimits: Sendable {
        /// Total uncompressed bytes.
        public var maxTotalBytes: UInt64 = 512 << 20
        public var maxEntries = 100_000
        /// Uncompressed / compressed, per entry (honest archives stay far below).
        public var maxCompressionRatio: UInt64 = 200
        public init() {}
    }

    public enum ImportError: Error, Equatable, Sendable, CustomStringConvertible {
        case projectNotEmpty
        case notAZip(String)
        case unsafeEntry(String, reason: String)
        case tooLarge(reason: String)

        public var description: String {
            switch self {
            case .projectNotEmpty: return "the project is not empty; import into an empty project"
            case .notAZip(let reason): return "not a zip archive: \(reason)"
            case .unsafeEntry(let path, let reason): return "refused entry \(path): \(reason)"
            case .tooLarge(let reason): return "refused archive: \(reason)"
            }
        }
    }

    // MARK: - Export

    /// Writes the project to a new zip file at `destination`.
    @discardableResult
    public static func export(_ files: ProjectFiles, to destination: URL, options: ExportOptions = .init()) throws -> ExportSummary {
        let archive = try Archive(url: destination, accessMode: .create)
        return try walk(files, options: options) { entry in
            switch entry.kind {
            case .directory:
                try archive.addEntry(with: entry.path.description + "/", type: .directory, uncompressedSize: Int64(0)) { (_: Int64, _: Int) in Data() }
                return true
            case .file:
                guard let fd = try openUnlessSpecial(files, entry.path) else { return false }  // swapped for a FIFO or device since the listing
                defer { close(fd) }
                try archive.addEntry(with: entry.path.description, type: .file, uncompressedSize: Int64(entry.size),
                                     compressionMethod: .deflate) { (position: Int64, size: Int) in
                    var chunk = Data(count: size)
                    let count = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, size, off_t(position)) }
                    guard count >= 0 else { throw WorkspaceError.io(entry.path.description, operation: "read", errno: errno) }
                    return chunk.prefix(count)
                }
                return true
            case .symlink, .other:
                return false
            }
        }
    }

    /// Visits, depth first, every folder and file `options` keep — a folder
    /// before what it holds; left out are excluded folders (and `.git`
    /// unless `includeGit`) and files over `maxFileBytes`. `visit` returns
    /// whether it took the entry; the summary counts the files taken and
    /// lists what was not (and listings cut short).
    static func walk(_ files: ProjectFiles, options: ExportOptions, visit: (FileEntry) throws -> Bool) throws -> ExportSummary {
        var summary = ExportSummary()
        var pending: [ProjectPath] = [.root]
        while let directory = pending.popLast() {
            let listing = try files.list(directory.description)
            if !listing.isComplete {
                summary.skipped.append(directory.description + "/… (more entries than a listing reads)")
                summary.listingsCut = true
            }
            for entry in listing.entries {
                if entry.kind == .directory {
                    if options.excludedFolders.contains(entry.path.name) || (entry.path.name == ".git" && !options.includeGit) { continue }
                    if try visit(entry) { pending.append(entry.path) }
                    continue
                }
                guard entry.kind != .file || entry.size <= options.maxFileBytes, try visit(entry) else {
                    summary.skipped.append(entry.path.description)
                    continue
                }
                summary.files += 1
                summary.bytes += entry.size
            }
        }
        return summary
    }

    /// The open file, or nil when it is no longer a regular file.
    private static func openUnlessSpecial(_ files: ProjectFiles, _ path: ProjectPath) throws -> Int32? {
        do {
            return try files.openRegularFile(path)
        } catch .notARegularFile {
            return nil
        }
    }

    // MARK: - Import

    /// Unpacks the zip at `source` into the (empty) project.
    public static func importZip(_ source: URL, into files: ProjectFiles, limits: ImportLimits = .init()) throws {
        guard try files.isEmpty() else { throw ImportError.projectNotEmpty }
        let archive: Archive
        do {
            archive = try Archive(url: source, accessMode: .read)
        } catch {
            throw ImportError.notAZip("\(error)")
        }
        // Check everything first: nothing is written from a refused archive.
        var planned: [(Entry, ProjectPath)] = []
        var declared: UInt64 = 0
        var kinds: [ProjectPath: Bool] = [:]  // path → is a folder
        for entry in archive {
            guard planned.count < limits.maxEntries else { throw ImportError.tooLarge(reason: "more than \(limits.maxEntries) entries") }
            let name = entry.path
            if name.hasPrefix("/") || name.hasPrefix("\\") || name.split(separator: "/").contains("..") || name.contains("\\..") {
                throw ImportError.unsafeEntry(name, reason: "leads outside the project")
            }
            let path: ProjectPath
            do { path = try ProjectPath(name, limits: files.limits) } catch { throw ImportError.unsafeEntry(name, reason: "\(error)") }
            if path.isRoot {
                guard entry.type == .directory else { throw ImportError.unsafeEntry(name, reason: "names the project folder itself") }
                continue
            }
            if let earlier = kinds[path] {
                guard earlier && entry.type == .directory else { throw ImportError.unsafeEntry(name, reason: "appears twice in the archive") }
                continue
            }
            if entry.type != .symlink { kinds[path] = entry.type == .directory }
            switch entry.type {
            case .symlink: throw ImportError.unsafeEntry(name, reason: "symlink entries are not imported")
            case .directory: planned.append((entry, path))
            case .file:
                guard entry.uncompressedSize <= UInt64(files.limits.maxFileBytes) else {
                    throw ImportError.tooLarge(reason: "\(name) is \(entry.uncompressedSize) bytes; the file limit is \(files.limits.maxFileBytes)")
                }
                if entry.uncompressedSize > 1 << 20, entry.uncompressedSize / max(entry.compressedSize, 1) > limits.maxCompressionRatio {
                    throw ImportError.tooLarge(reason: "\(name) expands \(entry.uncompressedSize / max(entry.compressedSize, 1))× (limit \(limits.maxCompressionRatio)×)")
                }
                declared += entry.uncompressedSize
                guard declared <= limits.maxTotalBytes else {
                    throw ImportError.tooLarge(reason: "more than \(limits.maxTotalBytes) bytes uncompressed")
                }
                planned.append((entry, path))
            }
        }
        // A file cannot also be a folder on the way to another entry.
        for path in kinds.keys {
            var ancestor = path.parent
            while !ancestor.isRoot {
                if kinds[ancestor] == false { throw ImportError.unsafeEntry(ancestor.description, reason: "is both a file and a folder in the archive") }
                ancestor = ancestor.parent
            }
        }
        do {
            try unpack(planned, from: archive, into: files, limits: limits)
        } catch {
            // All or nothing: the project was empty, and is again.
            try? files.removeEverything()
            throw error
        }
    }

    private static func unpack(_ planned: [(Entry, ProjectPath)], from archive: Archive, into files: ProjectFiles, limits: ImportLimits) throws {
        var inflated: UInt64 = 0
        for (entry, path) in planned {
            if entry.type == .directory {
                if !path.isRoot, try !files.exists(path.description) { try files.create(path.description, directory: true, intoGitFolder: true) }
                continue
            }
            var data = Data()
            let limit = min(entry.uncompressedSize, UInt64(files.limits.maxFileBytes))
            _ = try archive.extract(entry) { chunk in
                inflated += UInt64(chunk.count)
                // Sizes in the headers can lie: count what actually comes out.
                guard UInt64(data.count + chunk.count) <= limit, inflated <= limits.maxTotalBytes else {
                    throw ImportError.tooLarge(reason: "\(entry.path) inflates past its declared size")
                }
                data.append(chunk)
            }
            try files.write(path.description, data, intoGitFolder: true)
        }
    }

    /// Clones a git repository into the (empty) project, through the
    /// project's git helper.
    public static func importGit(_ url: String, into files: ProjectFiles, git: ProjectGit, credentials: GitCredentials = .none) async throws {
        guard try files.isEmpty() else { throw ImportError.projectNotEmpty }
        try await git.clone(url, credentials: credentials)
    }
}
