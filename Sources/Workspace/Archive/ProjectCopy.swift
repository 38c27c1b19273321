import Foundation

/// The files a project's durable copy keeps (docs/architecture.md,
/// "Project copies"): what a download holds plus `.git`, so that a project
/// whose worker is lost comes back on another worker with its history.
/// Dependency and build folders are left out (they are reinstalled), and
/// so are symlinks and special files, as in a zip.
public enum ProjectCopy {
    /// What the copy leaves out.
    public static var options: ProjectArchive.ExportOptions {
        var options = ProjectArchive.ExportOptions()
        options.includeGit = true
        options.maxFileBytes = maxFileBytes
        return options
    }

    /// Larger files are not copied (and are reported): one must fit in a
    /// mesh frame (16 MiB) with room to spare.
    public static let maxFileBytes = 6 << 20

    /// Every regular file the copy keeps, what it leaves out, and whether
    /// every folder could be listed whole (if not, a file not seen may
    /// still be there).
    public static func files(of files: ProjectFiles) throws -> (entries: [FileEntry], skipped: [String], complete: Bool) {
        var entries: [FileEntry] = []
        let summary = try ProjectArchive.walk(files, options: options) { entry in
            switch entry.kind {
            case .directory: return true
            case .file:
                entries.append(entry)
                return true
            case .symlink, .other: return false
            }
        }
        return (entries, summary.skipped, !summary.listingsCut)
    }

    /// Writes one copied file back (git's own files too: a restored
    /// repository is checked by the git helper before each use, as an
    /// imported one is).
    public static func restore(_ path: String, _ data: Data, into files: ProjectFiles) throws(WorkspaceError) {
        try files.write(path, data, intoGitFolder: true)
    }
}
