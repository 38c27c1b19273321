import Testing
@testable import Workspace

/// The pure checks the git helper makes before every operation.
struct GitPolicyTests {
    @Test func configurationKeysThatRedirectGitAreFoundInEveryWritingOfThem() {
        let refused: [(String, String)] = [
            ("[core]\n\tworktree = /\n", "core.worktree"),
            ("[Core]\nWorkTree=/\n", "core.worktree"),
            ("[core] worktree = /", "core.worktree"),
            ("[include]\n\tpath = /etc/shadow\n", "include.path"),
            ("[includeIf \"gitdir:/\"]\n\tpath = /etc/shadow\n", "includeif.*.path"),
            ("[url \"https://evil.test/\"]\n\tinsteadOf = https://good.test/\n", "url.*.insteadof"),
            ("[url \"x\"]\n\tpushInsteadOf = y\n", "url.*.pushinsteadof"),
            ("[core]\n\tsshCommand = touch /tmp/x\n", "core.sshcommand"),
            ("[core]\n\thooksPath = /tmp\n", "core.hookspath"),
            ("[core\n\tworktree = /\n", "a malformed section header"),
        ]
        for (config, key) in refused {
            #expect(GitRepositoryPolicy.refusedKey(in: config) == key, "\(config)")
        }
        let ordinary = """
            # a comment naming worktree = /
            [core]
            \trepositoryformatversion = 0
            \tbare = false
            ; [include] path = x
            [remote "origin"]
            \turl = https://example.test/p.git
            \tfetch = +refs/heads/*:refs/remotes/origin/*
            [branch "main"]
            \tremote = origin
            """
        #expect(GitRepositoryPolicy.refusedKey(in: ordinary) == nil)
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
        for url in ["file:///srv/gitx/p.git", "file:///srv/git/../projects/other/.git", "file:///home/p.git", "file:///srv/git/./p"] {
            #expect(throws: GitError.self, "\(url)") { try local.check(url, resolve: { $0 }) }
        }
        // A link under the folder that leads out of it counts where it leads.
        #expect(throws: GitError.self) {
            try local.check("file:///srv/git/link", resolve: { $0 == "/srv/git/link" ? "/home/victim/p.git" : $0 })
        }
    }
}
