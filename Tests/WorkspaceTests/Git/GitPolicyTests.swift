import Testing
@testable import Workspace

/// The pure checks the git helper makes before every operation.
struct GitPolicyTests {
    @Test func configurationKeysThatRedirectGitAreRefusedByTheirFullNames() {
        let refused: [(String, String)] = [
            ("core.worktree", "core.worktree"),
            ("Core.WorkTree", "core.worktree"),
            ("include.path", "include.path"),
            ("includeIf.gitdir:/.path", "includeif.*.path"),
            ("includeif.onbranch:x].path", "includeif.*.path"),
            ("url.https://evil.test/.insteadOf", "url.*.insteadof"),
            ("url.x.pushinsteadof", "url.*.pushinsteadof"),
            ("core.sshCommand", "core.sshcommand"),
            ("core.hooksPath", "core.hookspath"),
            ("credential.helper", "credential.helper"),
        ]
        for (key, pattern) in refused {
            #expect(GitRepositoryPolicy.refusedPattern(for: key) == pattern, "\(key)")
        }
        for key in ["core.repositoryformatversion", "core.bare", "remote.origin.url", "remote.origin.fetch", "branch.main.remote",
                    "user.name", "includeif", "url.x.y.z", "core.worktreex"] {
            #expect(GitRepositoryPolicy.refusedPattern(for: key) == nil, "\(key)")
        }
    }

    @Test func remoteURLsFollowThePolicy() throws {
        let none = GitRemotePolicy()
        for url in ["https://example.test/p.git", "ssh://git@example.test/p.git", "git@example.test:team/p.git"] {
            try none.check(url, resolve: { $0 })
        }
        for url in ["http://example.test/p.git", "file:///srv/git/p.git", "/srv/git/p.git", "ftp://example.test/p", "--upload-pack=x",
                    "", "https://a\n", "example.test:p", "a/b@host:p"] {
            #expect(throws: GitError.self, "\(url)") { try none.check(url, resolve: { $0 }) }
        }
        try GitRemotePolicy(allowPlainHTTP: true).check("http://example.test/p.git")

        let local = GitRemotePolicy(localRemotesRoot: "/srv/git")
        try local.check("file:///srv/git/team/p.git", resolve: { $0 })
        try local.check("/srv/git/p.git", resolve: { $0 })
        for url in ["file:///srv/gitx/p.git", "file:///srv/git/../projects/other/.git", "file:///home/p.git", "file:///srv/git/./p",
                    "file:///srv/git/%2e%2e/other", "file://host/srv/git/p.git"] {
            #expect(throws: GitError.self, "\(url)") { try local.check(url, resolve: { $0 }) }
        }
        // A link under the folder that leads out of it counts where it leads.
        #expect(throws: GitError.self) {
            try local.check("file:///srv/git/link", resolve: { $0 == "/srv/git/link" ? "/home/victim/p.git" : $0 })
        }
    }
}
