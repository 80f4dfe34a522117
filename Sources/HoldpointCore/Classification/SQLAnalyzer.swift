/// Classifies SQL statement by statement.
///
/// It tokenises (string literals, quoted identifiers, dollar quotes and comments are
/// skipped) and reads each statement's leading keywords. `DELETE FROM t WHERE id = 1`
/// deletes rows; `DELETE FROM t` empties the table. The difference matters, and it is
/// the WHERE at the statement's top level that makes it.
enum SQLAnalyzer {
    static func analyze(_ sql: String) -> [Finding] {
        var findings: [Finding] = []
        let statements = tokenize(sql)
        for statement in statements where !statement.isEmpty {
            findings.append(classify(statement))
        }
        if findings.isEmpty {
            findings.append(Finding(rule: "sql-empty", message: "no SQL statement", effect: RuleEffect(operationClass: .read), subject: sql))
        }
        return findings
    }

    /// A token: an upper-cased keyword or identifier, or punctuation; `depth` is the parenthesis level.
    struct Token: Equatable {
        var word: String
        var depth: Int
        /// Followed by `(`: a function's name (or a keyword before a parenthesis).
        var call = false
    }

    /// Splits into statements of tokens. Literals become the token "'".
    static func tokenize(_ sql: String) -> [[Token]] {
        let bytes = Array(sql.utf8)
        var statements: [[Token]] = [[]]
        var i = 0
        var depth = 0
        func add(_ word: String) { statements[statements.count - 1].append(Token(word: word, depth: depth)) }
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "-") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "-"):
                while i < bytes.count && bytes[i] != 0x0A { i += 1 }
            case UInt8(ascii: "#"):
                while i < bytes.count && bytes[i] != 0x0A { i += 1 }  // MySQL comment
            case UInt8(ascii: "/") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "*"):
                i += 2
                while i + 1 < bytes.count && !(bytes[i] == UInt8(ascii: "*") && bytes[i + 1] == UInt8(ascii: "/")) { i += 1 }
                i += 2
            case UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "`"):
                let quote = b
                i += 1
                while i < bytes.count {
                    if bytes[i] == quote {
                        if i + 1 < bytes.count && bytes[i + 1] == quote {
                            i += 2
                            continue
                        }
                        break
                    }
                    if bytes[i] == UInt8(ascii: "\\") && quote == UInt8(ascii: "'") { i += 1 }
                    i += 1
                }
                i += 1
                add(quote == UInt8(ascii: "'") ? "'" : "IDENT")
            case UInt8(ascii: "$"):
                // $tag$ … $tag$ (PostgreSQL dollar quoting), or a $1 parameter.
                var j = i + 1
                while j < bytes.count && (isWordByte(bytes[j])) { j += 1 }
                if j < bytes.count && bytes[j] == UInt8(ascii: "$") {
                    let tag = Array(bytes[i...j])
                    var k = j + 1
                    while k + tag.count <= bytes.count && Array(bytes[k..<k + tag.count]) != tag { k += 1 }
                    i = min(k + tag.count, bytes.count)
                    add("'")
                } else {
                    i = j
                    add("PARAM")
                }
            case UInt8(ascii: ";"):
                statements.append([])
                depth = 0
                i += 1
            case UInt8(ascii: "("):
                if let last = statements[statements.count - 1].indices.last { statements[statements.count - 1][last].call = true }
                depth += 1
                i += 1
            case UInt8(ascii: ")"):
                depth = max(0, depth - 1)
                i += 1
            case UInt8(ascii: "\\") where statements[statements.count - 1].isEmpty:
                // psql meta-command such as \dt: reads the catalogue, to the end of the line.
                add("\\META")
                while i < bytes.count && bytes[i] != 0x0A { i += 1 }
                statements.append([])
            default:
                if isWordByte(b) {
                    let start = i
                    while i < bytes.count && isWordByte(bytes[i]) { i += 1 }
                    add(String(decoding: bytes[start..<i], as: UTF8.self).uppercased())
                } else {
                    if b == UInt8(ascii: "=") { add("=") }
                    i += 1
                }
            }
        }
        return statements.filter { !$0.isEmpty }
    }

    private static func isWordByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "_") || b >= 0x80
    }

    private static func finding(_ rule: String, _ message: String, _ effect: RuleEffect, _ tokens: [Token]) -> Finding {
        Finding(rule: rule, message: message, effect: effect, subject: tokens.prefix(8).map(\.word).joined(separator: " "))
    }

    /// Words that, in a function's name, say it changes or removes data (`purge_old_orders()`):
    /// such a function called from a SELECT is unknown, not a read.
    static let changingFunctionWords: Set<Substring> = ["PURGE", "DELETE", "DROP", "TRUNCATE", "KILL", "CLEAN", "CLEANUP", "WIPE", "DESTROY", "ERASE", "TERMINATE", "NUKE", "RESET"]

    /// The first function called in `tokens` whose name holds one of `changingFunctionWords`.
    static func callsChangingFunction(_ tokens: [Token]) -> String? {
        for token in tokens where token.call && token.word.split(separator: "_").contains(where: changingFunctionWords.contains) {
            return token.word
        }
        return nil
    }

    static let credentialRule = "sql-credential-read"
    static let credentialMessage = "reads the server's password hashes or stored credentials"
    static let credentialEffect = RuleEffect(operationClass: .read, tier: .supervised, productionTier: .gated)

    private static let readStatements: Set<String> = [
        "SELECT", "SHOW", "DESCRIBE", "DESC", "VALUES", "TABLE", "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "SET", "RESET", "USE", "LISTEN", "UNLISTEN", "FETCH", "CLOSE",
        "\\META", "PRAGMA", "HELP", "STATUS", "CHECKSUM", "ATTACH", "DETACH",
    ]

    /// Functions with effects beyond the rows a query reads, wherever they are called
    /// (`SELECT pg_terminate_backend(pid) FROM …` ends sessions; `lo_export` writes files),
    /// and the catalogues of password hashes a SELECT must not read on its own. One table,
    /// so that a statement's words are looked up once.
    static let sideEffectFunctions: [String: (rule: String, message: String, effect: RuleEffect)] = {
        var table: [String: (rule: String, message: String, effect: RuleEffect)] = [:]
        for name in ["PG_TERMINATE_BACKEND", "PG_CANCEL_BACKEND", "PG_DROP_REPLICATION_SLOT", "PG_PROMOTE", "PG_WAL_REPLAY_PAUSE"] {
            table[name] = ("sql-admin-function", "\(name.lowercased()) ends sessions or changes replication", RuleEffect(operationClass: .delete, productionTier: .gated, destructive: true))
        }
        for name in ["LO_UNLINK"] {
            table[name] = ("sql-changing-function", "\(name.lowercased()) deletes large objects", RuleEffect(operationClass: .delete, destructive: true, dataLoss: true))
        }
        for name in ["SETVAL", "LO_PUT", "LO_FROM_BYTEA", "LO_CREAT", "LO_CREATE", "PG_STAT_RESET", "PG_STAT_STATEMENTS_RESET"] {
            table[name] = (
                "sql-changing-function", "\(name.lowercased()) changes data from inside a query (a sequence set back hands out ids already used)",
                RuleEffect(operationClass: .patch, productionTier: .gated)
            )
        }
        for name in ["PG_RELOAD_CONF", "SET_CONFIG", "PG_ROTATE_LOGFILE", "PG_SWITCH_WAL", "PG_CREATE_RESTORE_POINT"] {
            table[name] = ("sql-admin-function", "\(name.lowercased()) changes the server's configuration or logs", RuleEffect(operationClass: .patch, productionTier: .gated))
        }
        for name in [
            "LO_EXPORT", "LO_IMPORT", "PG_READ_FILE", "PG_READ_BINARY_FILE", "PG_LS_DIR", "PG_WRITE_FILE", "DBLINK", "DBLINK_EXEC", "SYS_EXEC", "SYS_EVAL",
            "XP_CMDSHELL", "SP_CONFIGURE", "LOAD_FILE", "SP_OACREATE", "PG_EXECUTE_SERVER_PROGRAM",
        ] {
            table[name] = ("sql-server-side-code", "\(name.lowercased()) reads or writes the server's files, or runs code there", RuleEffect(operationClass: .unknown))
        }
        // Catalogues and columns that hold the server's password hashes or stored
        // credentials (MySQL's `mysql.user` is MYSQL then USER). A SELECT naming one is a
        // secret read; other statements are classified by their verb.
        for name in [
            "PG_SHADOW", "PG_AUTHID", "ROLPASSWORD", "PG_USER_MAPPINGS", "AUTHENTICATION_STRING", "PASSWORD_HASH", "SQL_LOGINS", "SYSLOGINS", "LINKED_LOGINS",
            "DATABASE_SCOPED_CREDENTIALS", "MYSQL",
        ] {
            table[name] = (credentialRule, credentialMessage, credentialEffect)
        }
        return table
    }()

    static func classify(_ tokens: [Token]) -> Finding {
        // A side-effecting function, or a program the server runs, outranks the statement's verb.
        var namesCredentials = false
        for (index, token) in tokens.enumerated() {
            if let effect = sideEffectFunctions[token.word] {
                guard effect.rule == credentialRule else { return finding(effect.rule, effect.message, effect.effect, tokens) }
                // `SELECT … FROM pg_shadow`, `SELECT * FROM mysql.user`: only a read of it counts.
                namesCredentials = namesCredentials || token.word != "MYSQL" || (index + 1 < tokens.count && tokens[index + 1].word == "USER")
                continue
            }
            if token.word == "PROGRAM", index > 0, ["TO", "FROM"].contains(tokens[index - 1].word) {
                return finding("sql-server-side-code", "COPY … PROGRAM runs a shell command on the database server", RuleEffect(operationClass: .unknown), tokens)
            }
        }
        var verb = tokens[0].word
        var body = tokens
        if verb == "WITH" || verb == "EXPLAIN" {
            // EXPLAIN ANALYZE executes the statement; a CTE's main verb follows its definitions.
            let analyzes = verb == "EXPLAIN" && tokens.contains { $0.word == "ANALYZE" || $0.word == "ANALYSE" }
            if verb == "EXPLAIN" && !analyzes {
                return finding("sql-read", "reads data (SQL \(verb))", RuleEffect(operationClass: .read), tokens)
            }
            // A data-modifying statement anywhere (even inside a CTE) is the one that matters.
            let writes: Set<String> = ["INSERT", "UPDATE", "DELETE", "MERGE"]
            if let main = tokens.dropFirst().firstIndex(where: { writes.contains($0.word) })
                ?? tokens.dropFirst().firstIndex(where: { $0.depth == 0 && $0.word == "SELECT" })
            {
                verb = tokens[main].word
                let depth = tokens[main].depth
                body = Array(tokens[main...].prefix { $0.depth >= depth }).map { Token(word: $0.word, depth: $0.depth - depth, call: $0.call) }
            } else {
                verb = "SELECT"
            }
        }
        let topLevel = Set(body.filter { $0.depth == 0 }.map(\.word))
        let second = body.count > 1 ? body[1].word : ""
        switch verb {
        case "SELECT":
            if topLevel.contains("OUTFILE") || topLevel.contains("DUMPFILE") {
                return finding("sql-write-file", "SELECT … INTO OUTFILE writes a file on the database server", RuleEffect(operationClass: .patch, productionTier: .gated), tokens)
            }
            if topLevel.contains("INTO") {
                return finding("sql-select-into", "SELECT … INTO creates a table", RuleEffect(operationClass: .create, productionTier: .gated), tokens)
            }
            if namesCredentials {
                return finding(credentialRule, credentialMessage, credentialEffect, tokens)
            }
            if let call = callsChangingFunction(body) {
                return finding(
                    "sql-changing-function", "calls \(call.lowercased()), a function whose name says it changes or removes data (what it does is defined on the server)",
                    RuleEffect(operationClass: .unknown), tokens)
            }
            return finding("sql-read", "reads data", RuleEffect(operationClass: .read), tokens)
        case "PRAGMA" where topLevel.contains("="):
            return finding("sql-pragma-write", "changes a database setting", RuleEffect(operationClass: .patch), tokens)
        case "RESET" where ["MASTER", "SLAVE", "REPLICA", "BINARY", "PERSIST"].contains(second),
            "PURGE" where second == "BINARY" || second == "MASTER":
            return finding(
                "sql-replication-reset", "\(verb) \(second) deletes binary logs or replication state", RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true),
                tokens)
        case "SET" where ["GLOBAL", "PERSIST", "PERSIST_ONLY"].contains(second):
            // A session's own settings are its business; the server's are everyone's
            // (`SET @@GLOBAL.x` reads as `SET GLOBAL x`: `@` is no word).
            return finding("sql-server-setting", "SET \(second) changes the server for every session", RuleEffect(operationClass: .patch, productionTier: .gated), tokens)
        case "SHUTDOWN", "KILL":
            return finding("sql-admin", "\(verb) stops the server or ends a session", RuleEffect(operationClass: .delete, productionTier: .gated, destructive: true), tokens)
        case "STOP", "CHANGE", "FLUSH", "INSTALL", "UNINSTALL", "RESTART":
            return finding("sql-admin", "\(verb) \(second) changes the server, its plugins or its replication", RuleEffect(operationClass: .patch, productionTier: .gated), tokens)
        case "SYSTEM", "\\!":
            return finding("sql-client-shell", "the client runs a shell command (\(verb))", RuleEffect(operationClass: .unknown), tokens)
        case _ where readStatements.contains(verb):
            return finding("sql-read", "reads data or controls the session (\(verb))", RuleEffect(operationClass: .read), tokens)
        case "INSERT", "REPLACE", "UPSERT", "MERGE", "LOAD":
            return finding("sql-write-data", "writes rows (\(verb)): modifies data", RuleEffect(operationClass: .patch, productionTier: .gated), tokens)
        case "COPY":
            if topLevel.contains("TO") && !topLevel.contains("FROM") {
                // `COPY t TO '/path'` writes a file on the database server; `TO STDOUT` only prints.
                if let to = body.firstIndex(where: { $0.depth == 0 && $0.word == "TO" }), to + 1 < body.count, body[to + 1].word == "'" {
                    return finding("sql-write-file", "COPY … TO a file writes it on the database server", RuleEffect(operationClass: .patch, productionTier: .gated), tokens)
                }
                return finding("sql-read", "exports data (COPY … TO)", RuleEffect(operationClass: .read), tokens)
            }
            return finding("sql-write-data", "loads rows (COPY … FROM): modifies data", RuleEffect(operationClass: .patch, productionTier: .gated), tokens)
        case "UPDATE":
            if topLevel.contains("WHERE") {
                return finding("sql-update-rows", "updates the rows matching WHERE: modifies data", RuleEffect(operationClass: .patch, productionTier: .gated), tokens)
            }
            return finding(
                "sql-update-without-where", "UPDATE without WHERE changes every row of the table",
                RuleEffect(operationClass: .bulkModify, destructive: true, irreversible: true, dataLoss: true), tokens)
        case "DELETE":
            if topLevel.contains("WHERE") {
                return finding("sql-delete-rows", "deletes the rows matching WHERE", RuleEffect(operationClass: .delete, dataLoss: true), tokens)
            }
            return finding(
                "sql-delete-without-where", "DELETE without WHERE empties the table",
                RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true), tokens)
        case "TRUNCATE":
            return finding("sql-truncate", "TRUNCATE empties the table", RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true), tokens)
        case "DROP":
            if ["USER", "ROLE", "GROUP", "POLICY"].contains(second) {
                return finding("sql-iam", "drops a database \(second.lowercased())", RuleEffect(operationClass: .iam, destructive: true), tokens)
            }
            let dataLoss = ["TABLE", "DATABASE", "SCHEMA", "TABLESPACE", "COLLECTION", "KEYSPACE", "OWNED"].contains(second)
            return finding("sql-drop", "DROP \(second) deletes it for good", RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: dataLoss), tokens)
        case "ALTER":
            if ["USER", "ROLE", "GROUP", "DEFAULT"].contains(second) {
                return finding("sql-iam", "changes a database \(second.lowercased())", RuleEffect(operationClass: .iam), tokens)
            }
            if topLevel.contains("DROP") {
                return finding(
                    "sql-alter-drop", "ALTER … DROP removes a column, constraint or partition with its data",
                    RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true), tokens)
            }
            return finding("sql-alter", "changes the schema", RuleEffect(operationClass: .patch, productionTier: .gated), tokens)
        case "CREATE":
            let kind = second == "OR" ? (body.count > 3 ? body[3].word : "") : second
            if ["USER", "ROLE", "GROUP", "POLICY"].contains(kind) {
                return finding("sql-iam", "creates a database \(kind.lowercased())", RuleEffect(operationClass: .iam), tokens)
            }
            return finding("sql-create", "creates a database object", RuleEffect(operationClass: .create), tokens)
        case "GRANT", "REVOKE", "DENY":
            return finding("sql-iam", "\(verb) changes database permissions", RuleEffect(operationClass: .iam), tokens)
        case "VACUUM" where topLevel.contains("FULL"), "CLUSTER", "OPTIMIZE",
            "REINDEX" where !topLevel.contains("CONCURRENTLY"):
            // PostgreSQL's VACUUM FULL, CLUSTER and REINDEX, MySQL's OPTIMIZE TABLE rebuild
            // the table holding a lock that makes reads or writes wait until they end.
            return finding(
                "sql-maintenance-lock", "\(verb) rebuilds tables under a lock: queries wait until it ends", RuleEffect(operationClass: .minorUpdate, productionTier: .gated), tokens)
        case "VACUUM", "ANALYZE", "ANALYSE", "REINDEX", "CHECKPOINT", "REFRESH", "COMMENT", "NOTIFY":
            return finding("sql-maintenance", "maintenance (\(verb))", RuleEffect(operationClass: .minorUpdate), tokens)
        case "RENAME":
            return finding("sql-alter", "renames a table", RuleEffect(operationClass: .patch, productionTier: .gated), tokens)
        default:
            return finding("sql-unknown", "unrecognised SQL statement '\(verb)' (CALL, DO and the like run code Holdpoint cannot see)", RuleEffect(operationClass: .unknown), tokens)
        }
    }
}
