import CGit2
import Foundation

/// How to authenticate one fetch, pull or push. Given per call, kept in
/// memory for that call only: never written to the repository's config,
/// to disk or to logs.
public enum GitCredentials: Sendable, Codable {
    case none
    /// HTTPS basic authentication (a password or an access token).
    case usernamePassword(username: String, password: String)
    /// SSH with a key file. The server's host key must match
    /// `hostKeySHA256` (as `ssh-keygen -lf` prints it: `SHA256:…`); a
    /// server presenting another key is refused.
    case sshKey(username: String, privateKey: String, publicKey: String?, passphrase: String?, hostKeySHA256: String)
}

extension GitRepository {
    /// Fetches `remote`'s branches into `refs/remotes/REMOTE/…`. `url` is
    /// the URL the server recorded for it (see `withRemote`).
    func fetch(_ remote: String, url: String, credentials: GitCredentials = .none) throws(GitError) {
        try withRemote(remote, url: url) { (handle) throws(GitError) in
            try withCallbacks(credentials) { (callbacks) throws(GitError) in
                var options = git_fetch_options()
                try GitError.check(git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION)), "fetch")
                options.callbacks = callbacks
                try GitError.check(git_remote_fetch(handle, nil, &options, nil), "fetch \(remote)")
            }
        }
    }

    /// Pushes the current branch (or `branch`) to the same name on `remote`
    /// and makes that its upstream.
    func push(_ remote: String, url: String, branch: String? = nil, credentials: GitCredentials = .none) throws(GitError) {
        let current = try currentBranch().0
        guard let name = branch ?? current else { throw .invalidBranchName("HEAD (detached)") }
        try validateBranchName(name)
        try withRemote(remote, url: url) { (handle) throws(GitError) in
            try withCallbacks(credentials) { (callbacks) throws(GitError) in
                var options = git_push_options()
                try GitError.check(git_push_options_init(&options, UInt32(GIT_PUSH_OPTIONS_VERSION)), "push")
                options.callbacks = callbacks
                try withStrArray(["refs/heads/\(name):refs/heads/\(name)"]) { (refspecs) throws(GitError) in
                    try GitError.check(git_remote_push(handle, &refspecs, &options), "push \(name) to \(remote)")
                }
            }
        }
        // Track it, so status reports ahead/behind.
        var local: OpaquePointer?
        try GitError.check(git_branch_lookup(&local, pointer, name, GIT_BRANCH_LOCAL), "track \(remote)/\(name)")
        defer { git_reference_free(local) }
        try GitError.check(git_branch_set_upstream(local, "\(remote)/\(name)"), "track \(remote)/\(name)")
    }

    /// Fetches `remote` and merges its copy of the current branch.
    func pull(_ remote: String, url: String, author: GitSignature, credentials: GitCredentials = .none) throws(GitError) -> GitMergeResult {
        guard let name = try currentBranch().0 else { throw .invalidBranchName("HEAD (detached)") }
        try fetch(remote, url: url, credentials: credentials)
        return try merge(reference: "refs/remotes/\(remote)/\(name)", describedAs: "\(remote)/\(name)", author: author)
    }

    /// Clones `url` into `path` (which must not exist or be empty).
    static func clone(_ url: String, into path: String, credentials: GitCredentials = .none, policy: GitRemotePolicy = .init()) throws(GitError) -> GitRepository {
        try policy.check(url)
        _ = try? GitRepository.initializedLibrary()
        var repository: OpaquePointer?
        try withCallbacks(credentials) { (callbacks) throws(GitError) in
            var options = git_clone_options()
            try GitError.check(git_clone_options_init(&options, UInt32(GIT_CLONE_OPTIONS_VERSION)), "clone")
            options.fetch_opts.callbacks = callbacks
            try GitError.check(git_clone(&repository, url, path, &options), "clone \(url)")
        }
        git_repository_free(repository)
        let cloned = try open(path)
        cloned.remotePolicy = policy
        return cloned
    }

    /// Trusts the CA certificates in `file` (PEM) for HTTPS remotes, for
    /// the whole process (by default the system's trust store is used).
    static func trustCertificates(file: String) throws(GitError) {
        _ = try? GitRepository.initializedLibrary()
        try GitError.check(hma_git_set_ssl_cert_file(file), "trust \(file)")
    }

    /// Runs `body` with remote `name`, if its URL (and push URL, when one
    /// is set) is exactly `url` — the URL the server recorded when the
    /// remote was added — and the policy still allows it. The project's
    /// code can edit `.git/config`; a remote it pointed elsewhere (to a host
    /// of its choosing, to collect the credentials or the history) is
    /// refused before any connection.
    private func withRemote<T>(_ name: String, url expected: String, _ body: (OpaquePointer) throws(GitError) -> T) throws(GitError) -> T {
        var remote: OpaquePointer?
        let code = git_remote_lookup(&remote, pointer, name)
        if code == GIT_ENOTFOUND.rawValue { throw .invalidRemote(name, reason: "no such remote") }
        try GitError.check(code, "find remote \(name)")
        defer { git_remote_free(remote) }
        let fetchURL = git_remote_url(remote).map { String(cString: $0) }
        let pushURL = git_remote_pushurl(remote).map { String(cString: $0) }
        guard fetchURL == expected, pushURL == nil || pushURL == expected else {
            throw .invalidRemote(name, reason: "its URL in .git/config is no longer the one recorded (\(expected)); it was changed inside the project")
        }
        try remotePolicy.check(expected)
        return try body(remote!)
    }
}

