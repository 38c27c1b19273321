// make bench-workspace: the workspace's latencies and throughput on this
// machine (release build, as root for the bwrap sandbox).
//
// - sandbox start: `run(["/bin/true"])` in the bwrap sandbox, call to
//   result (start-to-exit, which bounds start-to-first-output), against a
//   plain posix_spawn of the same program (the `none` backend);
// - keystroke round trip: a byte typed into a sandboxed terminal's shell
//   until readline's echo of it is read back;
// - `status` of a 10,000-file repository with 100 changed files, through
//   the git helper in the project's jail (as the server runs it: a sandbox
//   start plus libgit2) vs the `git status --porcelain` CLI run directly;
// - zip export of a 200 MB project (half text, half random bytes).
import BenchmarkReport
import Foundation
import Workspace

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
}
func time(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    return seconds(ContinuousClock.now - start) * 1000
}

let base = NSTemporaryDirectory() + "hma-bench-workspace-\(UUID().uuidString)"
defer { try? FileManager.default.removeItem(atPath: base) }
func folder(_ name: String) throws -> String {
    let path = base + "/" + name
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    chmod(base, 0o755)
    return path
}

// 1. Sandbox start.
let sandboxRoot = try folder("sandboxed")
var configuration = SandboxConfiguration()
configuration.cgroupParent = "hma-bench"
let sandbox = try BwrapSandbox(projectRoot: sandboxRoot, projectID: "bench-\(getpid())", uid: 250_000, configuration: configuration)
let plain = UnsandboxedRunner(projectRoot: try folder("plain"), configuration: configuration)
for _ in 0..<5 { _ = try await sandbox.run(["/bin/true"]) }
var sandboxStarts: [Double] = [], plainStarts: [Double] = []
for _ in 0..<200 {
    sandboxStarts.append(try await time { _ = try await sandbox.run(["/bin/true"]) })
    plainStarts.append(try await time { _ = try await plain.run(["/bin/true"], options: RunOptions()) })
}

// 2. Keystroke round trip.
func measureKeystrokes(_ terminal: TerminalSession, count: Int) async throws -> [Double] {
    var output = terminal.output.makeAsyncIterator()
    // Wait for the shell's prompt; then each typed key is echoed by readline.
    var pending = ""
    while !pending.contains("$ ") {
        guard let chunk = await output.next() else { fatalError("the terminal ended: \(pending)") }
        pending += String(decoding: chunk, as: UTF8.self)
    }
    pending = ""
    var keystrokes: [Double] = []
    for index in 0..<count {
        let key = Character(UnicodeScalar(UInt8(97 + index % 26)))
        let start = ContinuousClock.now
        try terminal.write(Data(String(key).utf8))
        while !pending.contains(key) {
            guard let chunk = await output.next() else { return keystrokes }
            pending += String(decoding: chunk, as: UTF8.self)
        }
        keystrokes.append(seconds(ContinuousClock.now - start) * 1000)
        pending = ""
        if index % 100 == 99 { try terminal.write(Data([0x15])) }  // Ctrl-U: keep the line short
    }
    return keystrokes
}
let terminal = try await sandbox.openTerminal(rows: 24, columns: 80)
var keystrokes = try await measureKeystrokes(terminal, count: 2000)
terminal.close()
keystrokes.removeFirst(50)  // warm-up
sandbox.shutdown()

// 3. git status through the jailed helper vs the CLI.
let repoRoot = try folder("repo")
let files = try ProjectFiles(root: repoRoot)
for index in 0..<10_000 {
    try files.write("src/dir\(index / 100)/file\(index).txt", Data("line \(index)\n".utf8))
}
let gitSandbox = try BwrapSandbox(projectRoot: repoRoot, projectID: "bench-git-\(getpid())", uid: 259_998, configuration: configuration)
let repository = try ProjectGit(projectRoot: repoRoot, isolation: .jail(gitSandbox))
try await repository.initialize()
try await repository.stageAll()
_ = try await repository.commit(message: "10,000 files", author: GitSignature(name: "Bench", email: "bench@hma.test"))
for index in stride(from: 0, to: 10_000, by: 100) {
    try files.write("src/dir\(index / 100)/file\(index).txt", Data("changed \(index)\n".utf8))
}
func cliStatus() throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
    process.arguments = ["-c", "safe.directory=*", "status", "--porcelain"]
    process.currentDirectoryURL = URL(fileURLWithPath: repoRoot)
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
}
_ = try await repository.status(); try cliStatus()
var ours: [Double] = [], cli: [Double] = []
for _ in 0..<15 {
    ours.append(try await time { let status = try await repository.status(); precondition(status.unstaged.count == 100) })
    cli.append(try await time { try cliStatus() })
}

// 4. Zip export of 200 MB.
let bigRoot = try folder("big")
let big = try ProjectFiles(root: bigRoot)
var generator = SystemRandomNumberGenerator()
for index in 0..<200 {
    var chunk = Data(count: 1 << 20)
    if index % 2 == 0 {
        let text = Data(String(repeating: "let value\(index) = compute(\(index)) // some source text\n", count: 20_000).utf8)
        chunk = text.prefix(1 << 20)
    } else {
        chunk.withUnsafeMutableBytes { raw in
            for offset in stride(from: 0, to: raw.count, by: 8) { raw.storeBytes(of: generator.next() as UInt64, toByteOffset: offset, as: UInt64.self) }
        }
    }
    try big.write("data/part\(index).bin", chunk)
}
let zipURL = URL(fileURLWithPath: base + "/big.zip")
var exportSeconds: [Double] = []
for _ in 0..<3 {
    try? FileManager.default.removeItem(at: zipURL)
    exportSeconds.append(try await time { try ProjectArchive.export(big, to: zipURL) } / 1000)
}
let megabytesPerSecond = 200 / percentile(exportSeconds, 0.5)

let closing = String(format: "keystroke p99 %.2f ms, sandbox start p50 %.1f ms", percentile(keystrokes, 0.99), percentile(sandboxStarts, 0.5))
let table = [
    "| measure | HMA | peer in the same run | ratio |",
    "|---|---|---|---|",
    String(format: "| sandbox start (bwrap, run /bin/true) p50 / p99 | %.1f / %.1f ms | plain posix_spawn %.1f / %.1f ms | %.1f× |",
           percentile(sandboxStarts, 0.5), percentile(sandboxStarts, 0.99), percentile(plainStarts, 0.5), percentile(plainStarts, 0.99),
           percentile(sandboxStarts, 0.5) / percentile(plainStarts, 0.5)),
    String(format: "| terminal keystroke round trip p50 / p99 | %.3f / %.2f ms | — | — |", percentile(keystrokes, 0.5), percentile(keystrokes, 0.99)),
    String(format: "| status, 10,000 files, 100 changed (median) | %.1f ms | git CLI %.1f ms | %.2f× |",
           percentile(ours, 0.5), percentile(cli, 0.5), percentile(ours, 0.5) / percentile(cli, 0.5)),
    String(format: "| zip export, 200 MB (half text, half random) | %.0f MB/s | — | — |", megabytesPerSecond),
]
for line in table { print(line) }
try writeBenchmarkSection(
    name: "workspace", command: "make bench-workspace",
    detail: "200 sandbox starts, 1,950 keystrokes, 15 status runs, 3 exports",
    summary: [closing, "aims: sandbox start ≤ 30 ms, keystroke p99 ≤ 2 ms, status no slower than the git CLI"], table: table)
print(closing)
