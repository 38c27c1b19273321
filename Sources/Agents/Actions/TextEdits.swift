/// REPLACE and INSERT applied to a file's text. Each anchor must occur
/// exactly once — an edit that could land in two places is refused with
/// the lines it was found at, so the agent can quote more context.
public enum TextEdits {
    public static func replace(_ edits: [TextEdit], in content: String) throws(ActionRefusal) -> String {
        var text = content
        for edit in edits {
            let range = try uniqueRange(of: edit.from, in: text, verb: "REPLACE")
            text.replaceSubrange(range, with: edit.to)
        }
        return text
    }

    public static func insert(_ edits: [TextEdit], in content: String) throws(ActionRefusal) -> String {
        var text = content
        for edit in edits {
            let range = try uniqueRange(of: edit.from, in: text, verb: "INSERT")
            text.insert(contentsOf: edit.to, at: range.upperBound)
        }
        return text
    }

    private static func uniqueRange(of anchor: String, in text: String, verb: String) throws(ActionRefusal) -> Range<String.Index> {
        guard !anchor.isEmpty else { throw ActionRefusal("\(verb): FROM cannot be empty.") }
        let found = text.ranges(of: anchor)
        let quoted = anchor.count > 60 ? String(anchor.prefix(60)) + "…" : anchor
        guard let first = found.first else {
            throw ActionRefusal("\(verb) failed: FROM=\(quoted.debugDescription) does not occur in the file. READ it and quote the text exactly.")
        }
        guard found.count == 1 else {
            let lines = found.prefix(5).map { line(of: $0.lowerBound, in: text) }
            throw ActionRefusal("\(verb) failed: FROM=\(quoted.debugDescription) occurs \(found.count) times (lines \(lines.map(String.init).joined(separator: ", "))). Quote more of the surrounding text so it occurs once.")
        }
        return first
    }

    static func line(of index: String.Index, in text: String) -> Int {
        text[..<index].reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
    }
}
