import ArgumentParser
import Gateway

/// `hma protocol schema|typescript`: the web IDE protocol, generated from
/// its one definition (docs/protocol.md).
struct ProtocolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "protocol",
        abstract: "Print the web IDE protocol as JSON Schema, TypeScript types or Markdown tables.")

    @Argument(help: "schema, typescript or markdown (the tables of docs/protocol.md)") var format: String

    func run() throws {
        switch format {
        case "schema": print(SchemaExport.jsonSchemaText())
        case "typescript": print(SchemaExport.typescript(), terminator: "")
        case "markdown": print(SchemaExport.markdown(), terminator: "")
        default: throw ValidationError("the format is schema, typescript or markdown")
        }
    }
}
