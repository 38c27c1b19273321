import Foundation
import Workspace

// A stand-in for the server in sandbox lifetime tests: it starts a
// sandboxed command and a terminal, each sleeping, says "ready" and waits
// to be killed. The test kills it with SIGKILL and checks that nothing it
// started in the sandbox is left.
//
// Usage: hma-sandbox-probe PROJECT_ROOT PROJECT_ID UID
let arguments = CommandLine.arguments
guard arguments.count == 4, let uid = UInt32(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: hma-sandbox-probe PROJECT_ROOT PROJECT_ID UID\n".utf8))
    exit(2)
}
var configuration = SandboxConfiguration()
configuration.cgroupParent = "hma-test"
let sandbox = try BwrapSandbox(projectRoot: arguments[1], projectID: arguments[2], uid: uid, configuration: configuration)
let command = Task { try await sandbox.run(["/bin/sleep", "1000"]) }
let terminal = try await sandbox.openTerminal()
try terminal.write(Data("exec /bin/sleep 1001\n".utf8))
FileHandle.standardOutput.write(Data("ready\n".utf8))
_ = try await command.value
