import Testing
@testable import Agents

/// The text command language (docs/agents.md, "The command language"):
/// every command, every string form, and the replies models really send
/// that are not one valid command.
@Suite struct CommandParserTests {
    let parser = CommandParser()

    func parse(_ reply: String) throws -> AgentAction { try parser.parse(reply) }

    func failure(_ reply: String) -> CommandParseError? {
        do {
            _ = try parser.parse(reply)
            return nil
        } catch {
            return error
        }
    }

    // MARK: Every command

    @Test func delegateToTheRootManager() throws {
        #expect(try parse(#"DELEGATE PROMPT="Build the API""#) == .delegate([Assignment(target: nil, prompt: "Build the API")]))
    }

    @Test func delegateToSeveralChildren() throws {
        let action = try parse(#"DELEGATE file "src/app.ts" PROMPT="Write the app", folder "src/api" PROMPT="The API: READ docs/api.md""#)
        #expect(action == .delegate([
            Assignment(target: ProjectEntry(.file, "src/app.ts"), prompt: "Write the app"),
            Assignment(target: ProjectEntry(.folder, "src/api"), prompt: "The API: READ docs/api.md"),
        ]))
    }

    @Test func createDeleteAndReadEntries() throws {
        #expect(try parse(#"CREATE file "a.py", folder "lib""#) == .create([ProjectEntry(.file, "a.py"), ProjectEntry(.folder, "lib")]))
        #expect(try parse(#"DELETE folder "old""#) == .delete([ProjectEntry(.folder, "old")]))
        #expect(try parse(#"READ file "a.py", folder "lib""#) == .read([ProjectEntry(.file, "a.py"), ProjectEntry(.folder, "lib")]))
    }

    @Test func readWithBareStringsMeansFiles() throws {
        #expect(try parse(#"READ "src/a.ts", "src/b.ts""#) == .read([ProjectEntry(.file, "src/a.ts"), ProjectEntry(.file, "src/b.ts")]))
        #expect(try parse(#"READ "a.ts", folder "lib""#) == .read([ProjectEntry(.file, "a.ts"), ProjectEntry(.folder, "lib")]))
    }

    @Test func runWithAndWithoutTimeout() throws {
        #expect(try parse(#"RUN "npm test""#) == .run(command: "npm test", noTimeout: false))
        #expect(try parse(#"RUN NO_TIMEOUT "npm install""#) == .run(command: "npm install", noTimeout: true))
    }

    @Test func changeScratchAndUpdates() throws {
        #expect(try parse(#"CHANGE CONTENT="x = 1\n""#) == .change(content: "x = 1\n"))
        #expect(try parse(#"SCRATCH CONTENT="todo""#) == .scratch(content: "todo"))
        #expect(try parse(#"UPDATE_README CONTENT="lib: the library""#) == .updateReadme(content: "lib: the library"))
        #expect(try parse(#"UPDATE_DOCUMENTATION CONTENT="Docs""#) == .updateDocumentation(content: "Docs"))
    }

    @Test func replaceAndInsertWithSeveralEdits() throws {
        #expect(try parse(#"REPLACE FROM="a" TO="b", FROM="c" TO="d""#) == .replace([TextEdit(from: "a", to: "b"), TextEdit(from: "c", to: "d")]))
        #expect(try parse(#"INSERT FROM="import os" TO="\nimport sys""#) == .insert([TextEdit(from: "import os", to: "\nimport sys")]))
    }

    @Test func spawnWaitFinish() throws {
        #expect(try parse(#"SPAWN tester PROMPT="Run the tests""#) == .spawnTester(prompt: "Run the tests"))
        #expect(try parse("WAIT") == .wait)
        #expect(try parse(#"FINISH PROMPT="Done: 3 files""#) == .finish(message: "Done: 3 files"))
    }

    // MARK: Strings

    @Test func escapesInQuotedStrings() throws {
        #expect(try parse(#"CHANGE CONTENT="a\nb\tc\"d\\e\rf""#) == .change(content: "a\nb\tc\"d\\e\rf"))
    }

    @Test func unknownEscapesAreKeptSoRegularExpressionsSurvive() throws {
        #expect(try parse(#"CHANGE CONTENT="re = /\d+\.\w/""#) == .change(content: #"re = /\d+\.\w/"#))
    }

    @Test func tripleQuotedBlocksAreVerbatim() throws {
        let reply = "CHANGE CONTENT=\"\"\"\nprint(\"hi\\n\")\n  indented\n\"\"\""
        #expect(try parse(reply) == .change(content: "print(\"hi\\n\")\n  indented\n"))
    }

    @Test func tripleQuotedBlockOnOneLine() throws {
        #expect(try parse(#"FINISH PROMPT="""all "good" here""""#) == .finish(message: #"all "good" here"#))
    }

    @Test func tripleQuotedEditsMixWithQuoted() throws {
        let reply = "REPLACE FROM=\"\"\"\ndef f():\n    pass\n\"\"\" TO=\"def f():\\n    return 1\\n\""
        #expect(try parse(reply) == .replace([TextEdit(from: "def f():\n    pass\n", to: "def f():\n    return 1\n")]))
    }

    @Test func emptyStringsParse() throws {
        #expect(try parse(#"CHANGE CONTENT="""#) == .change(content: ""))
        #expect(try parse(#"REPLACE FROM="x" TO="""#) == .replace([TextEdit(from: "x", to: "")]))
    }

    @Test func unicodeSurvives() throws {
        #expect(try parse(#"FINISH PROMPT="Fertig ✓ — 日本語""#) == .finish(message: "Fertig ✓ — 日本語"))
    }

    @Test func whitespaceAndNewlinesBetweenTokensAreFree() throws {
        #expect(try parse("  \n DELEGATE\n  file \"a.py\"\n  PROMPT = \"x\" ,\n  file \"b.py\" PROMPT=\"y\"\n\n") == .delegate([
            Assignment(target: ProjectEntry(.file, "a.py"), prompt: "x"), Assignment(target: ProjectEntry(.file, "b.py"), prompt: "y"),
        ]))
    }

    @Test func aCodeFenceAroundTheReplyIsIgnored() throws {
        #expect(try parse("```\nWAIT\n```") == .wait)
        #expect(try parse("```text\nRUN \"pytest\"\n```") == .run(command: "pytest", noTimeout: false))
    }

    @Test func codeFencesInsideContentAreContent() throws {
        let reply = "CHANGE CONTENT=\"\"\"\n```js\nx\n```\n\"\"\""
        #expect(try parse(reply) == .change(content: "```js\nx\n```\n"))
    }

    @Test func aKeywordInsideAStringIsText() throws {
        #expect(try parse(#"FINISH PROMPT="WAIT for DELEGATE then RUN""#) == .finish(message: "WAIT for DELEGATE then RUN"))
    }

    // MARK: Replies that are not one command

    @Test func anEmptyReply() {
        for reply in ["", "   ", "\n\n\t"] {
            let error = failure(reply)
            #expect(error?.message.contains("empty") == true, "\(reply.debugDescription)")
        }
    }

    @Test func prose() throws {
        let error = try #require(failure("I think we should start with the models."))
        #expect(error.message.contains("Expected a command") && error.line == 1 && error.column == 1)
    }

    @Test func proseBeforeTheCommandNamesTheLine() throws {
        let error = try #require(failure("Sure! Here it is:\nWAIT"))
        #expect(error.message.contains("line 2") && error.message.contains("Start the reply with the command"))
    }

    @Test func twoCommands() throws {
        let error = try #require(failure("READ \"a.py\"\nRUN \"pytest\""))
        #expect(error.message.contains("One command per reply") && error.line == 2 && error.column == 1)
    }

    @Test func proseAfterTheCommand() throws {
        let error = try #require(failure("WAIT until they finish"))
        #expect(error.message.contains("Unexpected") && error.column == 6)
    }

    @Test func aCommandCutOffInsideAString() throws {
        let error = try #require(failure("CHANGE CONTENT=\"def f():\n    return"))
        #expect(error.message.contains("never ends") && error.message.contains("cut off") && error.line == 1 && error.column == 16)
    }

    @Test func aCommandCutOffInsideATripleBlock() throws {
        let error = try #require(failure("CHANGE CONTENT=\"\"\"\nline\nline"))
        #expect(error.message.contains("no closing \"\"\""))
    }

    @Test func aCommandCutOffBeforeItsArguments() throws {
        for reply in ["DELEGATE", "CHANGE", "REPLACE FROM=\"a\"", "DELEGATE file \"a.py\"", "SPAWN tester", "CHANGE CONTENT="] {
            let error = failure(reply)
            #expect(error?.message.contains("ends before") == true, "\(reply): \(String(describing: error))")
        }
    }

    @Test func lowercaseCommandsAreNotCommands() throws {
        let error = try #require(failure("wait"))
        #expect(error.message.contains("Expected a command"))
    }

    @Test func anUnknownCommand() throws {
        let error = try #require(failure("WRITE file \"a.py\""))
        #expect(error.message.contains("\"WRITE\""))
    }

    @Test func wrongKeys() {
        for reply in [#"CHANGE TEXT="x""#, #"FINISH MESSAGE="x""#, #"REPLACE FROM="a" WITH="b""#, #"SPAWN tester TASK="x""#] {
            #expect(failure(reply) != nil, "\(reply)")
        }
    }

    @Test func missingEquals() throws {
        let error = try #require(failure(#"CHANGE CONTENT "x""#))
        #expect(error.message.contains("\"=\""))
    }

    @Test func unquotedValues() throws {
        let error = try #require(failure("RUN npm test"))
        #expect(error.message.contains("quoted string"))
        #expect(failure("CHANGE CONTENT=x") != nil)
    }

    @Test func entriesNeedAKind() throws {
        let error = try #require(failure(#"CREATE "a.py""#))
        #expect(error.message.contains("file \"path\" or folder \"path\""))
        #expect(failure(#"DELETE dir "a""#) != nil)
    }

    @Test func delegateToAChildWithoutAPrompt() {
        #expect(failure(#"DELEGATE file "a.py", file "b.py" PROMPT="x""#) != nil)
    }

    @Test func aTrailingComma() {
        #expect(failure(#"CREATE file "a.py","#) != nil)
        #expect(failure(#"REPLACE FROM="a" TO="b","#) != nil)
    }

    @Test func spawnNeedsTheWordTester() throws {
        let error = try #require(failure(#"SPAWN coder PROMPT="x""#))
        #expect(error.message.contains("SPAWN tester"))
    }

    @Test func errorsSayTheLineAndColumn() throws {
        let error = try #require(failure("REPLACE FROM=\"a\"\n  TO=b"))
        #expect(error.line == 2 && error.column == 6)
        #expect(error.description.hasPrefix("line 2, column 6: "))
    }

    @Test func strayPunctuation() {
        for reply in ["= WAIT", ", WAIT", "\"WAIT\"", "WAIT,", "WAIT ="] {
            #expect(failure(reply) != nil, "\(reply)")
        }
    }

    @Test func aFenceThatDoesNotCloseIsNotStripped() {
        #expect(failure("```\nWAIT") != nil)
    }

    @Test func longRepliesParse() throws {
        let body = String(repeating: "line of code\n", count: 20_000)
        #expect(try parse("CHANGE CONTENT=\"\"\"\n\(body)\"\"\"") == .change(content: body))
    }
}
