import Foundation
@testable import Gateway
import Storage
import Testing

/// Terminals that outlive their tab: routing, attach, detach, expiry, and
/// output cut into pieces anywhere.
@Suite struct TerminalRouterTests {
    let ada = User(id: "u-ada", name: "ada", createdAt: Date())
    let bob = User(id: "u-bob", name: "bob", createdAt: Date())

    func frames(_ connection: ClientConnection) async -> [ServerFrame] {
        var frames: [ServerFrame] = []
        while connection.queuedFrames > 0, let item = await connection.next() {
            if case .frame(let text) = item, let frame = ServerFrame.parse(text) { frames.append(frame) }
        }
        return frames
    }

    @Test func aCharacterSplitAcrossPiecesArrivesWhole() {
        var stream = UTF8Stream()
        let text = "é ✓ 🙂 done"
        let bytes = Array(text.utf8)
        // Every split point, including inside each multi-byte character.
        for cut in 0...bytes.count {
            var stream = UTF8Stream()
            let joined = stream.decode(Data(bytes[..<cut])) + stream.decode(Data(bytes[cut...]))
            #expect(joined == text, "cut at \(cut)")
        }
        // One byte at a time.
        #expect(bytes.map { stream.decode(Data([$0])) }.joined() == text)
        // Invalid bytes are shown, not dropped or held forever.
        var bad = UTF8Stream()
        #expect(bad.decode(Data([0x61, 0xFF, 0x62])) == "a\u{FFFD}b")
    }

    @Test func recentOutputStaysBoundedAndStartsAtALine() {
        var recent = RecentOutput(limit: 1000)
        for n in 0..<500 { recent.append("line \(n) ✓\n") }
        #expect(recent.text.utf8.count <= 1000)
        #expect(recent.text.hasPrefix("line ") && recent.text.hasSuffix("line 499 ✓\n"))
    }

    @Test func aTerminalOutlivesItsSocketAndAttachesToTheNextTabWithItsOutput() async {
        let router = TerminalRouter(detachedLifetime: 60)
        let first = ClientConnection(user: ada, limits: ConnectionLimits())
        router.add("t-1", ownerId: ada.id, projectId: "p-1", connection: first)
        router.output("t-1", Data("$ echo hi\nhi\n".utf8))
        #expect(await frames(first).map { $0.payload["data"]?.stringValue } == ["$ echo hi\nhi\n"])

        // The tab closes: the terminal keeps running, shown nowhere.
        let start = Date()
        #expect(router.detachAll(from: first, at: start) == ["t-1"])
        router.output("t-1", Data("later\n".utf8))
        #expect(router.list(ownerId: ada.id, projectId: "p-1") == [.init(id: "t-1", projectId: "p-1", attached: false)])
        #expect(router.expired(at: start.addingTimeInterval(59)).isEmpty)
        #expect(router.expired(at: start.addingTimeInterval(61)) == ["t-1"])

        // Another user cannot see or take it.
        let stranger = ClientConnection(user: bob, limits: ConnectionLimits())
        #expect(!router.attach("t-1", ownerId: bob.id, connection: stranger, replyTo: "c-1"))
        #expect(router.list(ownerId: bob.id, projectId: "p-1").isEmpty && router.project(of: "t-1", ownerId: bob.id) == nil)
        #expect(await frames(stranger).isEmpty)

        // The reloaded tab: the answer, then everything kept, then new output.
        let second = ClientConnection(user: ada, limits: ConnectionLimits())
        #expect(router.attach("t-1", ownerId: ada.id, connection: second, replyTo: "c-7"))
        router.output("t-1", Data("after\n".utf8))
        let got = await frames(second)
        #expect(got.map(\.type) == ["terminal_session", "terminal_data", "terminal_data"])
        #expect(got[0].replyTo == "c-7" && got[0].payload["status"] == "running")
        #expect(got[1].payload["data"] == "$ echo hi\nhi\nlater\n" && got[2].payload["data"] == "after\n")
        #expect(router.expired(at: start.addingTimeInterval(600)).isEmpty, "attached again: no longer expiring")

        // A third tab takes it over; the second is told.
        let third = ClientConnection(user: ada, limits: ConnectionLimits())
        #expect(router.attach("t-1", ownerId: ada.id, connection: third, replyTo: nil))
        #expect(await frames(second).map { $0.payload["status"] } == ["detached"])

        // The program ends: the tab showing it is told, and it is gone.
        _ = await frames(third)
        router.ended("t-1", exitCode: 0)
        #expect(await frames(third).map { $0.payload["status"] } == ["stopped"])
        #expect(router.count(ownerId: ada.id, projectId: "p-1") == 0)
    }
}
