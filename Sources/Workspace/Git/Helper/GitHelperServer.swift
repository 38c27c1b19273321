import CGit2
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The git helper's side: read one `GitHelperCall` from standard input,
/// run it with libgit2, write one `GitReply` to standard output. It runs
/// as the project's uid with the project as its only writable view (see
/// `ProjectGit`), so whatever the repository makes libgit2 do stays inside
/// the project.
public enum GitHelperServer {
    /// The `hma-git` executable's whole body. Returns the exit status.
    public static func main() -> Int32 {
        // The jail is the boundary: the project belongs to the project's
        // uid, local remotes to whoever the operator chose.
        _ = hma_git_set_owner_validation(0)
        let input = FileHandle.standardInput.readData(ofLength: GitHelperCall.maxBytes + 1)
        let reply: GitReply
        if input.count > GitHelperCall.maxBytes {
            reply = .failed(.helperFailed("the request is larger than \(GitHelperCall.maxBytes) bytes"))
        } else if let call = try? JSONDecoder().decode(GitHelperCall.self, from: input) {
            reply = answer(call)
        } else {
            reply = .failed(.helperFailed("the request is not a git helper call"))
        }
        guard let data = try? JSONEncoder().encode(reply) else { return 70 }
        FileHandle.standardOutput.write(data)
        return 0
    }

    static func answer(_ call: GitHelperCall) -> GitReply {
        do throws(GitError) {
            if let pem = call.trustedCertificates {
                // The jail's /tmp is private to this helper run.
                let file = NSTemporaryDirectory() + "hma-git-trusted-\(getpid()).pem"
                guard FileManager.default.createFile(atPath: file, contents: Data(pem.utf8)) else {
                    throw .helperFailed("cannot write the trusted certificates")
                }
                try GitRepository.trustCertificates(file: file)
            }
            var request = call.request
            var written: [String] = []
            defer { for file in written { unlink(file) } }  // outside a jail, /tmp is shared
            if let privateKey = call.sshPrivateKey, case .sshKey(let user, _, _, let passphrase, let hostKey)? = request.credentials {
                let keyFile = NSTemporaryDirectory() + "hma-git-key-\(getpid())"
                let publicFile: String? = call.sshPublicKey.map { _ in keyFile + ".pub" }
                written = [keyFile] + (publicFile.map { [$0] } ?? [])
                guard write(privateKey, to: keyFile), call.sshPublicKey.map({ write($0, to: keyFile + ".pub") }) ?? true else {
                    throw .helperFailed("cannot write the SSH key to the helper's /tmp")
                }
                request = request.with(.sshKey(username: user, privateKey: keyFile, publicKey: publicFile, passphrase: passphrase, hostKeySHA256: hostKey))
            }
            switch request {
            case .initialize(let gitignore):
                _ = try GitRepository.initialize(call.repository, gitignore: gitignore)
                return .done
            case .clone(let url, let credentials):
                _ = try GitRepository.clone(url, into: call.repository, credentials: credentials, policy: call.remotePolicy)
                return .done
            default:
                let repository = try GitRepository.open(call.repository)
                repository.remotePolicy = call.remotePolicy
                return try perform(request, on: repository)
            }
        } catch {
            return .failed(error)
        }
    }

    /// Writes a file only this uid can read (the jail's /tmp is private to this run).
    private static func write(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count
    }

    private static func perform(_ request: GitRequest, on repository: GitRepository) throws(GitError) -> GitReply {
        switch request {
        case .initialize, .clone: preconditionFailure("handled before the repository is opened")
        case .status: return .status(try repository.status())
        case .diff(let path, let staged): return .diff(try repository.diff(path, staged: staged))
        case .stage(let paths): try repository.stage(paths)
        case .stageAll: try repository.stageAll()
        case .unstage(let paths): try repository.unstage(paths)
        case .commit(let message, let author): return .committed(try repository.commit(message: message, author: author))
        case .log(let offset, let limit): return .log(try repository.log(offset: max(0, offset), limit: min(max(0, limit), GitReply.maxLogEntries)))
        case .branches: return .branches(try repository.branches())
        case .createBranch(let name): try repository.createBranch(name)
        case .checkout(let name): try repository.checkout(name)
        case .deleteBranch(let name): try repository.deleteBranch(name)
        case .merge(let name, let author): return .merged(try repository.merge(name, author: author))
        case .abortMerge: try repository.abortMerge()
        case .addRemote(let name, let url): try repository.addRemote(name, url: url)
        case .remotes: return .remotes(try repository.remotes())
        case .fetch(let remote, let url, let credentials): try repository.fetch(remote, url: url, credentials: credentials)
        case .push(let remote, let url, let branch, let credentials): try repository.push(remote, url: url, branch: branch, credentials: credentials)
        case .pull(let remote, let url, let author, let credentials):
            return .merged(try repository.pull(remote, url: url, author: author, credentials: credentials))
        }
        return .done
    }
}
