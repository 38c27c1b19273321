/// Every message a browser may send (docs/protocol.md, "Client → server").
enum ClientMessages {
    private typealias F = Field
    private static let projectId = F.required("projectId", .id)
    private static let sessionId = F.required("sessionId", .id)
    private static let branchName = F.required("branchName", .string(maxBytes: 255))
    private static let credentials = F.optional(
        "credentials",
        .object([.required("username", .shortText), .optional("password", .shortText), .optional("token", .shortText)]),
        "used for this call only, never stored")

    static let all: [MessageSpec] = session + chat + project + files + terminals + git + other

    static let session: [MessageSpec] = [
        MessageSpec("hello", "Opens the conversation; the socket is already authenticated by its cookie or bearer token.",
                    [.optional("token", .shortText, "must name the socket's user when given"), .optional("clientVersion", .shortText)],
                    answers: ["welcome"]),
        MessageSpec("resume", "Joins a chat session's events after `lastSeq` (0: from the start of what the gateway keeps).",
                    [sessionId, .required("lastSeq", .seq)], answers: ["agent_hierarchy", "the missed events", "resync_required"]),
        MessageSpec("leave_session", "Stops receiving a chat session's events.", [sessionId], answers: ["ok"]),
    ]

    static let chat: [MessageSpec] = [
        MessageSpec("new_chat", "Creates an empty chat session.", [.optional("title", .string(maxBytes: 256))], answers: ["chat_session"]),
        MessageSpec("save_chat_session", "Renames a session and appends messages the browser wrote itself.",
                    [.required("session", .object([
                        .required("id", .id), .optional("title", .string(maxBytes: 256)), .optional("projectId", .id),
                        .optional("messages", .array(of: .object([
                            .required("content", .longText), .required("sender", .choice(["user", "assistant", "system"])),
                            .optional("id", .id), .optional("timestamp", .shortText),
                        ]), maxItems: 1000)),
                    ]))],
                    answers: ["chat_save_result"]),
        MessageSpec("load_chat_history", "The user's chat sessions, newest first, a page at a time.",
                    [.required("limit", .integer(min: 1, max: 200)), .optional("before", .shortText, "the previous page's nextCursor")],
                    answers: ["chat_history_response"]),
        MessageSpec("load_chat_messages", "A session's messages, newest first, a page at a time.",
                    [sessionId, .required("limit", .integer(min: 1, max: 500)), .optional("before", .shortText)],
                    answers: ["chat_messages_response"]),
        MessageSpec("delete_chat_session", "Deletes a session and its messages (its project stays).", [sessionId],
                    answers: ["chat_delete_result"]),
    ]

    static let project: [MessageSpec] = [
        MessageSpec("start_project_init", "Creates a project and its chat session, and starts the agents on the request.",
                    [.required("language", .string(maxBytes: 64)), .required("initialPrompt", .longText),
                     .optional("projectName", .string(maxBytes: 128))],
                    answers: ["project_status", "chat_session", "project_init_status"]),
        MessageSpec("prompt", "The person speaks in a session: starts its run, or answers the question its run waits on.",
                    [sessionId, .required("prompt", .longText), .optional("agentId", .shortText, "default: the master")],
                    answers: ["message", "the run's events"]),
        MessageSpec("approve_phase", "Approves the phase the run waits on.",
                    [sessionId, .required("phase", .string(maxBytes: 64)), .optional("feedback", .longText)],
                    answers: ["project_init_status"]),
        MessageSpec("reject_phase", "Sends the phase back with the person's feedback.",
                    [sessionId, .required("phase", .string(maxBytes: 64)), .optional("feedback", .longText)],
                    answers: ["project_init_status"]),
        MessageSpec("stop", "Stops every agent of the session's run.", [sessionId], answers: ["project_status"]),
        MessageSpec("import_project", "Creates a project from files, a zip (base64) or a git URL.",
                    [.optional("projectName", .string(maxBytes: 128)), .optional("language", .string(maxBytes: 64)),
                     .optional("files", .array(of: .object([
                        .required("path", .path), .required("content", .longText), .optional("encoding", .choice(["text", "base64"])),
                     ]), maxItems: 5000)),
                     .optional("zip", .string(maxBytes: 48 << 20), "base64"), .optional("gitUrl", .string(maxBytes: 2048)),
                     credentials],
                    answers: ["import_result"]),
    ]

    static let files: [MessageSpec] = [
        MessageSpec("file_read", "Reads a file.", [projectId, .required("filePath", .path)], answers: ["file_read_result"]),
        MessageSpec("file_create", "Creates a file (fails if it exists).",
                    [projectId, .required("filePath", .path), .optional("content", .longText)], answers: ["file_operation_result"]),
        MessageSpec("file_update", "Replaces a file's contents.",
                    [projectId, .required("filePath", .path), .required("content", .longText)], answers: ["file_operation_result"]),
        MessageSpec("file_delete", "Deletes a file.", [projectId, .required("filePath", .path)], answers: ["file_operation_result"]),
        MessageSpec("dir_create", "Creates a folder.", [projectId, .required("dirPath", .path)], answers: ["dir_operation_result"]),
        MessageSpec("dir_delete", "Deletes a folder and everything in it.", [projectId, .required("dirPath", .path)],
                    answers: ["dir_operation_result"]),
        MessageSpec("dir_list", "Lists a folder (\"\" for the project's root).", [projectId, .required("dirPath", .path)],
                    answers: ["dir_list_result"]),
        MessageSpec("download_project", "A short-lived link to the project's zip.", [projectId], answers: ["download_ready"]),
    ]

