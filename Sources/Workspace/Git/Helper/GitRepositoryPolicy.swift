import Foundation

/// What a project's repository may ask of git, checked before every
/// operation: pure rules, no I/O (the engine reads the configuration with
/// libgit2's own parser, so both see the same keys).
///
/// The project's own code can write `.git/config` (it runs in the sandbox
/// with the project's uid). Keys that move the work tree, pull in other
/// files or rewrite remote URLs would make git act on something other than
/// the project, so a repository holding one is refused with the key named;
/// removing the key (from a terminal) makes it usable again.
enum GitRepositoryPolicy {
    /// Refused keys, lower-cased. `*` stands for a subsection
    /// (`url."https://x/".insteadOf`).
    static let refusedKeys: Set<String> = [
        "core.worktree",         // the work tree moves anywhere (`/`)
        "include.path",          // another file's configuration
        "includeif.*.path",
        "url.*.insteadof",       // a remote URL rewritten after it was checked
        "url.*.pushinsteadof",
        "core.sshcommand",       // commands git would run (libgit2 does not, but refuse)
        "core.gitproxy",
        "core.hookspath",
        "core.fsmonitor",
        "core.askpass",
        "credential.helper",
    ]

    /// The refused pattern `key` (a full key as libgit2 names it, e.g.
    /// `includeif.gitdir:/.path` or `url.https://x/.insteadof`) matches, or nil.
    static func refusedPattern(for key: String) -> String? {
        let lowered = key.lowercased()
        if refusedKeys.contains(lowered) { return lowered }
        // section.subsection.name: the subsection may itself hold dots.
        guard let first = lowered.firstIndex(of: "."), let last = lowered.lastIndex(of: "."), first < last else { return nil }
        let pattern = "\(lowered[..<first]).*.\(lowered[lowered.index(after: last)...])"
        return refusedKeys.contains(pattern) ? pattern : nil
    }

    /// Files inside `.git` that make git read another repository's data
    /// (worktree links and object alternates).
    static let redirectingFiles = ["commondir", "gitdir", "objects/info/alternates", "objects/info/http-alternates"]
}

/// Which remote URLs a project may use. Checked when a remote is added and
/// again, from the repository's stored URL, at every fetch, pull and push
/// (the project can edit `.git/config` in between).
public struct GitRemotePolicy: Sendable, Codable, Equatable {
    /// Local (`file://` or plain path) remotes are allowed only below this
    /// folder, which the operator sets aside for them; nil: none at all.
    public var localRemotesRoot: String?
    /// `http://` (no TLS) remotes; off unless configured.
    public var allowPlainHTTP = false

    public init(localRemotesRoot: String? = nil, allowPlainHTTP: Bool = false) {
        self.localRemotesRoot = localRemotesRoot
        self.allowPlainHTTP = allowPlainHTTP
    }

    /// Refuses what the policy does not allow; `resolve` turns a local path
    /// into its real path (symlinks followed) so a link cannot lead out.
    func check(_ url: String, resolve: (String) -> String? = { realpath($0, nil).map { String(cString: $0) } }) throws(GitError) {
        if url.hasPrefix("-") || url.contains("\n") || url.contains("\0") || url.isEmpty { throw .invalidRemote(url, reason: "not a URL") }
        if url.hasPrefix("https://") || url.hasPrefix("ssh://") { return }
        if url.hasPrefix("http://") {
            if allowPlainHTTP { return }
            throw .invalidRemote(url, reason: "http:// sends credentials and code unencrypted; use https:// (or have the operator allow http)")
        }
        if url.hasPrefix("file://") || url.hasPrefix("/") {
            let path = url.hasPrefix("file://") ? String(url.dropFirst("file://".count)) : url
            // libgit2 percent-decodes file URLs; a host part names another machine.
            guard path.hasPrefix("/"), !path.contains("%") else {
                throw .invalidRemote(url, reason: "a local repository is file:///absolute/path, without %-escapes")
            }
            guard let root = localRemotesRoot else {
                throw .invalidRemote(url, reason: "local repositories are not allowed on this server")
            }
            let components = path.split(separator: "/")
            guard !components.contains("..") && !components.contains("."),
                  let real = resolve(path), let realRoot = resolve(root),
                  real == realRoot || real.hasPrefix(realRoot.hasSuffix("/") ? realRoot : realRoot + "/") else {
                throw .invalidRemote(url, reason: "local repositories must be below \(root)")
            }
            return
        }
        // scp-like ssh: user@host:path (no scheme, and no path before the @).
        if let at = url.firstIndex(of: "@"), !url[..<at].contains("/"), url[at...].contains(":"), !url.contains("://") { return }
        throw .invalidRemote(url, reason: "only https://, ssh:// (or user@host:path) and, where allowed, local repositories")
    }
}
