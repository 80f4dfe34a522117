import Foundation
import HoldpointCore

/// The queue's tables in PostgreSQL: the same tables, columns and meaning as the SQLite
/// queue's (schema v7 there), so that a queue can be copied from one to the other with its
/// audit chain intact, plus what several daemons sharing one database need:
///
/// - `audit_head`: one row, the newest entry's number and hash. A writer locks it
///   (`SELECT … FOR UPDATE`) before appending, so the chain has one writer at a time across
///   every daemon and one order.
/// - `daemon_keys`: the public key of every daemon that has signed a checkpoint, and where it
///   runs: each daemon signs with its own key, and `audit verify` accepts only these.
///
/// - `archived_*` (version 2): retention moves decided history out of the live tables into
///   these, in the same database (its backups and replicas carry it); `audit_all` and
///   `checkpoints_all` are the whole chain, archived and live, for `audit verify` and export.
///   Each archived table is made `LIKE` its live one: a migration that adds a column to one
///   adds it to the other, in the same place. `notify_cursors.lease_*`: which daemon delivers
///   each sink, until when.
///
/// Migrations are numbered like the SQLite ones and applied under a transaction-scoped
/// advisory lock, so daemons starting at once migrate one at a time.
public enum PostgresSchema {
    /// The newest schema this binary knows.
    public static let version = 2

    /// Every migration, in order: `migrations[n - 1]` takes the schema to version `n`.
    static let migrations: [String] = [
        """
        CREATE TABLE requests (
            id text PRIMARY KEY,
            created_at double precision NOT NULL,
            agent_id text NOT NULL,
            environment text NOT NULL,
            submitted_by text NOT NULL,
            on_behalf_of text,
            tier text NOT NULL,
            operation_class text NOT NULL,
            state text NOT NULL,
            expires_at double precision,
            action_sha256 text NOT NULL,
            verdict text NOT NULL,
            approval_rules text NOT NULL,
            document text NOT NULL,
            closed_by text,
            closed_via text,
            closed_at double precision,
            closed_reason text,
            consumed_at double precision,
            consumed_by text,
            run_pid bigint,
            run_started_at double precision,
            run_finished_at double precision,
            run_exit_code bigint,
            run_signal bigint
        );
        CREATE INDEX requests_state ON requests (state, expires_at);
        CREATE INDEX requests_agent ON requests (agent_id, operation_class, created_at);
        CREATE INDEX requests_action ON requests (action_sha256, agent_id, state);
        CREATE INDEX requests_created ON requests (created_at, id);
        CREATE TABLE votes (
            request_id text NOT NULL REFERENCES requests(id),
            reviewer text NOT NULL,
            via text NOT NULL,
            verdict text NOT NULL,
            reason text NOT NULL,
            at double precision NOT NULL,
            action_sha256 text NOT NULL,
            groups text NOT NULL DEFAULT '',
            PRIMARY KEY (request_id, reviewer)
        );
        CREATE TABLE halts (
            agent text PRIMARY KEY,
            reason text NOT NULL,
            by text NOT NULL,
            at double precision NOT NULL
        );
        CREATE TABLE audit (
            seq bigint PRIMARY KEY,
            at_ms bigint NOT NULL,
            event text NOT NULL,
            request_id text,
            actor text NOT NULL,
            via text NOT NULL,
            details text NOT NULL,
            prev_hash text NOT NULL,
            hash text NOT NULL
        );
        CREATE INDEX audit_request ON audit (request_id);
        CREATE TABLE audit_head (
            one boolean PRIMARY KEY DEFAULT true CHECK (one),
            seq bigint NOT NULL,
            hash text NOT NULL
        );
        INSERT INTO audit_head (one, seq, hash) VALUES (true, 0, '0000000000000000000000000000000000000000000000000000000000000000');
        CREATE TABLE audit_checkpoints (
            seq bigint PRIMARY KEY,
            hash text NOT NULL,
            signature text NOT NULL,
            public_key text NOT NULL
        );
        CREATE TABLE daemon_keys (
            public_key text PRIMARY KEY,
            host text NOT NULL,
            registered_at double precision NOT NULL
        );
        CREATE TABLE agent_programs (
            agent_id text NOT NULL,
            environment text NOT NULL,
            program text NOT NULL,
            PRIMARY KEY (agent_id, environment, program)
        );
        CREATE TABLE agent_operations (
            agent_id text NOT NULL,
            environment text NOT NULL,
            operation_class text NOT NULL,
            PRIMARY KEY (agent_id, environment, operation_class)
        );
        CREATE TABLE plans (
            request_id text PRIMARY KEY REFERENCES requests(id),
            agent_id text NOT NULL,
            at double precision NOT NULL,
            steps text NOT NULL
        );
        CREATE INDEX plans_agent ON plans (agent_id, at);
        CREATE TABLE notify_cursors (
            sink text PRIMARY KEY,
            delivered_seq bigint NOT NULL,
            delivered bigint NOT NULL DEFAULT 0,
            failures bigint NOT NULL DEFAULT 0,
            last_error text,
            last_attempt double precision,
            last_success double precision,
            next_attempt double precision NOT NULL DEFAULT 0
        );
        CREATE TABLE escalations (
            request_id text NOT NULL,
            kind text NOT NULL,
            at double precision NOT NULL,
            PRIMARY KEY (request_id, kind)
        );
        """,
        """
        CREATE TABLE archived_requests (LIKE requests INCLUDING ALL);
        CREATE TABLE archived_votes (LIKE votes INCLUDING ALL);
        CREATE TABLE archived_plans (LIKE plans INCLUDING ALL);
        CREATE TABLE archived_audit (LIKE audit INCLUDING ALL);
        CREATE TABLE archived_checkpoints (LIKE audit_checkpoints INCLUDING ALL);
        CREATE VIEW audit_all AS SELECT * FROM archived_audit UNION ALL SELECT * FROM audit;
        CREATE VIEW checkpoints_all AS SELECT * FROM archived_checkpoints UNION ALL SELECT * FROM audit_checkpoints;
        ALTER TABLE notify_cursors ADD COLUMN lease_owner text;
        ALTER TABLE notify_cursors ADD COLUMN lease_until double precision NOT NULL DEFAULT 0
        """,
    ]

