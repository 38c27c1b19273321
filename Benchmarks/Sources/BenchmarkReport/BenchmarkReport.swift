import Foundation

/// Replaces one benchmark's section of docs/benchmarks.md (between
/// `<!-- bench:NAME:begin -->` and `<!-- bench:NAME:end -->`) when the
/// `BENCH_DOCS` environment variable names that file, as `make bench-*` does.
///
/// - Parameters:
///   - name: the section marker name (`storage`, `mesh`).
///   - command: the make target that produced the figures.
///   - detail: how it ran (seconds per point, runs), shown after the date.
///   - summary: the lines shown in a code block (the closing line first).
///   - table: a Markdown table.
public func writeBenchmarkSection(name: String, command: String, detail: String, summary: [String], table: [String]) throws {
    guard let docs = ProcessInfo.processInfo.environment["BENCH_DOCS"] else { return }
    let begin = "<!-- bench:\(name):begin -->", end = "<!-- bench:\(name):end -->"
    let date = ISO8601DateFormatter().string(from: Date())
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let header = "Command: `\(command)` (release build; \(date); \(cores) cores\(detail.isEmpty ? "" : "; " + detail))."
    let section = ([begin, header, "", "```"] + summary + ["```", ""] + table + [end]).joined(separator: "\n")
    var text = (try? String(contentsOfFile: docs, encoding: .utf8)) ?? "# Benchmarks\n"
    if let a = text.range(of: begin), let b = text.range(of: end) {
        text.replaceSubrange(a.lowerBound..<b.upperBound, with: section)
    } else {
        text += "\n## \(name.capitalized)\n\n" + section + "\n"
    }
    try text.write(toFile: docs, atomically: true, encoding: .utf8)
    print("wrote \(docs)")
}
