import GRDB

/// The queue's tables, as GRDB migrations. Add a migration for every change; never edit one
/// that has shipped. A file migrated by a newer binary is refused (see `QueueStore.init`).
enum Schema {
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE requests (
                        id TEXT PRIMARY KEY,
                        created_at REAL NOT NULL,
                        agent_id TEXT NOT NULL,
                        environment TEXT NOT NULL,
                        submitted_by TEXT NOT NULL,
                        on_behalf_of TEXT,
                        tier TEXT NOT NULL,
                        operation_class TEXT NOT NULL,
                        state TEXT NOT NULL,
                        expires_at REAL,
                        action_sha256 TEXT NOT NULL,
                        verdict TEXT NOT NULL,
                        approval_rules TEXT NOT NULL,
                        document TEXT NOT NULL,
                        closed_by TEXT,
                        closed_via TEXT,
                        closed_at REAL,
                        closed_reason TEXT,
                        consumed_at REAL
                    );
                    CREATE INDEX requests_state ON requests (state, expires_at);
                    CREATE INDEX requests_agent ON requests (agent_id, operation_class, created_at);
                    CREATE TABLE votes (
                        request_id TEXT NOT NULL REFERENCES requests(id),
                        reviewer TEXT NOT NULL,
                        via TEXT NOT NULL,
                        verdict TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        at REAL NOT NULL,
                        action_sha256 TEXT NOT NULL,
                        PRIMARY KEY (request_id, reviewer)
                    );
                    CREATE TABLE halts (
                        agent TEXT PRIMARY KEY,
                        reason TEXT NOT NULL,
                        by TEXT NOT NULL,
                        at REAL NOT NULL
                    );
                    CREATE TABLE audit (
                        seq INTEGER PRIMARY KEY,
                        at_ms INTEGER NOT NULL,
                        event TEXT NOT NULL,
                        request_id TEXT,
                        actor TEXT NOT NULL,
                        via TEXT NOT NULL,
                        details TEXT NOT NULL,
                        prev_hash TEXT NOT NULL,
                        hash TEXT NOT NULL
                    );
                    CREATE INDEX audit_request ON audit (request_id);
                    CREATE TABLE audit_checkpoints (
                        seq INTEGER PRIMARY KEY,
                        hash TEXT NOT NULL,
                        signature TEXT NOT NULL,
                        public_key TEXT NOT NULL
                    );
                    """)
        }
        // v2: consuming approvals and running them (`holdpoint hook`, `holdpoint exec`).
        migrator.registerMigration("v2") { db in
            try db.execute(
                sql: """
                    ALTER TABLE requests ADD COLUMN consumed_by TEXT;
                    ALTER TABLE requests ADD COLUMN run_pid INTEGER;
                    ALTER TABLE requests ADD COLUMN run_started_at REAL;
                    ALTER TABLE requests ADD COLUMN run_finished_at REAL;
                    ALTER TABLE requests ADD COLUMN run_exit_code INTEGER;
                    ALTER TABLE requests ADD COLUMN run_signal INTEGER;
                    CREATE INDEX requests_action ON requests (action_sha256, agent_id, state);
                    """)
        }
        // v3: a vote keeps its reviewer's groups, for `one_from_each` rules.
        migrator.registerMigration("v3") { db in
            try db.execute(sql: "ALTER TABLE votes ADD COLUMN groups TEXT NOT NULL DEFAULT ''")
        }
        // v4: lists read in creation order, a page at a time (`list`, the console's recent
        // requests), without sorting the whole table for each page.
        migrator.registerMigration("v4") { db in
            try db.execute(sql: "CREATE INDEX requests_created ON requests (created_at, id)")
        }
        // v5: layer 1 and the first-time check for programs. Both are indexes of the
        // requests table, kept in the transaction that lets a request run: the programs each
        // agent has run in each environment, and each agent's approved plans (a step is a
        // hash of what it does, never its text: `Plan.key`).
        migrator.registerMigration("v5") { db in
            try db.execute(
                sql: """
                    CREATE TABLE agent_programs (
                        agent_id TEXT NOT NULL,
                        environment TEXT NOT NULL,
                        program TEXT NOT NULL,
                        PRIMARY KEY (agent_id, environment, program)
                    ) WITHOUT ROWID;
                    CREATE TABLE plans (
                        request_id TEXT PRIMARY KEY REFERENCES requests(id),
                        agent_id TEXT NOT NULL,
                        at REAL NOT NULL,
                        steps TEXT NOT NULL
                    );
                    CREATE INDEX plans_agent ON plans (agent_id, at);
                    """)
        }
        // v6: what an agent has done, learned once rather than read back from every request
        // (the first-time check and the console's FIRST TIME badges no longer scan the
        // requests table), and the archive segments the log continues from (retention:
        // `holdpoint queue archive`). The learned operations survive archiving; the requests
        // they were learned from need not.
        migrator.registerMigration("v6") { db in
            try db.execute(
                sql: """
                    CREATE TABLE agent_operations (
                        agent_id TEXT NOT NULL,
                        environment TEXT NOT NULL,
                        operation_class TEXT NOT NULL,
                        PRIMARY KEY (agent_id, environment, operation_class)
                    ) WITHOUT ROWID;
                    INSERT OR IGNORE INTO agent_operations (agent_id, environment, operation_class)
                      SELECT DISTINCT agent_id, environment, operation_class FROM requests
                      WHERE state IN ('allowed', 'approved', 'running', 'succeeded', 'failed')
                        AND json_extract(document, '$.action.operation') IS NOT 'holdpoint:plan';
                    CREATE TABLE archive_segments (
                        first_seq INTEGER PRIMARY KEY,
                        last_seq INTEGER NOT NULL,
                        last_hash TEXT NOT NULL,
                        path TEXT NOT NULL,
                        requests INTEGER NOT NULL,
                        archived_at REAL NOT NULL
                    );
                    """)
        }
        // v7: paging (`notify:`). The audit log is the outbox: each sink keeps how far it
        // has delivered; each escalation and expiry warning of a request is recorded once.
        migrator.registerMigration("v7") { db in
            try db.execute(
                sql: """
                    CREATE TABLE notify_cursors (
                        sink TEXT PRIMARY KEY,
                        delivered_seq INTEGER NOT NULL,
                        delivered INTEGER NOT NULL DEFAULT 0,
                        failures INTEGER NOT NULL DEFAULT 0,
                        last_error TEXT,
                        last_attempt REAL,
                        last_success REAL,
                        next_attempt REAL NOT NULL DEFAULT 0
                    );
                    CREATE TABLE escalations (
                        request_id TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        at REAL NOT NULL,
                        PRIMARY KEY (request_id, kind)
                    ) WITHOUT ROWID;
                    """)
        }
        return migrator
    }()
}