    /// An arbitrary constant: the advisory lock every daemon takes to migrate.
    static let migrationLock: Int64 = 0x486F_6C64_706F_696E  // "Holdpoin"

    /// Brings the database (the session's schema) to `version`, creating the schema first
    /// when it is named and missing. Refuses a database a newer Holdpoint has migrated.
    public static func migrate(_ session: PostgresSession) throws(StoreError) {
        do {
            try session.transaction {
                try session.execute("SELECT pg_advisory_xact_lock($1)", [.integer(migrationLock)])
                if let schema = session.settings.schema {
                    try session.execute("CREATE SCHEMA IF NOT EXISTS \(PostgresSession.identifier(schema))")
                }
                try session.execute("CREATE TABLE IF NOT EXISTS holdpoint_schema (version integer PRIMARY KEY, applied_at double precision NOT NULL)")
                let current = Int(try session.row("SELECT coalesce(max(version), 0) FROM holdpoint_schema")?.int64(0) ?? 0)
                if current > version {
                    throw StoreError(.schemaTooNew, "the queue \(session.settings.description) was migrated by a newer Holdpoint (schema \(current)); upgrade this binary")
                }
                for next in (current + 1)...max(current + 1, version) where next <= version {
                    // One statement at a time: a prepared statement holds one command.
                    for statement in migrations[next - 1].split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) where !statement.isEmpty {
                        try session.execute(statement)
                    }
                    try session.execute("INSERT INTO holdpoint_schema (version, applied_at) VALUES ($1, extract(epoch FROM clock_timestamp()))", [.integer(Int64(next))])
                }
            }
        } catch let error as StoreError {
            throw error
        } catch let error as PostgresFailure {
            throw error.storeError
        } catch {
            throw StoreError(.unavailable, "migrating \(session.settings.description): \(error)")
        }
    }
}
