/// Every event the gateway sends (docs/protocol.md, "Server → client").
/// The gateway's own tests check each event it sends against these.
enum ServerEvents {
    private typealias F = Field
    private static let text = FieldKind.string(maxBytes: 64 << 20)
    private static let success = F.required("success", .boolean)
    private static let message = F.optional("message", text)
    private static let agentStatus = FieldKind.choice(["inactive", "active", "waiting", "delegating", "completed", "error"])
    private static let agentRole = FieldKind.choice(["master", "manager", "coder", "tester"])

    static let agent = FieldKind.object([
        .required("agentId", .shortText), .optional("parentId", .shortText), .required("role", agentRole),
        .required("path", .path), .required("status", agentStatus), .optional("task", text), .required("node", .shortText),
    ])
    static let session = FieldKind.object([
        .required("id", .id), .required("title", .shortText), .required("createdAt", .shortText),
        .required("lastModified", .shortText), .optional("projectId", .id),
    ])
    static let chatMessage = FieldKind.object([
        .required("id", .id), .required("sessionId", .id), .required("content", text),
        .required("sender", .choice(["user", "assistant", "system"])), .optional("agentId", .shortText),
        .required("timestamp", .shortText), .optional("metadata", .anyJSON(maxBytes: 1 << 20)),
    ])
    static let project = FieldKind.object([
        .required("id", .id), .required("name", .shortText), .required("language", .shortText),
        .required("status", .shortText), .optional("sessionId", .id), .required("lastActivityAt", .shortText),
    ])

