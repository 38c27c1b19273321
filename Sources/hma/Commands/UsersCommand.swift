import ArgumentParser
import Foundation
import Gateway
import Storage

/// `hma users add|token|list`: the gateway's accounts (docs/operations.md,
/// "Accounts"). Safe while the gateway runs (the database is shared).
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Manage the gateway's user accounts and their access tokens.",
        subcommands: [Add.self, Token.self, List.self])

    /// Prints a new API token for `user`: programs send it as a bearer
    /// token; a browser signs in by opening `/?token=…` once.
    static func printToken(for user: User, store: Store, label: String?) async throws {
        let token = try await Accounts(store: store).issue(.api, userId: user.id, label: label)
        print("user \(user.name) (\(user.id))")
        print("token \(token)")
        print("Sign in a browser with https://GATEWAY/?token=\(token); programs send Authorization: Bearer <token>.")
    }

    static func openStore(_ common: CommonOptions) async throws -> Store {
        let settings = try await NodeSettings.load(flags: common.configValues, configFile: common.config)
        do { return try Store(path: settings.databasePath, configuration: try settings.storeConfiguration()) } catch {
            throw StorageFailure(error: error)
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user and print an API token for it.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The user's name (letters, digits, -_.:).") var name: String
        @Option(help: "A note on what the token is for.") var label: String?

        func run() async throws {
            let store = try await UsersCommand.openStore(common)
            defer { try? store.close() }
            if try await store.user(named: name) != nil { throw ValidationError("\(name) exists already; `hma users token \(name)` gives a new token.") }
            let user: User
            do { user = try await store.ensureUser(name: name) } catch { throw ValidationError("\(error)") }
            try await UsersCommand.printToken(for: user, store: store, label: label)
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a new API token for an existing user.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The user's name.") var name: String
        @Option(help: "A note on what the token is for.") var label: String?
        @Flag(help: "Revoke the user's other tokens (and sign out its browsers) first.") var revokeOthers = false

        func run() async throws {
            let store = try await UsersCommand.openStore(common)
            defer { try? store.close() }
            guard let user = try await store.user(named: name) else { throw ValidationError("there is no user \(name)") }
            if revokeOthers { try await store.revokeAccessTokens(userId: user.id) }
            try await UsersCommand.printToken(for: user, store: store, label: label)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the users.")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let store = try await UsersCommand.openStore(common)
            defer { try? store.close() }
            for user in try await store.users() { print("\(user.name)\t\(user.id)\t\(user.createdAt.ISO8601Format())") }
        }
    }
}
