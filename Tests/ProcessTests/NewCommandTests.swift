import Foundation
import MeshTesting
import ProcessTesting
import Testing

/// `hma new` and `hma resume` as a person runs them, with the demo model.
@Suite struct NewCommandTests {
    static let request = "Make a small Python package that converts temperatures between Celsius, Fahrenheit and Kelvin, with unittest tests."

    func runTests(in folder: String) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "unittest", "-v"]
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    @Test func aRunKilledWithSIGKILLIsResumedAndTheProjectItBuildsPassesItsTests() async throws {
        let folder = NSTemporaryDirectory() + "hma-new-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // In slow motion (about a minute), so the kill lands mid-run however
        // late the test reads the line on a loaded machine.
        let first = try ChildProcess(ChildProcess.executable("hma"), ["new", Self.request, "--dir", folder, "--yes", "--provider", "demo"],
                                     environment: ["HMA_DEMO_PAUSE_MS": "150"])
        // Mid-run: the package's coder has started (files exist, others do not yet).
        let midRun = try await within(120, "the convert.py coder to start") {
            await first.lines.first { $0 == "coder tempconv/convert.py: working" }
        }
        #expect(midRun != nil, "hma new: \(first.standardError)")
        first.signal(SIGKILL)
        _ = await first.exitStatus()
        #expect(first.terminatedBySignal)
        #expect(FileManager.default.fileExists(atPath: folder + "/.hma/run.json"))

        let again = try ChildProcess(ChildProcess.executable("hma"), ["new", Self.request, "--dir", folder, "--yes"])
        #expect(try await within(60, "hma new to refuse") { await again.exitStatus() } != 0)
        #expect(again.standardError.contains("hma resume"), "\(again.standardError)")

        let resumed = try ChildProcess(ChildProcess.executable("hma"), ["resume", folder, "--yes"], environment: ["HMA_DEMO_PAUSE_MS": "0"])
        let status = try await within(180, "hma resume to finish") { await resumed.exitStatus() }
        #expect(status == 0, "hma resume: \(resumed.standardError)")
        let (testStatus, output) = try runTests(in: folder)
        #expect(testStatus == 0 && output.contains("Ran 5 tests"), "\(output)")
    }

    @Test func badOptionsAreRefusedClearly() async throws {
        let folder = NSTemporaryDirectory() + "hma-new-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let unknown = try ChildProcess(ChildProcess.executable("hma"), ["new", "x", "--dir", folder, "--provider", "nope"])
        #expect(try await within(60, "exit") { await unknown.exitStatus() } != 0)
        #expect(unknown.standardError.contains("unknown provider nope"))
        let nothing = try ChildProcess(ChildProcess.executable("hma"), ["resume", folder + "/missing"])
        #expect(try await within(60, "exit") { await nothing.exitStatus() } != 0)
        #expect(nothing.standardError.contains("has no run to resume"))
    }
}