    static let all: [MessageSpec] = [
        MessageSpec("welcome", "The answer to hello.",
                    [.required("userId", .id), .required("userName", .shortText), .required("serverVersion", .shortText),
                     .required("protocolVersion", .shortText), .required("features", .array(of: .shortText, maxItems: 64)),
                     .required("demoModel", .boolean)]),
        MessageSpec("ok", "A request that has no other answer was done.", []),
        MessageSpec("error", "A request failed; the connection stays open.",
                    [.required("code", .choice(ErrorCode.allCases.map(\.rawValue))), .required("message", .shortText)]),
        MessageSpec("resync_required", "Events the client missed are gone: reload the session from this snapshot.",
                    [.required("sessionId", .id), .required("seq", .seq, "the snapshot's position; resume from it"),
                     .required("reason", .shortText), .required("agents", .array(of: agent, maxItems: 100_000)),
                     .optional("projectId", .id), .optional("projectStatus", .shortText),
                     .optional("phase", .shortText, "the run's phase, e.g. the one it waits to have approved")]),
        MessageSpec("message", "A chat message.", Self.fields(of: chatMessage)),
        MessageSpec("agent_update", "One agent changed.", Self.fields(of: agent)),
        MessageSpec("agent_hierarchy", "The whole agent tree (on join and resume).",
                    [.required("rootAgentId", .shortText), .required("agents", .array(of: agent, maxItems: 100_000))]),
        MessageSpec("llm_stream", "Model tokens as they arrive, coalesced per frame.",
                    [.required("agentId", .shortText), .optional("filePath", .path), .required("delta", text), .required("done", .boolean)]),
        MessageSpec("code_stream", "A file an agent wrote.",
                    [.required("agentId", .shortText), .required("filePath", .path), .required("content", text),
                     .required("isComplete", .boolean), .required("syntax", .shortText)]),
        MessageSpec("file_tree_update", "A file or folder appeared, changed or went away.",
                    [.required("action", .choice(["create", "update", "delete"])), .required("filePath", .path),
                     .required("fileType", .choice(["file", "folder"])), .optional("content", text), .optional("projectId", .id)]),
        MessageSpec("token_usage", "A model call's tokens and cost.",
                    [.required("agentId", .shortText), .required("inputTokens", .count), .required("outputTokens", .count),
                     .required("costUsd", .number(min: 0, max: 1e9)), .required("projectTotalUsd", .number(min: 0, max: 1e9)),
                     .optional("budgetUsd", .number(min: 0, max: 1e9))]),
        MessageSpec("project_status", "The project and its run.",
                    [.required("projectId", .id), .optional("sessionId", .id),
                     .required("status", .choice(["initializing", "active", "completed", "error", "stopped", "waiting"])),
                     message]),
        MessageSpec("project_init_status", "The run's phase.",
                    [.required("phase", .shortText), .required("phaseTitle", .shortText), .required("status", .shortText),
                     .required("requiresApproval", .boolean), .required("message", text), .optional("sessionId", .id)]),
        MessageSpec("project_list", "The user's projects.", [.required("projects", .array(of: project, maxItems: 100_000))]),
        MessageSpec("chat_session", "A chat session.", [.required("session", session)]),
        MessageSpec("chat_save_result", "", [success, .required("sessionId", .id)]),
        MessageSpec("chat_history_response", "",
                    [.required("sessions", .array(of: session, maxItems: 200)), .optional("nextCursor", .shortText)]),
        MessageSpec("chat_messages_response", "",
                    [.required("sessionId", .id), .required("messages", .array(of: chatMessage, maxItems: 500)),
                     .optional("nextCursor", .shortText)]),
        MessageSpec("chat_delete_result", "", [success, .required("sessionId", .id)]),
        MessageSpec("import_result", "", [success, .required("projectId", .id), .required("files", .count), message]),
        MessageSpec("file_read_result", "",
                    [.required("projectId", .id), .required("filePath", .path), .required("content", text),
                     .required("encoding", .choice(["text", "base64"]))]),
        MessageSpec("file_operation_result", "",
                    [success, .required("projectId", .id), .required("filePath", .path), .required("operation", .shortText)]),
        MessageSpec("dir_operation_result", "",
                    [success, .required("projectId", .id), .required("dirPath", .path), .required("operation", .shortText)]),
        MessageSpec("dir_list_result", "",
                    [.required("projectId", .id), .required("dirPath", .path),
                     .required("items", .array(of: .object([
                        .required("name", .shortText), .required("type", .choice(["file", "folder", "symlink", "other"])),
                        .required("size", .count),
                     ]), maxItems: 1_000_000)),
                     .required("complete", .boolean)]),
        MessageSpec("terminal_session", "A terminal opened, was attached, ended, or moved to another tab (`detached`).",
                    [.required("sessionId", .id), .required("projectId", .id), .required("status", .choice(["running", "stopped", "detached"])),
                     .optional("exitCode", .integer(min: -1 << 31, max: 1 << 31))]),
        MessageSpec("terminal_data", "Terminal output, in order, batched.", [.required("sessionId", .id), .required("data", text)]),
        MessageSpec("terminal_list", "A project's open terminals.",
                    [.required("projectId", .id), .required("terminals", .array(of: .object([
                        .required("sessionId", .id), .required("attached", .boolean, "shown on some socket now"),
                    ]), maxItems: 100))]),
        MessageSpec("model_catalogue", "Models HMA knows, and what this user can use.",
                    [.required("models", .array(of: .object([
                        .required("provider", .shortText), .required("id", .shortText), .required("contextWindow", .count),
                        .required("maxOutput", .count), .required("inputPerMillion", .number(min: 0, max: 1e6)),
                        .required("outputPerMillion", .number(min: 0, max: 1e6)), .required("isDefault", .boolean),
                     ]), maxItems: 10_000)),
                     .required("configured", .array(of: .shortText, maxItems: 64), "providers with a key (the server's or this user's) or a server address"),
                     .required("current", .object([.required("provider", .shortText), .required("model", .shortText)]),
                               "what this user's next run uses")]),
        MessageSpec("model_check", "The result of check_model.",
                    [.required("provider", .shortText), .required("model", .shortText), .required("usable", .boolean),
                     .required("verdict", .shortText), .required("lines", .array(of: .shortText, maxItems: 64))]),
        MessageSpec("git_status", "",
                    [.required("projectId", .id), .optional("branch", .shortText), .required("ahead", .count), .required("behind", .count),
                     .required("files", .array(of: .object([
                        .required("path", .path), .optional("staged", .shortText), .optional("unstaged", .shortText),
                        .required("untracked", .boolean),
                     ]), maxItems: 1_000_000))]),
        MessageSpec("git_diff", "",
                    [.required("filePath", .path), .required("diff", text), .required("addedLines", .count),
                     .required("removedLines", .count), .required("isBinary", .boolean)]),
        MessageSpec("git_branches_result", "",
                    [.required("branches", .array(of: .object([.required("name", .shortText), .required("current", .boolean)]),
                                                   maxItems: 100_000))]),
        MessageSpec("git_commits_result", "",
                    [.required("commits", .array(of: .object([
                        .required("hash", .shortText), .required("message", text), .required("author", .shortText),
                        .required("email", .shortText), .required("date", .shortText),
                    ]), maxItems: 500))]),
        MessageSpec("git_commit_result", "", [success, .required("commitHash", .shortText)]),
        MessageSpec("git_merge_result", "", [success, .required("result", .choice(["up_to_date", "fast_forward", "merged", "conflicts"])),
                                             .optional("commitHash", .shortText), message]),
        MessageSpec("download_ready", "",
                    [.required("projectId", .id), .required("url", .shortText), .required("expiresInSeconds", .count)]),
        MessageSpec("llm_config_update", "",
                    [.required("config", .object([
                        .required("provider", .shortText), .required("model", .shortText), .optional("temperature", .number(min: 0, max: 2)),
                        .optional("maxTokens", .count), .optional("budgetUsd", .number(min: 0, max: 1e6)),
                    ]))]),
        MessageSpec("api_key_update", "", [.required("provider", .shortText), success]),
        MessageSpec("cluster_status", "",
                    [.required("nodes", .array(of: .object([
                        .required("name", .shortText), .required("roles", .array(of: .shortText, maxItems: 8)),
                        .required("state", .shortText), .optional("load", .number(min: 0, max: 1e9)), .optional("actors", .count),
                     ]), maxItems: 10_000))]),
    ] + ["git_init", "git_stage", "git_unstage", "git_checkout", "git_create_branch", "git_delete_branch",
         "git_push", "git_pull", "git_fetch"].map { MessageSpec($0 + "_result", "", [success, message]) }

    private static func fields(of kind: FieldKind) -> [Field] {
        if case .object(let fields) = kind { return fields }
        return []
    }
}
