import Foundation

/// The git command line, used by tests only to check what the libgit2
/// wrapper did (the product never runs it).
enum GitCLI {
    @discardableResult
    static func run(_ arguments: [String], in directory: String, allowFailure: Bool = false) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ["HOME": directory, "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin",
                               "GIT_AUTHOR_NAME": "CLI", "GIT_AUTHOR_EMAIL": "cli@example.test",
                               "GIT_COMMITTER_NAME": "CLI", "GIT_COMMITTER_EMAIL": "cli@example.test"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 || allowFailure else { throw CLIFailure(arguments: arguments, output: text) }
        if process.terminationStatus != 0 { return "" }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    struct CLIFailure: Error, CustomStringConvertible {
        let arguments: [String]
        let output: String
        var description: String { "git \(arguments.joined(separator: " ")): \(output)" }
    }
}
