/// Why a reply is not one valid command; goes back to the agent, which can
/// fix it (docs/agents.md, "The command language").
public struct CommandParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    /// 1-based position of the problem in the reply.
    public var line: Int
    public var column: Int

    public var description: String { "line \(line), column \(column): \(message)" }
}

/// The text command language, for models without native tool calls: a
/// reply is exactly one command (docs/agents.md has the grammar).
///
///     DELEGATE file "src/app.ts" PROMPT="Write the app", folder "src/api" PROMPT="…"
///     REPLACE FROM="let a = 1" TO="let a = 2", FROM="x" TO="y"
///     CHANGE CONTENT="""
///     print("hello")
///     """
///
/// Strings are `"…"` with the escapes `\n \t \r \" \\` (any other backslash
/// is kept as written, so code with regular expressions survives) or
/// `"""…"""` taken verbatim (a newline right after the opening quotes is
/// dropped). A reply may be wrapped in a Markdown code fence.
public struct CommandParser: Sendable {
    public init() {}

    public func parse(_ reply: String) throws(CommandParseError) -> AgentAction {
        var scanner = Scanner(Self.unfenced(reply))
        guard let first = try scanner.next() else {
            throw CommandParseError(message: "The reply is empty. Answer with exactly one command, e.g. FINISH PROMPT=\"…\".", line: 1, column: 1)
        }
        guard case .word(let word) = first.kind, let name = ActionName(rawValue: word) else {
            var message = "Expected a command (\(ActionName.allCases.map(\.rawValue).joined(separator: ", "))), found \(first.kind)."
            if let later = scanner.lineStartingWithCommand() {
                message += " Start the reply with the command (one was found at line \(later)); write nothing else."
            } else {
                message += " Reply with exactly one command and nothing else."
            }
            throw CommandParseError(message: message, line: first.line, column: first.column)
        }
        var arguments = Arguments(scanner: scanner, command: name)
        let action = try arguments.action()
        if let extra = try arguments.scanner.next() {
            if case .word(let word) = extra.kind, ActionName(rawValue: word) != nil {
                throw CommandParseError(
                    message: "One command per reply: \(word) follows the \(name.rawValue) command. Send it in your next reply.",
                    line: extra.line, column: extra.column)
            }
            throw CommandParseError(message: "Unexpected \(extra.kind) after the \(name.rawValue) command.", line: extra.line, column: extra.column)
        }
        return action
    }

    /// The reply without a Markdown code fence around it (models add them).
    static func unfenced(_ reply: String) -> String {
        let trimmed = reply.trimmingWhitespace()
        guard trimmed.hasPrefix("```"), trimmed.hasSuffix("```"), trimmed.count >= 6,
              let firstNewline = trimmed.firstIndex(of: "\n") else { return reply }
        let inner = trimmed[trimmed.index(after: firstNewline)..<trimmed.index(trimmed.endIndex, offsetBy: -3)]
        return String(inner)
    }
}

// MARK: - Tokens

struct Token: Equatable {
    enum Kind: Equatable, CustomStringConvertible {
        case word(String)
        case string(String)
        case equals
        case comma

        var description: String {
            switch self {
            case .word(let word): "\"\(word.count > 40 ? String(word.prefix(40)) + "…" : word)\""
            case .string: "a string"
            case .equals: "\"=\""
            case .comma: "\",\""
            }
        }
    }

    var kind: Kind
    var line: Int
    var column: Int
}

struct Scanner {
    private let characters: [Character]
    private var index = 0
    private var line = 1
    private var column = 1
    private var peeked: Token?

    init(_ text: String) { characters = Array(text) }

    mutating func peek() throws(CommandParseError) -> Token? {
        if peeked == nil { peeked = try scan() }
        return peeked
    }

    mutating func next() throws(CommandParseError) -> Token? {
        if let token = peeked {
            peeked = nil
            return token
        }
        return try scan()
    }

