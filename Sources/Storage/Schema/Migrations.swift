import GRDB

/// Every schema change, in order. A migration is never edited once released:
/// add a new one. The store refuses to open a database that has migrations
/// this list does not know (it was written by a newer HMA).
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: users, chat sessions and messages, imported files, projects") { db in
            try db.execute(sql: """
                CREATE TABLE user (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL
                );

                CREATE TABLE project_meta (
                    id TEXT PRIMARY KEY NOT NULL,
                    owner_id TEXT NOT NULL REFERENCES user(id) ON DELETE CASCADE,
                    session_id TEXT REFERENCES chat_session(id) ON DELETE SET NULL,
                    name TEXT NOT NULL,
                    project_path TEXT NOT NULL,
                    language TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('active', 'completed', 'archived')),
                    created_at INTEGER NOT NULL,
                    last_activity_at INTEGER NOT NULL,
                    compressed_at INTEGER
                );
                CREATE INDEX project_meta_by_owner ON project_meta(owner_id);
                CREATE INDEX project_meta_by_activity ON project_meta(last_activity_at);

                CREATE TABLE chat_session (
                    id TEXT PRIMARY KEY NOT NULL,
                    user_id TEXT NOT NULL REFERENCES user(id) ON DELETE CASCADE,
                    title TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    last_modified INTEGER NOT NULL,
                    project_id TEXT REFERENCES project_meta(id) ON DELETE SET NULL
                );
                -- History lists: a user's sessions, most recently modified first.
                CREATE INDEX chat_session_by_user_recent
                    ON chat_session(user_id, last_modified, id);
                CREATE INDEX chat_session_by_project ON chat_session(project_id);

                -- position: append order, never reused (AUTOINCREMENT), the paging cursor.
                CREATE TABLE chat_message (
                    position INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    session_id TEXT NOT NULL REFERENCES chat_session(id) ON DELETE CASCADE,
                    type TEXT NOT NULL CHECK (type IN ('user', 'assistant', 'system')),
                    content TEXT NOT NULL,
                    timestamp INTEGER NOT NULL,
                    agent_id TEXT,
                    metadata TEXT
                );
                CREATE INDEX chat_message_by_session ON chat_message(session_id, position);

                CREATE TABLE imported_file (
                    id TEXT PRIMARY KEY NOT NULL,
                    session_id TEXT NOT NULL REFERENCES chat_session(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    path TEXT NOT NULL,
                    size INTEGER NOT NULL CHECK (size >= 0),
                    content_hash TEXT NOT NULL,
                    imported_at INTEGER NOT NULL,
                    UNIQUE (session_id, path)
                );
                """)
        }
        migrator.registerMigration("v2: agent runs") { db in
            // The newest snapshot of a project's agent run (docs/agents.md,
            // "Recovery"), replaced after every completed step.
            try db.execute(sql: """
                CREATE TABLE agent_run (
                    project_id TEXT PRIMARY KEY NOT NULL REFERENCES project_meta(id) ON DELETE CASCADE,
                    snapshot BLOB NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v3: access tokens and user secrets") { db in
            // Credentials (docs/operations.md, "Accounts"): only a token's
            // SHA-256 is kept, so a copy of the database opens no account.
            try db.execute(sql: """
                CREATE TABLE access_token (
                    hash BLOB PRIMARY KEY NOT NULL,
                    user_id TEXT NOT NULL REFERENCES user(id) ON DELETE CASCADE,
                    kind TEXT NOT NULL CHECK (kind IN ('api', 'once', 'login')),
                    label TEXT,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER
                );
                CREATE INDEX access_token_user ON access_token(user_id);
                """)
            // Per-user provider keys, sealed by the gateway (AES-GCM, key in
            // its data directory); the database never sees them in clear.
            try db.execute(sql: """
                CREATE TABLE user_secret (
                    user_id TEXT NOT NULL REFERENCES user(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    sealed BLOB NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (user_id, name)
                );
                """)
        }
        migrator.registerMigration("v4: project hosts, drained nodes") { db in
            // Which node holds each project's folder, sandbox and terminals
            // (docs/architecture.md, "Projects on workers"). A project with
            // no row is on the gateway's own host (made before v4, or by
            // `hma dev`, which is both gateway and worker). No foreign key:
            // retention removes a deleted project's folder after its row.
            try db.execute(sql: """
                CREATE TABLE project_host (
                    project_id TEXT PRIMARY KEY NOT NULL,
                    node TEXT NOT NULL,
                    placed_at INTEGER NOT NULL
                );
                CREATE INDEX project_host_node ON project_host(node);
                """)
            // Workers an operator is draining (`hma worker drain`): no new
            // project is placed on them; their projects stay served.
            try db.execute(sql: """
                CREATE TABLE drained_node (
                    node TEXT PRIMARY KEY NOT NULL,
                    drained_at INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v5: project copies") { db in
            // Each project's durable copy (docs/architecture.md, "Project
            // copies"): its files as of the run's last saved step (written
            // in the same transaction as `agent_run`) or the last sync, so a
            // lost worker's projects come back on another worker.
            try db.execute(sql: """
                CREATE TABLE project_copy_file (
                    project_id TEXT NOT NULL REFERENCES project_meta(id) ON DELETE CASCADE,
                    path TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    content BLOB NOT NULL,
                    PRIMARY KEY (project_id, path)
                ) WITHOUT ROWID;
                """)
        }
        return migrator
    }
}
