import Foundation
import GRDB

/// A person who owns chat sessions and projects. Dev mode has exactly one.
public struct User: Sendable, Equatable, FetchableRecord {
    public var id: String
    public var name: String
    public var createdAt: Date

    public init(row: Row) throws {
        id = row["id"]
        name = row["name"]
        createdAt = Date(milliseconds: row["created_at"])
    }

    public init(id: String, name: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }
}