    /// The first later line that starts with a command word (for the hint
    /// when a reply opens with prose).
    func lineStartingWithCommand() -> Int? {
        let text = String(characters)
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where offset > 0 {
            let word = line.trimmingWhitespace().prefix { $0.isLetter || $0 == "_" }
            if ActionName(rawValue: String(word)) != nil { return offset + 1 }
        }
        return nil
    }

    private mutating func advance() -> Character {
        let character = characters[index]
        index += 1
        if character == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        return character
    }

    private func at(_ text: String) -> Bool {
        var position = index
        for character in text {
            guard position < characters.count, characters[position] == character else { return false }
            position += 1
        }
        return true
    }

    private mutating func scan() throws(CommandParseError) -> Token? {
        while index < characters.count, characters[index].isWhitespace { _ = advance() }
        guard index < characters.count else { return nil }
        let (startLine, startColumn) = (line, column)
        let character = characters[index]
        func token(_ kind: Token.Kind) -> Token { Token(kind: kind, line: startLine, column: startColumn) }
        if character == "=" {
            _ = advance()
            return token(.equals)
        }
        if character == "," {
            _ = advance()
            return token(.comma)
        }
        if at("\"\"\"") {
            for _ in 0..<3 { _ = advance() }
            if index < characters.count, characters[index] == "\n" { _ = advance() }
            var text = ""
            while index < characters.count {
                if at("\"\"\"") {
                    for _ in 0..<3 { _ = advance() }
                    return token(.string(text))
                }
                text.append(advance())
            }
            throw Self.unterminated(line: startLine, column: startColumn, triple: true)
        }
        if character == "\"" {
            _ = advance()
            var text = ""
            while index < characters.count {
                let next = advance()
                if next == "\"" { return token(.string(text)) }
                if next == "\\", index < characters.count {
                    let escaped = advance()
                    switch escaped {
                    case "n": text.append("\n")
                    case "t": text.append("\t")
                    case "r": text.append("\r")
                    case "\"": text.append("\"")
                    case "\\": text.append("\\")
                    default: text.append("\\"); text.append(escaped)
                    }
                    continue
                }
                text.append(next)
            }
            throw Self.unterminated(line: startLine, column: startColumn, triple: false)
        }
        if character.isLetter || character == "_" {
            var word = ""
            while index < characters.count, characters[index].isLetter || characters[index].isNumber || characters[index] == "_" {
                word.append(advance())
            }
            return token(.word(word))
        }
        var word = ""
        while index < characters.count, !characters[index].isWhitespace { word.append(advance()) }
        return token(.word(word))
    }

    private static func unterminated(line: Int, column: Int, triple: Bool) -> CommandParseError {
        CommandParseError(
            message: "The string that starts here never ends (\(triple ? "no closing \"\"\"" : "no closing quote")). "
                + "If the reply was cut off for length, send a smaller change (REPLACE or INSERT a part instead of CHANGE of the whole file).",
            line: line, column: column)
    }
}

// MARK: - Arguments

/// Parses the arguments of one command.
struct Arguments {
    var scanner: Scanner
    let command: ActionName
    private var lastLine = 1
    private var lastColumn = 1

    init(scanner: Scanner, command: ActionName) {
        self.scanner = scanner
        self.command = command
    }

