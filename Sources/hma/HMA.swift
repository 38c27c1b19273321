import ArgumentParser
import Gateway

/// `hma`: one binary for every role of an HMA node.
@main
struct HMA: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hma",
        abstract: "HMA: a hierarchy of LLM agents that builds software projects live, on your own machines.",
        version: HMAVersion.current,
        subcommands: [DevCommand.self, GatewayCommand.self, WorkerCommand.self, StatusCommand.self, BackupCommand.self, RestoreCommand.self, CertsCommand.self, ModelsCommand.self, NewCommand.self, ResumeCommand.self, UsersCommand.self, ProtocolCommand.self]
    )
}
