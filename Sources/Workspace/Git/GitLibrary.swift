import CGit2

/// The libgit2 this binary is linked against.
public enum GitLibrary {
    /// "major.minor.revision" as reported by libgit2 at run time.
    public static var version: String {
        var major: Int32 = 0, minor: Int32 = 0, revision: Int32 = 0
        git_libgit2_version(&major, &minor, &revision)
        return "\(major).\(minor).\(revision)"
    }
}