    mutating func action() throws(CommandParseError) -> AgentAction {
        switch command {
        case .delegate:
            if try peekWord("PROMPT") { return .delegate([Assignment(target: nil, prompt: try keyed("PROMPT"))]) }
            return .delegate(try list { (parser: inout Arguments) throws(CommandParseError) in
                let target = try parser.entry()
                return Assignment(target: target, prompt: try parser.keyed("PROMPT"))
            })
        case .create: return .create(try list { (parser: inout Arguments) throws(CommandParseError) in try parser.entry() })
        case .delete: return .delete(try list { (parser: inout Arguments) throws(CommandParseError) in try parser.entry() })
        case .read:
            return .read(try list { (parser: inout Arguments) throws(CommandParseError) in
                // A bare string is a file (coders and testers write READ "path").
                if case .string(let path)? = try parser.scanner.peek()?.kind {
                    _ = try parser.scanner.next()
                    return ProjectEntry(.file, path)
                }
                return try parser.entry()
            })
        case .run:
            let noTimeout = try peekWord("NO_TIMEOUT")
            if noTimeout { _ = try scanner.next() }
            return .run(command: try string(what: "the command to run"), noTimeout: noTimeout)
        case .change: return .change(content: try keyed("CONTENT"))
        case .replace: return .replace(try edits())
        case .insert: return .insert(try edits())
        case .scratch: return .scratch(content: try keyed("CONTENT"))
        case .spawn:
            try expectWord("tester", hint: "SPAWN tester PROMPT=\"…\"")
            return .spawnTester(prompt: try keyed("PROMPT"))
        case .wait: return .wait
        case .finish: return .finish(message: try keyed("PROMPT"))
        case .updateReadme: return .updateReadme(content: try keyed("CONTENT"))
        case .updateDocumentation: return .updateDocumentation(content: try keyed("CONTENT"))
        }
    }

    private mutating func edits() throws(CommandParseError) -> [TextEdit] {
        try list { (parser: inout Arguments) throws(CommandParseError) in
            TextEdit(from: try parser.keyed("FROM"), to: try parser.keyed("TO"))
        }
    }

    /// One or more items separated by commas.
    private mutating func list<T>(_ item: (inout Arguments) throws(CommandParseError) -> T) throws(CommandParseError) -> [T] {
        var items = [try item(&self)]
        while case .comma? = try scanner.peek()?.kind {
            _ = try scanner.next()
            items.append(try item(&self))
        }
        return items
    }

    private mutating func entry() throws(CommandParseError) -> ProjectEntry {
        let token = try required("file \"path\" or folder \"path\"")
        guard case .word(let word) = token.kind, let kind = ProjectEntry.Kind(rawValue: word) else {
            throw fail("Expected file \"path\" or folder \"path\", found \(token.kind).", at: token)
        }
        return ProjectEntry(kind, try string(what: "the \(word)'s path"))
    }

    /// `KEY=string`.
    private mutating func keyed(_ key: String) throws(CommandParseError) -> String {
        let token = try required("\(key)=\"…\"")
        guard token.kind == .word(key) else { throw fail("Expected \(key)=\"…\" here, found \(token.kind).", at: token) }
        let equals = try required("\"=\" after \(key)")
        guard equals.kind == .equals else { throw fail("Expected \"=\" after \(key), found \(equals.kind).", at: equals) }
        return try string(what: "the value of \(key)")
    }

    private mutating func string(what: String) throws(CommandParseError) -> String {
        let token = try required(what)
        guard case .string(let text) = token.kind else { throw fail("Expected \(what) as a quoted string, found \(token.kind).", at: token) }
        return text
    }

    private mutating func peekWord(_ word: String) throws(CommandParseError) -> Bool {
        try scanner.peek()?.kind == .word(word)
    }

    private mutating func expectWord(_ word: String, hint: String) throws(CommandParseError) {
        let token = try required(word)
        guard token.kind == .word(word) else { throw fail("Expected \(hint), found \(token.kind).", at: token) }
    }

    private mutating func required(_ what: String) throws(CommandParseError) -> Token {
        guard let token = try scanner.next() else {
            throw CommandParseError(message: "The \(command.rawValue) command ends before \(what). Was the reply cut off?", line: lastLine, column: lastColumn)
        }
        lastLine = token.line
        lastColumn = token.column
        return token
    }

    private func fail(_ message: String, at token: Token) -> CommandParseError {
        CommandParseError(message: "\(command.rawValue): \(message)", line: token.line, column: token.column)
    }
}

extension StringProtocol {
    /// Without leading and trailing whitespace (Foundation-free).
    func trimmingWhitespace() -> String {
        guard let start = firstIndex(where: { !$0.isWhitespace }), let end = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[start...end])
    }
}
