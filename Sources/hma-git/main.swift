import Foundation
import Workspace

// The git helper: one git operation per run, inside the project's jail
// (see ProjectGit and docs/workspace.md, "Git"). It reads one request on
// standard input and writes one reply on standard output.
exit(GitHelperServer.main())