    static let terminals: [MessageSpec] = [
        MessageSpec("create_terminal_session", "Opens a shell in the project's sandbox.",
                    [projectId, .required("cols", .integer(min: 2, max: 1000)), .required("rows", .integer(min: 2, max: 1000))],
                    answers: ["terminal_session"]),
        MessageSpec("send_terminal_data", "Keystrokes (batched by the browser); no answer, output arrives as terminal_data.",
                    [sessionId, .required("data", .string(maxBytes: 64 << 10))]),
        MessageSpec("resize_terminal", "Resizes the terminal.",
                    [sessionId, .required("cols", .integer(min: 2, max: 1000)), .required("rows", .integer(min: 2, max: 1000))]),
        MessageSpec("close_terminal", "Ends the shell.", [sessionId], answers: ["terminal_session"]),
        MessageSpec("list_terminals", "The user's open terminals of a project (to attach after a reload).", [projectId],
                    answers: ["terminal_list"]),
        MessageSpec("attach_terminal", "Shows a running terminal on this socket: its recent output, then what follows.",
                    [sessionId], answers: ["terminal_session", "terminal_data"]),
    ]

    static let git: [MessageSpec] = [
        MessageSpec("git_init", "Makes the project a git repository.", [projectId], answers: ["git_init_result"]),
        MessageSpec("git_status", "Branch and changed files.", [projectId], answers: ["git_status"]),
        MessageSpec("git_branches", "Local branches.", [projectId], answers: ["git_branches_result"]),
        MessageSpec("git_commits", "Recent commits, newest first.", [projectId, .optional("maxCount", .integer(min: 1, max: 500))],
                    answers: ["git_commits_result"]),
        MessageSpec("git_diff", "One file's diff.", [projectId, .required("filePath", .path), .required("staged", .boolean)],
                    answers: ["git_diff"]),
        MessageSpec("git_stage", "Stages a file, or everything with `all`.",
                    [projectId, .optional("filePath", .path), .optional("all", .boolean)], answers: ["git_stage_result"]),
        MessageSpec("git_unstage", "Unstages a file, or everything with `all`.",
                    [projectId, .optional("filePath", .path), .optional("all", .boolean)], answers: ["git_unstage_result"]),
        MessageSpec("git_commit", "Commits what is staged.",
                    [projectId, .required("message", .string(maxBytes: 64 << 10)), .optional("authorName", .string(maxBytes: 256)),
                     .optional("authorEmail", .string(maxBytes: 256))],
                    answers: ["git_commit_result"]),
        MessageSpec("git_checkout", "Switches branch.", [projectId, branchName], answers: ["git_checkout_result"]),
        MessageSpec("git_create_branch", "Creates a branch at HEAD.", [projectId, branchName], answers: ["git_create_branch_result"]),
        MessageSpec("git_delete_branch", "Deletes a branch.", [projectId, branchName], answers: ["git_delete_branch_result"]),
        MessageSpec("git_merge", "Merges a branch into the current one.", [projectId, branchName], answers: ["git_merge_result"]),
    ] + ["git_push", "git_pull", "git_fetch"].map { type in
        MessageSpec(type, "Talks to a remote (the gateway's remote policy applies).",
                    [projectId, .required("remoteName", .string(maxBytes: 255)), .optional("branchName", .string(maxBytes: 255)),
                     .optional("remoteUrl", .string(maxBytes: 2048)), credentials],
                    answers: [type + "_result"])
    }

    static let other: [MessageSpec] = [
        MessageSpec("llm_config", "Chooses the provider and model for this user's next runs.",
                    [.required("provider", .string(maxBytes: 64)), .required("model", .string(maxBytes: 256)),
                     .optional("temperature", .number(min: 0, max: 2)), .optional("maxTokens", .integer(min: 1, max: 1 << 20)),
                     .optional("budgetUsd", .number(min: 0, max: 1e6))],
                    answers: ["llm_config_update"]),
        MessageSpec("set_api_key", "Stores a provider key for this user, encrypted; never sent back.",
                    [.required("provider", .string(maxBytes: 64)), .required("apiKey", .string(maxBytes: 4096))],
                    answers: ["api_key_update"]),
        MessageSpec("list_models", "The model catalogue, which providers are configured, and this user's choice.", [],
                    answers: ["model_catalogue"]),
        MessageSpec("check_model", "Checks that a provider's model works for HMA (answers, tool calls, context), with this user's key.",
                    [.required("provider", .string(maxBytes: 64)), .required("model", .string(maxBytes: 256))], answers: ["model_check"]),
        MessageSpec("cluster_status", "The mesh's members.", [], answers: ["cluster_status"]),
        MessageSpec("list_projects", "The user's projects.", [], answers: ["project_list"]),
    ]
}
