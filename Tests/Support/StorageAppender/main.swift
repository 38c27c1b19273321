// hma-storage-appender DB_PATH MAX_MESSAGES
//
// Test helper for the durability test: appends messages to DB_PATH as fast as
// it can (single appends and small batches) and prints "ack ID" on standard
// output after each append has returned, i.e. after the store acknowledged
// it. The test kills this process with SIGKILL at a random moment and then
// checks that every acknowledged id is in the database. Stops by itself after
// MAX_MESSAGES so a broken test cannot leave it running.
import Foundation
import Storage

let arguments = CommandLine.arguments
guard arguments.count == 3, let limit = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: hma-storage-appender DB_PATH MAX_MESSAGES\n".utf8))
    exit(2)
}

func emit(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    bytes.withUnsafeBufferPointer { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(1, buffer.baseAddress! + offset, buffer.count - offset)
            if written <= 0 { exit(3) }
            offset += written
        }
    }
}

let store = try Store(path: arguments[1])
let user = try await store.ensureUser(name: "appender")
let session = try await store.createSession(userId: user.id, title: "durability")
emit("session \(session.id)")
var next = 0
while next < limit {
    if next % 7 == 0 {
        let batch = (next..<min(next + 5, limit)).map {
            NewMessage(id: "m-\($0)", sessionId: session.id, sender: .assistant, content: "batched \($0)")
        }
        for stored in try await store.appendMessages(batch) { emit("ack \(stored.id)") }
        next += batch.count
    } else {
        let stored = try await store.appendMessage(
            NewMessage(id: "m-\(next)", sessionId: session.id, sender: .user, content: "single \(next)"))
        emit("ack \(stored.id)")
        next += 1
    }
}
emit("done")
