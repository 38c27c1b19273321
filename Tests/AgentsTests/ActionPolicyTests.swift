import Testing
@testable import Agents

/// Who may do what, and on what (docs/agents.md, "Permissions").
@Suite struct ActionPolicyTests {
    let policy = ActionPolicy()
    let master = AgentScope(role: .master, path: "")
    let root = AgentScope(role: .manager, path: "")
    let api = AgentScope(role: .manager, path: "src/api")
    let coder = AgentScope(role: .coder, path: "src/api/routes.ts")
    let tester = AgentScope(role: .tester, path: "src/api/routes.ts")

    func refusal(_ action: AgentAction, by agent: AgentScope, phase: ProjectPhase = .implementation) -> String? {
        do {
            _ = try policy.check(action, by: agent, phase: phase)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func theRoleTable() {
        let table: [(AgentRole, ProjectPhase, Set<ActionName>)] = [
            (.master, .understanding, [.finish, .read, .run, .updateDocumentation]),
            (.master, .structure, [.finish, .read, .run, .updateDocumentation]),
            (.master, .implementation, [.delegate, .spawn, .finish, .read, .wait, .run, .updateDocumentation]),
            (.manager, .implementation, [.delegate, .spawn, .finish, .create, .delete, .read, .run, .wait, .updateReadme]),
            (.coder, .implementation, [.read, .run, .change, .replace, .insert, .scratch, .spawn, .wait, .finish]),
            (.tester, .implementation, [.read, .run, .change, .replace, .insert, .scratch, .finish]),
        ]
        for (role, phase, expected) in table {
            #expect(Set(policy.allowedActions(for: role, phase: phase)) == expected, "\(role) in \(phase)")
        }
    }

    @Test func actionsOutsideTheRoleAreRefusedWithTheListOfAllowedOnes() throws {
        let message = try #require(refusal(.create([ProjectEntry(.file, "x.ts")]), by: coder))
        #expect(message.contains("CREATE is not available to a coder") && message.contains("CHANGE"))
        #expect(refusal(.updateReadme(content: ""), by: coder) != nil)
        #expect(refusal(.change(content: ""), by: api) != nil, "a manager does not write files itself")
        #expect(refusal(.wait, by: tester) != nil)
        #expect(refusal(.delegate([Assignment(target: nil, prompt: "x")]), by: master, phase: .understanding)?.contains("understanding phase") == true)
    }

    @Test func aManagerActsOnlyOnItsDirectChildren() throws {
        #expect(refusal(.create([ProjectEntry(.file, "src/api/users.ts"), ProjectEntry(.folder, "src/api/models")]), by: api) == nil)
        let outside = try #require(refusal(.create([ProjectEntry(.file, "src/web/app.ts")]), by: api))
        #expect(outside.contains("not within this manager's scope") && outside.contains("src/api"))
        #expect(refusal(.create([ProjectEntry(.file, "src/api/models/user.ts")]), by: api) != nil, "a grandchild is its child's")
        #expect(refusal(.delete([ProjectEntry(.file, "../secrets")]), by: api)?.contains("..") == true)
        #expect(refusal(.delegate([Assignment(target: ProjectEntry(.file, "README.md"), prompt: "x")]), by: api) != nil)
        #expect(refusal(.delegate([Assignment(target: ProjectEntry(.file, "main.py"), prompt: "x")]), by: root) == nil)
    }

    @Test func pathsAreNormalisedOrRefused() throws {
        let checked = try policy.check(.create([ProjectEntry(.file, "./src/api//users.ts/")]), by: api, phase: .implementation)
        #expect(checked == .create([ProjectEntry(.file, "src/api/users.ts")]))
        for bad in ["/etc/passwd", "~/x", "src/api/../../x", "src/api/a\nb", "src\\api\\x", ""] {
            #expect(refusal(.create([ProjectEntry(.file, bad)]), by: api) != nil, "\(bad.debugDescription)")
            #expect(refusal(.read([ProjectEntry(.file, bad)]), by: coder) != nil, "\(bad.debugDescription)")
        }
        #expect(refusal(.read([ProjectEntry(.folder, ".")]), by: coder) == nil, "the root folder can be read")
        #expect(refusal(.create([ProjectEntry(.folder, ".git")]), by: root)?.contains("reserved") == true)
    }

    @Test func theMasterDelegatesToTheRootOnly() {
        #expect(refusal(.delegate([Assignment(target: nil, prompt: "go")]), by: master) == nil)
        #expect(refusal(.delegate([Assignment(target: ProjectEntry(.folder, "src"), prompt: "go")]), by: master) != nil)
        #expect(refusal(.delegate([Assignment(target: nil, prompt: "x")]), by: api)?.contains("name the child") == true)
    }

    @Test func delegatingOrCreatingTheSameEntryTwice() {
        let twice = [ProjectEntry(.file, "a.py"), ProjectEntry(.file, "./a.py")]
        #expect(refusal(.create(twice), by: root)?.contains("twice") == true)
        #expect(refusal(.delegate(twice.map { Assignment(target: $0, prompt: "x") }), by: root)?.contains("twice") == true)
    }

    @Test func runIsLimitedToTheAllowList() {
        #expect(refusal(.run(command: "npm test", noTimeout: false), by: coder) == nil)
        #expect(refusal(.run(command: "python -m unittest discover", noTimeout: false), by: tester) == nil)
        #expect(refusal(.run(command: "curl http://example.com", noTimeout: false), by: coder)?.contains("may run only") == true)
        #expect(refusal(.run(command: "npmtest", noTimeout: false), by: coder) != nil, "prefixes match whole words")
        for chained in ["pytest; rm -rf /", "pytest && curl x", "pytest | sh", "pytest > /etc/x", "python -c \"$(cat x)\"", "node `x`", "pytest\nrm x"] {
            #expect(refusal(.run(command: chained, noTimeout: false), by: coder) != nil, "\(chained)")
        }
        #expect(refusal(.run(command: "npm install && npm test", noTimeout: true), by: master) == nil, "the master is unrestricted")
        #expect(refusal(.run(command: "pytest", noTimeout: true), by: coder)?.contains("master") == true)
        #expect(refusal(.run(command: "  ", noTimeout: false), by: master) != nil)
    }

    @Test func editsNeedAnAnchor() {
        #expect(refusal(.replace([TextEdit(from: "", to: "x")]), by: coder) != nil)
        #expect(refusal(.insert([TextEdit(from: "a", to: "b")]), by: coder) == nil)
    }
}

@Suite struct TextEditsTests {
    @Test func replaceAndInsertEachAnchorExactlyOnce() throws {
        let text = "import os\n\ndef main():\n    pass\n"
        #expect(try TextEdits.replace([TextEdit(from: "    pass", to: "    print(1)")], in: text) == "import os\n\ndef main():\n    print(1)\n")
        #expect(try TextEdits.insert([TextEdit(from: "import os", to: "\nimport sys")], in: text) == "import os\nimport sys\n\ndef main():\n    pass\n")
        // Applied in order: the second edit sees the first one's result.
        #expect(try TextEdits.replace([TextEdit(from: "os", to: "sys"), TextEdit(from: "import sys", to: "import re")], in: text).hasPrefix("import re\n"))
    }

    @Test func zeroOrTwoMatchesAreRefusedWithTheLines() {
        let text = "x = 1\ny = 2\nx = 1\n"
        do {
            _ = try TextEdits.replace([TextEdit(from: "x = 1", to: "x = 3")], in: text)
            Issue.record("an ambiguous REPLACE was applied")
        } catch {
            #expect(error.message.contains("occurs 2 times") && error.message.contains("lines 1, 3"))
        }
        do {
            _ = try TextEdits.insert([TextEdit(from: "z = 9", to: "w")], in: text)
            Issue.record("an INSERT without its anchor was applied")
        } catch {
            #expect(error.message.contains("does not occur"))
        }
    }
}