/// The credentials of one call, handed to libgit2's callback through its
/// payload pointer; a second request in the same call means they were
/// refused, and the call fails instead of asking forever.
private final class CredentialBox {
    let credentials: GitCredentials
    var attempts = 0
    init(_ credentials: GitCredentials) { self.credentials = credentials }
}

private func withCallbacks<T>(_ credentials: GitCredentials, _ body: (git_remote_callbacks) throws(GitError) -> T) throws(GitError) -> T {
    var callbacks = git_remote_callbacks()
    try GitError.check(git_remote_init_callbacks(&callbacks, UInt32(GIT_REMOTE_CALLBACKS_VERSION)), "set up the remote")
    let box = CredentialBox(credentials)
    let payload = Unmanaged.passRetained(box)
    defer { payload.release() }
    callbacks.payload = payload.toOpaque()
    callbacks.credentials = { out, _, usernameFromURL, allowed, payload in
        guard let out, let payload else { return -1 }
        let box = Unmanaged<CredentialBox>.fromOpaque(payload).takeUnretainedValue()
        box.attempts += 1
        guard box.attempts == 1 else { return GIT_EAUTH.rawValue }  // refused once: do not loop
        switch box.credentials {
        case .none:
            return GIT_PASSTHROUGH.rawValue
        case .usernamePassword(let username, let password):
            guard allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0 else { return GIT_PASSTHROUGH.rawValue }
            return git_credential_userpass_plaintext_new(out, username, password)
        case .sshKey(let username, let privateKey, let publicKey, let passphrase, _):
            guard allowed & GIT_CREDENTIAL_SSH_KEY.rawValue != 0 else { return GIT_PASSTHROUGH.rawValue }
            let user = usernameFromURL.map { String(cString: $0) } ?? username
            return git_credential_ssh_key_new(out, user, publicKey, privateKey, passphrase)
        }
    }
    callbacks.certificate_check = { cert, _, _, payload in
        guard let cert, let payload else { return -1 }
        let box = Unmanaged<CredentialBox>.fromOpaque(payload).takeUnretainedValue()
        guard cert.pointee.cert_type == GIT_CERT_HOSTKEY_LIBSSH2 else { return GIT_PASSTHROUGH.rawValue }  // x509: the default checks
        guard case .sshKey(_, _, _, _, let expected) = box.credentials else { return GIT_ECERTIFICATE.rawValue }
        let hostKey = UnsafeRawPointer(cert).assumingMemoryBound(to: git_cert_hostkey.self).pointee
        guard hostKey.type.rawValue & GIT_CERT_SSH_SHA256.rawValue != 0 else { return GIT_ECERTIFICATE.rawValue }
        let digest = withUnsafeBytes(of: hostKey.hash_sha256) { Data($0) }
        // ssh-keygen prints unpadded base64.
        let printed = "SHA256:" + digest.base64EncodedString().replacingOccurrences(of: "=", with: "")
        return printed == expected ? 0 : GIT_ECERTIFICATE.rawValue
    }
    return try body(callbacks)
}
