import Foundation
import ProcessTesting

/// A long-running server a test needs (sshd, podman's API service), run
/// under a small Python parent, and stopped when this object goes.
///
/// Why the parent: such daemons close every descriptor they inherit,
/// including the one Foundation's `Process` watches to learn that a child
/// ended; Foundation then blocks in `waitpid` on the daemon and stalls every
/// other `Process` of the test run. The parent starts the daemon with only
/// standard streams, joins its log to our pipe, ties the daemon's life to
/// its own (`PR_SET_PDEATHSIG`) and stops it when our end of its standard
/// input closes. With `readySocket` it also says `hma-daemon-ready` once
/// that unix socket accepts connections (for daemons that print nothing).
final class Daemon: Sendable {
    let process: ChildProcess

    /// - Parameter directory: the daemon's working directory (conmon, for
    ///   one, leaves files in it).
    init(_ arguments: [String], directory: String, readySocket: String? = nil) throws {
        process = try ChildProcess(URL(fileURLWithPath: "/usr/bin/python3"),
                                   ["-c", Self.supervisor, readySocket ?? "", directory] + arguments, keepStdinOpen: true)
    }

    /// Waits for a line of the daemon's log (or the ready line) containing
    /// one of `texts`; nil when the daemon ended first.
    func waitForLine(containing texts: [String]) async -> String? {
        await process.lines.first { line in texts.contains { line.contains($0) } }
    }

    func stop() async {
        process.closeInput()
        _ = await process.exitStatus()
    }

    deinit { process.closeInput() }

    private static let supervisor = """
    import ctypes, signal, socket, subprocess, sys, threading, time
    libc = ctypes.CDLL(None, use_errno=True)
    ready_socket, directory, command = sys.argv[1], sys.argv[2], sys.argv[3:]
    child = subprocess.Popen(command, cwd=directory, stdin=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                             preexec_fn=lambda: libc.prctl(1, signal.SIGTERM))
    def announce():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            probe = socket.socket(socket.AF_UNIX)
            try:
                probe.connect(ready_socket)
                print("hma-daemon-ready", flush=True)
                return
            except OSError:
                time.sleep(0.02)
            finally:
                probe.close()
    if ready_socket:
        threading.Thread(target=announce, daemon=True).start()
    sys.stdin.read()
    child.terminate()
    child.wait()
    """
}
