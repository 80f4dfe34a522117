// swift-format-ignore-file
// GENERATED from Sources/HoldpointCore/Resources (default-policy.yaml, rule-packs/*.yaml)
// by Tests/HoldpointCoreTests/CompiledBuiltinsTests.swift. Do not edit: change the YAML,
// then run `HOLDPOINT_REGENERATE=1 swift test --filter CompiledBuiltins`.

/// The built-in policy and rule packs as Swift values, so that loading them costs no
/// parsing. Tests keep them identical to the YAML they come from.
enum CompiledBuiltins {
    static func packs() -> [RulePack] {
        [pack0(), pack1(), pack2(), pack3(), pack4(), pack5(), pack6(), pack7(), pack8(), pack9(), pack10(), pack11(), pack12(), pack13()]
    }

    /// build.yaml
    private static func pack0() -> RulePack {
        var rules: [CommandRule] = []
        rules.reserveCapacity(3)
        rules.append(CommandRule(id: "build-runner", pack: "build", message: "runs the project's tests, type checker or linters (the project's own code)", programs: ["pytest", "py.test", "tox", "nox", "tsc", "eslint", "jest", "vitest", "mocha", "rspec", "phpunit", "ctest", "flake8", "mypy", "pyright", "pylint", "black", "isort", "prettier", "rubocop", "golangci-lint", "shellcheck", "hadolint", "ruff", "cargo-nextest", "pre-commit"], effect: RuleEffect(operationClass: .read, tier: .supervised)))
        rules.append(CommandRule(id: "build-subcommand", pack: "build", message: "builds, tests or runs the project's own code", programs: ["go", "cargo", "dotnet", "swift", "bazel", "bazelisk", "deno", "zig", "mix", "sbt", "lein", "rake"], subcommand: [Glob("test|vet|build|check|clippy|bench|fmt|lint|run|doc|compile")], effect: RuleEffect(operationClass: .read, tier: .supervised)))
        rules.append(CommandRule(id: "build-jvm", pack: "build", message: "builds or tests the project with Gradle or Maven", programs: ["gradle", "gradlew", "mvn", "mvnw"], subcommand: [Glob("*test*|check|build|assemble|lint*|compile*|verify|package|clean|spotless*|jar|javadoc|dependencies|tasks")], effect: RuleEffect(operationClass: .read, tier: .supervised)))
        return RulePack(name: "build", description: "Test, build and lint runners. They run the project's own code, which Holdpoint cannot read as a whole: supervised (logged, spot-checked) rather than gated, in production too. `make TARGET` and `npm run SCRIPT` are read further: the target's recipe and the script's command line are classified as if typed (ProjectTasks.swift).\n", rules: rules,
                        sqlClients: [],
                        operationVerbs: [:])
    }

    /// cloud.yaml
    private static func pack1() -> RulePack {
        var rules: [CommandRule] = []
        rules.reserveCapacity(26)
        rules.append(CommandRule(id: "aws-cloudformation-delete-stack", pack: "cloud", message: "deleting a CloudFormation stack deletes every resource in it", programs: ["aws"], subcommand: [Glob("cloudformation"), Glob("delete-stack|delete-stack-set|delete-stack-instances")], effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "aws-terminate", pack: "cloud", message: "terminates instances: their local data is lost", programs: ["aws"], subcommand: [Glob("*"), Glob("terminate-*")], effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "aws-s3-recursive-delete", pack: "cloud", message: "deletes S3 objects in bulk (or a whole bucket)", programs: ["aws"], subcommand: [Glob("s3"), Glob("rm|rb|sync")], flagsAny: [FlagSpec("--recursive"), FlagSpec("--force"), FlagSpec("--delete")], effect: RuleEffect(operationClass: .bulkModify, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "aws-s3-delete", pack: "cloud", message: "deletes S3 objects or a bucket", programs: ["aws"], subcommand: [Glob("s3"), Glob("rm|rb")], effect: RuleEffect(operationClass: .delete, destructive: true, dataLoss: true)))
        rules.append(CommandRule(id: "aws-s3api-delete", pack: "cloud", message: "deletes S3 data or configuration", programs: ["aws"], subcommand: [Glob("s3api"), Glob("delete-*")], effect: RuleEffect(operationClass: .delete, destructive: true, dataLoss: true)))
        rules.append(CommandRule(id: "aws-iam", pack: "cloud", message: "changes AWS identities or permissions", programs: ["aws"], subcommand: [Glob("iam|sts|organizations|sso-admin|identitystore"), Glob("create-*|delete-*|put-*|attach-*|detach-*|update-*|add-*|remove-*|set-*|tag-*|untag-*|upload-*|change-*|enable-*|deactivate-*|reset-*|assume-role*")], effect: RuleEffect(operationClass: .iam)))
        rules.append(CommandRule(id: "aws-delete", pack: "cloud", message: "deletes or disables AWS resources", programs: ["aws"], subcommand: [Glob("*"), Glob("delete-*|deregister-*|remove-*|purge-*|disable-*|revoke-*|release-*|cancel-*|stop-*|reboot-*|detach-*|disassociate-*")], effect: RuleEffect(operationClass: .delete, destructive: true)))
        rules.append(CommandRule(id: "aws-create", pack: "cloud", message: "creates AWS resources or starts work", programs: ["aws"], subcommand: [Glob("*"), Glob("create-*|run-*|launch-*|allocate-*|register-*|import-*|request-*|copy-*|start-*|publish-*|invoke*|send-*|deploy*|execute-*")], effect: RuleEffect(operationClass: .create)))
        rules.append(CommandRule(id: "aws-create-environment", pack: "cloud", message: "creates a whole environment or stack", programs: ["aws"], subcommand: [Glob("elasticbeanstalk|cloudformation"), Glob("create-environment|create-stack|create-stack-set")], effect: RuleEffect(operationClass: .createEnvironment)))
        rules.append(CommandRule(id: "aws-update", pack: "cloud", message: "changes AWS resources", programs: ["aws"], subcommand: [Glob("*"), Glob("update-*|modify-*|put-*|set-*|attach-*|associate-*|enable-*|tag-*|untag-*|change-*|replace-*|restore-*|reset-*|apply-*|add-*")], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "aws-s3-write", pack: "cloud", message: "writes S3 objects", programs: ["aws"], subcommand: [Glob("s3"), Glob("cp|mv|sync|mb")], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "aws-read", pack: "cloud", message: "read-only AWS call", programs: ["aws"], subcommand: [Glob("*"), Glob("describe-*|list-*|get-*|ls|head-*|lookup-*|search-*|scan|query|batch-get-*|filter-*|estimate-*|preview-*|validate-*|wait|help|presign|select-*|test-*|simulate-*|generate-*|view-*")], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "aws-configure", pack: "cloud", message: "AWS CLI configuration or identity lookup", programs: ["aws"], subcommand: [Glob("sts|configure|--version|help")], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "gcloud-delete", pack: "cloud", message: "deletes or stops Google Cloud resources", programs: ["gcloud", "gsutil"], subcommand: [Glob("delete|rm|rb|remove-*|reset|stop|disable|abandon-instances|delete-instances")], effect: RuleEffect(operationClass: .delete, destructive: true)))
        rules.append(CommandRule(id: "gcloud-projects-delete", pack: "cloud", message: "deletes a whole Google Cloud project", programs: ["gcloud"], subcommand: [Glob("projects"), Glob("delete")], effect: RuleEffect(operationClass: .deleteEnvironment, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "gcloud-iam", pack: "cloud", message: "changes Google Cloud permissions", programs: ["gcloud"], subcommand: [Glob("add-iam-policy-binding|remove-iam-policy-binding|set-iam-policy|create-key|roles|service-accounts")], flagsNone: [FlagSpec("--help")], effect: RuleEffect(operationClass: .iam)))
        rules.append(CommandRule(id: "gsutil-recursive", pack: "cloud", message: "deletes Cloud Storage objects in bulk", programs: ["gsutil"], subcommand: [Glob("rm|rsync")], flagsAny: [FlagSpec("-r|-R|-a|-d")], effect: RuleEffect(operationClass: .bulkModify, destructive: true, dataLoss: true)))
        rules.append(CommandRule(id: "gcloud-create", pack: "cloud", message: "creates Google Cloud resources", programs: ["gcloud"], subcommand: [Glob("create|deploy|import|run|add-*|start")], effect: RuleEffect(operationClass: .create)))
        rules.append(CommandRule(id: "gcloud-update", pack: "cloud", message: "changes Google Cloud resources", programs: ["gcloud", "gsutil"], subcommand: [Glob("update|set|set-*|patch|resize|cp|mv|rsync|ch|acl|iam|label|setmeta|move|restore|enable|attach-*")], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "gcloud-read", pack: "cloud", message: "read-only Google Cloud call", programs: ["gcloud", "gsutil"], subcommand: [Glob("list|describe|get-*|ls|cat|du|stat|info|version|help|config|auth|logging|read|tail|print-*")], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "az-delete", pack: "cloud", message: "deletes or stops Azure resources", programs: ["az"], subcommand: [Glob("delete|purge|remove|deallocate|stop|restart")], effect: RuleEffect(operationClass: .delete, destructive: true)))
        rules.append(CommandRule(id: "az-group-delete", pack: "cloud", message: "deletes a whole Azure resource group", programs: ["az"], subcommand: [Glob("group"), Glob("delete")], effect: RuleEffect(operationClass: .deleteEnvironment, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "az-iam", pack: "cloud", message: "changes Azure identities or role assignments", programs: ["az"], subcommand: [Glob("role|ad|identity"), Glob("create|delete|update|assign*|add|remove|reset|set|owner|credential")], effect: RuleEffect(operationClass: .iam)))
        rules.append(CommandRule(id: "az-create", pack: "cloud", message: "creates Azure resources", programs: ["az"], subcommand: [Glob("create|deploy|start|up|import")], effect: RuleEffect(operationClass: .create)))
        rules.append(CommandRule(id: "az-update", pack: "cloud", message: "changes Azure resources", programs: ["az"], subcommand: [Glob("update|set|add|scale|swap|restore|upload|config")], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "az-read", pack: "cloud", message: "read-only Azure call", programs: ["az"], subcommand: [Glob("list|show|get-*|version|account|login|logout|find|check-*|download|query|list-*|show-*")], fallback: true, effect: RuleEffect(operationClass: .read)))
        return RulePack(name: "cloud", description: "AWS, Google Cloud and Azure command lines. Reads run; deletes and IAM changes wait for a human.", rules: rules,
                        sqlClients: [],
                        operationVerbs: [:])
    }

    /// credentials.yaml
    private static func pack2() -> RulePack {
        var rules: [CommandRule] = []
        rules.reserveCapacity(12)
        rules.append(CommandRule(id: "secret-read-kubernetes", pack: "credentials", message: "reads Kubernetes secrets", programs: ["kubectl", "oc", "kubecolor"], subcommand: [Glob("get|describe|edit"), Glob("secret|secrets|secret/*|secrets/*")], effect: RuleEffect(operationClass: .read, tier: .supervised, productionTier: .gated)))
        rules.append(CommandRule(id: "secret-read-cloud", pack: "credentials", message: "reads secrets, keys or tokens from the cloud", programs: ["aws"], subcommand: [Glob("secretsmanager|ssm|kms|sts|iam|ecr|codeartifact"), Glob("get-secret-value|batch-get-secret-value|get-parameter|get-parameters|get-parameters-by-path|decrypt|get-session-token|assume-role*|get-federation-token|create-access-key|get-login-password|get-authorization-token")], effect: RuleEffect(operationClass: .read, tier: .supervised, productionTier: .gated)))
        rules.append(CommandRule(id: "secret-read-gcloud", pack: "credentials", message: "reads secrets or tokens from Google Cloud", programs: ["gcloud"], subcommand: [Glob("secrets|auth"), Glob("versions|print-access-token|print-identity-token|application-default")], effect: RuleEffect(operationClass: .read, tier: .supervised, productionTier: .gated)))
        rules.append(CommandRule(id: "secret-read-azure", pack: "credentials", message: "reads secrets or tokens from Azure", programs: ["az"], subcommand: [Glob("keyvault|account"), Glob("secret|key|certificate|get-access-token")], argsAny: [Glob("show|download|get-access-token|backup")], effect: RuleEffect(operationClass: .read, tier: .supervised, productionTier: .gated)))
        rules.append(CommandRule(id: "secret-read-vault", pack: "credentials", message: "reads secrets from Vault", programs: ["vault", "bao"], subcommand: [Glob("read|kv|token|print|login")], argsAny: [Glob("get|read|token|lookup|create|login|patch|*")], effect: RuleEffect(operationClass: .read, tier: .supervised, productionTier: .gated)))
        rules.append(CommandRule(id: "secret-export-keys", pack: "credentials", message: "exports private keys", programs: ["gpg", "gpg2"], flagsAny: [FlagSpec("--export-secret-keys|--export-secret-subkeys|--export-ssh-key")], effect: RuleEffect(operationClass: .read, tier: .supervised, productionTier: .gated)))
        rules.append(CommandRule(id: "secret-environment", pack: "credentials", message: "prints environment variables, where tokens and keys live", programs: ["printenv"], effect: RuleEffect(operationClass: .read, tier: .supervised, productionTier: .gated)))
        rules.append(CommandRule(id: "secret-password-store", pack: "credentials", message: "reads a password manager or keyring", programs: ["pass", "gopass", "op", "bw", "lpass", "security", "secret-tool", "keyctl"], argsAny: [Glob("show|get|read|item|find-generic-password|find-internet-password|lookup|print|*")], effect: RuleEffect(operationClass: .read, tier: .supervised, productionTier: .gated)))
        rules.append(CommandRule(id: "network-raw-connection", pack: "credentials", message: "opens a raw network connection, which can carry data out", programs: ["nc", "ncat", "netcat", "socat", "telnet", "cryptcat"], flagsNone: [FlagSpec("-z|-h|--help|--version")], effect: RuleEffect(operationClass: .read, tier: .supervised, productionTier: .gated)))
        rules.append(CommandRule(id: "network-port-check", pack: "credentials", message: "checks whether a port is open", programs: ["nc", "ncat", "netcat"], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "network-tls-connection", pack: "credentials", message: "opens a TLS connection, which can carry data out", programs: ["openssl"], subcommand: [Glob("s_client|s_server|s_time")], effect: RuleEffect(operationClass: .read, tier: .supervised, productionTier: .gated)))
        rules.append(CommandRule(id: "network-upload-file", pack: "credentials", message: "sends a file to another host", programs: ["curl", "wget", "http", "https", "xh"], contains: ["@/", "@~", "@.", "=@", "--upload-file", "--post-file", "--body-file"], effect: RuleEffect(operationClass: .patch, tier: .supervised, productionTier: .gated)))
        return RulePack(name: "credentials", description: "Reading secrets and sending data out. An agent that can read a cloud key, a kube config or a vault secret, or open a raw connection to another host, can leak what it reads: supervised everywhere, gated in production. (Files that hold credentials are recognised by path wherever a command names them; see SensitivePaths.swift.)\n", rules: rules,
                        sqlClients: [],
                        operationVerbs: [:])
    }

    /// database.yaml
    private static func pack3() -> RulePack {
        var rules: [CommandRule] = []
        rules.reserveCapacity(13)
        rules.append(CommandRule(id: "redis-flush", pack: "database", message: "FLUSHALL / FLUSHDB deletes every key", programs: ["redis-cli", "valkey-cli", "keydb-cli"], argsAny: [Glob("flushall|flushdb", caseInsensitive: true)], effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "redis-admin", pack: "database", message: "shuts down, reconfigures or re-points the Redis server", programs: ["redis-cli", "valkey-cli", "keydb-cli"], argsAny: [Glob("shutdown|debug|replicaof|slaveof|failover|cluster|acl|module|config", caseInsensitive: true)], effect: RuleEffect(operationClass: .patch, tier: .gated)))
        rules.append(CommandRule(id: "redis-write", pack: "database", message: "changes Redis data or configuration", programs: ["redis-cli", "valkey-cli", "keydb-cli"], argsAny: [Glob("del|unlink|set|setex|mset|expire|config|shutdown|debug|migrate|restore|rename|lpush|rpush|sadd|zadd|hset|incr|decr|append|eval|evalsha|script|srem|zrem|hdel|lpop|rpop|move|swapdb|replicaof|slaveof", caseInsensitive: true)], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "redis-read", pack: "database", message: "reads Redis", programs: ["redis-cli", "valkey-cli", "keydb-cli"], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "mongo-drop", pack: "database", message: "drops a MongoDB database, collection or all documents", programs: ["mongo", "mongosh"], contains: ["dropdatabase", ".drop(", "deletemany({})", "remove({})", "deletemany( {} )", "dropindexes", "dropuser", "dropallusers"], effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "mongo-shutdown", pack: "database", message: "shuts the MongoDB server down", programs: ["mongo", "mongosh"], contains: ["shutdown"], effect: RuleEffect(operationClass: .delete, tier: .gated, destructive: true)))
        rules.append(CommandRule(id: "mongo-admin", pack: "database", message: "runs MongoDB administrative commands", programs: ["mongo", "mongosh"], contains: ["admincommand", "runcommand", "killop", "fsynclock", "setparameter", "replsetreconfig", "replsetstepdown", "createuser", "grantroles", "updateuser", "revokeroles"], effect: RuleEffect(operationClass: .patch, productionTier: .gated)))
        rules.append(CommandRule(id: "mongo-write", pack: "database", message: "changes MongoDB data", programs: ["mongo", "mongosh"], contains: ["insert", "update", "delete", "remove", "replace", "create", "rename", "bulkwrite", "findoneand"], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "mongo-read", pack: "database", message: "reads MongoDB", programs: ["mongo", "mongosh", "mongodump", "mongoexport"], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "mongo-restore", pack: "database", message: "--drop deletes collections before restoring", programs: ["mongorestore", "mongoimport"], flagsAny: [FlagSpec("--drop")], effect: RuleEffect(operationClass: .delete, destructive: true, dataLoss: true)))
        rules.append(CommandRule(id: "db-dump", pack: "database", message: "dumps a database", programs: ["pg_dump", "pg_dumpall", "mysqldump", "mariadb-dump"], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "db-drop-tools", pack: "database", message: "drops a database or a user", programs: ["dropdb", "dropuser", "mysqladmin"], contains: ["drop", "dropdb", "dropuser"], effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "db-restore", pack: "database", message: "pg_restore --clean drops objects before recreating them", programs: ["pg_restore"], flagsAny: [FlagSpec("-c|--clean")], effect: RuleEffect(operationClass: .delete, destructive: true, dataLoss: true)))
        return RulePack(name: "database", description: "SQL clients (their SQL is analysed statement by statement: DROP, TRUNCATE, and DELETE or UPDATE without WHERE are table wipes), Redis and MongoDB.\n", rules: rules,
                        sqlClients: [SQLClient(program: "psql", flags: [FlagSpec("-c"), FlagSpec("--command")], positional: nil), SQLClient(program: "mysql", flags: [FlagSpec("-e"), FlagSpec("--execute")], positional: nil), SQLClient(program: "mariadb", flags: [FlagSpec("-e"), FlagSpec("--execute")], positional: nil), SQLClient(program: "sqlite3", flags: [], positional: 2), SQLClient(program: "sqlcmd", flags: [FlagSpec("-Q"), FlagSpec("-q")], positional: nil), SQLClient(program: "clickhouse-client", flags: [FlagSpec("-q"), FlagSpec("--query")], positional: nil), SQLClient(program: "cockroach", flags: [FlagSpec("-e"), FlagSpec("--execute")], positional: nil), SQLClient(program: "duckdb", flags: [FlagSpec("-c")], positional: nil)],
                        operationVerbs: [:])
    }

    /// docker.yaml
    private static func pack4() -> RulePack {
        var rules: [CommandRule] = []
        rules.reserveCapacity(10)
        rules.append(CommandRule(id: "docker-prune", pack: "docker", message: "prunes containers, images, networks or volumes in bulk", programs: ["docker", "podman"], subcommand: [Glob("system|volume|image|container|network|builder|buildx"), Glob("prune")], effect: RuleEffect(operationClass: .bulkModify, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "docker-rm-force", pack: "docker", message: "force-removes containers or images", programs: ["docker", "podman"], subcommand: [Glob("rm|rmi|kill|volume|container|image")], flagsAny: [FlagSpec("-f|--force")], effect: RuleEffect(operationClass: .delete, destructive: true, dataLoss: true)))
        rules.append(CommandRule(id: "docker-volume-rm", pack: "docker", message: "deletes volumes and the data in them", programs: ["docker", "podman"], subcommand: [Glob("volume"), Glob("rm|remove")], effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "docker-rm", pack: "docker", message: "removes or stops containers or images", programs: ["docker", "podman"], subcommand: [Glob("rm|rmi|kill|stop")], effect: RuleEffect(operationClass: .delete)))
        rules.append(CommandRule(id: "compose-down-volumes", pack: "docker", message: "compose down -v deletes the project's volumes", programs: ["docker-compose", "podman-compose", "docker", "podman"], subcommand: [Glob("down|compose")], flagsAny: [FlagSpec("-v|--volumes"), FlagSpec("--rmi")], effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "compose-down", pack: "docker", message: "stops and removes the project's containers", programs: ["docker-compose", "podman-compose", "docker", "podman"], subcommand: [Glob("down|compose")], argsAny: [Glob("down|rm|kill|stop")], effect: RuleEffect(operationClass: .delete)))
        rules.append(CommandRule(id: "docker-run", pack: "docker", message: "runs, builds or changes containers", programs: ["docker", "podman", "docker-compose", "podman-compose"], subcommand: [Glob("run|create|start|restart|up|build|pull|push|tag|exec|cp|commit|load|import|login|network|update|pause|unpause|rename")], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "compose-write", pack: "docker", message: "runs, builds or changes a compose project", programs: ["docker", "podman"], subcommand: [Glob("compose"), Glob("up|run|create|start|restart|build|pull|push|exec|cp|rm|kill|stop|pause|unpause|scale|watch|attach")], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "compose-read", pack: "docker", message: "read-only compose command", programs: ["docker", "podman"], subcommand: [Glob("compose"), Glob("ps|images|logs|ls|config|top|port|events|version")], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "docker-read", pack: "docker", message: "read-only container command", programs: ["docker", "podman", "docker-compose", "podman-compose"], subcommand: [Glob("ps|images|logs|inspect|version|info|stats|top|port|diff|history|events|search|ls|config")], fallback: true, effect: RuleEffect(operationClass: .read)))
        return RulePack(name: "docker", description: "Docker, Podman and Compose operations that delete containers, images or volumes.", rules: rules,
                        sqlClients: [],
                        operationVerbs: [:])
    }

    /// filesystem.yaml
    private static func pack5() -> RulePack {
        var rules: [CommandRule] = []
        rules.reserveCapacity(17)
        rules.append(CommandRule(id: "fs-rm-rf-system-path", pack: "filesystem", message: "recursive forced delete of a system, home or whole-directory path", programs: ["rm"], flagsAll: [FlagSpec("-r|-R|--recursive"), FlagSpec("-f|--force")], argsAny: [Glob("/"), Glob("/\\*"), Glob("//"), Glob("~"), Glob("~/"), Glob("~/\\*"), Glob("."), Glob("./"), Glob(".."), Glob("../"), Glob("\\*"), Glob(".\\*"), Glob("/bin*"), Glob("/boot*"), Glob("/dev*"), Glob("/etc*"), Glob("/home"), Glob("/home/"), Glob("/home/*"), Glob("/lib*"), Glob("/opt"), Glob("/opt/"), Glob("/proc*"), Glob("/root*"), Glob("/sbin*"), Glob("/srv*"), Glob("/sys"), Glob("/sys/*"), Glob("/usr*"), Glob("/var"), Glob("/var/"), Glob("/var/lib*"), Glob("/var/log*"), Glob("/var/www*"), Glob("/var/backups*"), Glob("/var/mail*"), Glob("/var/spool*"), Glob("/var/opt*"), Glob("$HOME*"), Glob("${HOME}*")], unknownArgsMatch: true, effect: RuleEffect(operationClass: .delete, tier: .gated, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "fs-rm-no-preserve-root", pack: "filesystem", message: "rm --no-preserve-root can delete the whole file system", programs: ["rm"], flagsAny: [FlagSpec("--no-preserve-root")], effect: RuleEffect(operationClass: .delete, tier: .gated, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "fs-rm-rf", pack: "filesystem", message: "recursive forced delete outside the temp directories", programs: ["rm"], flagsAll: [FlagSpec("-r|-R|--recursive"), FlagSpec("-f|--force")], argsAnyOutside: [Glob("/tmp/*"), Glob("/var/tmp/*"), Glob("$TMPDIR/*"), Glob("${TMPDIR}/*"), Glob("/dev/shm/*")], effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "fs-rm", pack: "filesystem", message: "deletes files", programs: ["rm", "rmdir", "unlink"], effect: RuleEffect(operationClass: .delete)))
        rules.append(CommandRule(id: "fs-find-delete", pack: "filesystem", message: "find -delete removes every file it matches", programs: ["find"], flagsAny: [FlagSpec("-delete")], effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "fs-shred", pack: "filesystem", message: "overwrites files so they cannot be recovered", programs: ["shred", "wipe", "srm"], effect: RuleEffect(operationClass: .delete, tier: .gated, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "fs-dd-device", pack: "filesystem", message: "dd writes over a block device", programs: ["dd"], argsAny: [Glob("of=/dev/sd*"), Glob("of=/dev/nvme*"), Glob("of=/dev/vd*"), Glob("of=/dev/xvd*"), Glob("of=/dev/hd*"), Glob("of=/dev/mmcblk*"), Glob("of=/dev/disk*"), Glob("of=/dev/mapper/*"), Glob("of=/dev/md*"), Glob("of=/dev/dm-*"), Glob("of=/dev/loop*")], effect: RuleEffect(operationClass: .delete, tier: .gated, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "fs-dd", pack: "filesystem", message: "dd writes raw data", programs: ["dd"], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "fs-mkfs", pack: "filesystem", message: "creates a file system or rewrites a partition table, erasing what was there", programs: ["mkfs", "mkfs.*", "mke2fs", "mkswap", "wipefs", "newfs*", "fdisk", "sfdisk", "parted", "gdisk", "sgdisk"], effect: RuleEffect(operationClass: .delete, tier: .gated, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "fs-truncate", pack: "filesystem", message: "truncate discards file contents", programs: ["truncate"], effect: RuleEffect(operationClass: .delete, destructive: true, dataLoss: true)))
        rules.append(CommandRule(id: "fs-chmod-chown-recursive-system", pack: "filesystem", message: "recursive permission or ownership change on a system path", programs: ["chmod", "chown", "chgrp", "setfacl"], flagsAny: [FlagSpec("-R|--recursive")], argsAny: [Glob("/"), Glob("/\\*"), Glob("/bin*"), Glob("/boot*"), Glob("/etc*"), Glob("/lib*"), Glob("/opt*"), Glob("/root*"), Glob("/sbin*"), Glob("/srv*"), Glob("/usr*"), Glob("/var*"), Glob("/home"), Glob("/home/"), Glob("~"), Glob("~/")], effect: RuleEffect(operationClass: .iam, tier: .gated, destructive: true)))
        rules.append(CommandRule(id: "fs-permissions", pack: "filesystem", message: "changes file permissions or ownership", programs: ["chmod", "chown", "chgrp", "setfacl", "chattr"], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "fs-rsync-delete", pack: "filesystem", message: "rsync --delete removes files at the destination that the source lacks", programs: ["rsync"], flagsAny: [FlagSpec("--delete"), FlagSpec("--delete-before"), FlagSpec("--delete-during"), FlagSpec("--delete-after"), FlagSpec("--delete-delay"), FlagSpec("--delete-excluded"), FlagSpec("--remove-source-files")], effect: RuleEffect(operationClass: .delete, destructive: true, dataLoss: true)))
        rules.append(CommandRule(id: "fs-archive-list", pack: "filesystem", message: "lists an archive", programs: ["tar", "gtar", "bsdtar", "unzip", "zipinfo"], flagsAny: [FlagSpec("-t|--list"), FlagSpec("-l"), FlagSpec("-Z")], effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "fs-remote-copy", pack: "filesystem", message: "copies files between this host and another: data can leave the machine", programs: ["scp", "rsync", "sftp"], argsAny: [Glob("*:*")], effect: RuleEffect(operationClass: .patch, tier: .gated)))
        rules.append(CommandRule(id: "fs-copy-move", pack: "filesystem", message: "writes files", programs: ["cp", "mv", "mkdir", "touch", "ln", "install", "tee", "rsync", "scp", "patch", "tar", "unzip", "zip", "gzip", "gunzip", "bzip2", "xz"], fallback: true, effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "fs-sed-in-place", pack: "filesystem", message: "edits files in place", programs: ["sed"], flagsAny: [FlagSpec("-i|--in-place")], effect: RuleEffect(operationClass: .patch)))
        return RulePack(name: "filesystem", description: "Deleting, overwriting and wiping files, file systems and block devices.", rules: rules,
                        sqlClients: [],
                        operationVerbs: [:])
    }

    /// git.yaml
    private static func pack6() -> RulePack {
        var rules: [CommandRule] = []
        rules.reserveCapacity(18)
        rules.append(CommandRule(id: "git-reset-hard", pack: "git", message: "git reset --hard discards uncommitted changes", programs: ["git"], subcommand: [Glob("reset")], flagsAny: [FlagSpec("--hard"), FlagSpec("--merge"), FlagSpec("--keep")], effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "git-clean-force", pack: "git", message: "git clean -f deletes untracked files", programs: ["git"], subcommand: [Glob("clean")], flagsAny: [FlagSpec("-f|--force")], effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "git-push-force", pack: "git", message: "force push or remote delete rewrites shared history", programs: ["git"], subcommand: [Glob("push")], flagsAny: [FlagSpec("-f|--force"), FlagSpec("--force-with-lease"), FlagSpec("--force-if-includes"), FlagSpec("--mirror"), FlagSpec("--prune"), FlagSpec("--delete"), FlagSpec("-d")], effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "git-push-refspec-force", pack: "git", message: "a +refspec or :refspec force-updates or deletes a remote branch", programs: ["git"], subcommand: [Glob("push")], argsAny: [Glob("+*"), Glob(":*")], effect: RuleEffect(operationClass: .delete, destructive: true, dataLoss: true)))
        rules.append(CommandRule(id: "git-push", pack: "git", message: "pushes commits to a remote", programs: ["git"], subcommand: [Glob("push")], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "git-branch-delete", pack: "git", message: "deletes or overwrites a branch", programs: ["git"], subcommand: [Glob("branch")], flagsAny: [FlagSpec("-D"), FlagSpec("-d|--delete"), FlagSpec("-M"), FlagSpec("-C")], effect: RuleEffect(operationClass: .delete, destructive: true)))
        rules.append(CommandRule(id: "git-checkout-discard", pack: "git", message: "discards uncommitted changes in the working tree", programs: ["git"], subcommand: [Glob("checkout|restore")], argsAny: [Glob("."), Glob("--"), Glob("\\*"), Glob(":/")], effect: RuleEffect(operationClass: .delete, destructive: true, dataLoss: true)))
        rules.append(CommandRule(id: "git-restore", pack: "git", message: "git restore overwrites working-tree files", programs: ["git"], subcommand: [Glob("restore")], effect: RuleEffect(operationClass: .delete, dataLoss: true)))
        rules.append(CommandRule(id: "git-stash-drop", pack: "git", message: "drops stashed changes", programs: ["git"], subcommand: [Glob("stash"), Glob("drop|clear")], effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "git-history-rewrite", pack: "git", message: "rewrites the whole history of the repository", programs: ["git"], subcommand: [Glob("filter-branch|filter-repo")], effect: RuleEffect(operationClass: .bulkModify, destructive: true, irreversible: true)))
        rules.append(CommandRule(id: "git-reflog-expire", pack: "git", message: "expires reflog entries, the last way back to lost commits", programs: ["git"], subcommand: [Glob("reflog"), Glob("expire|delete")], effect: RuleEffect(operationClass: .delete, irreversible: true)))
        rules.append(CommandRule(id: "git-gc-prune", pack: "git", message: "prunes unreachable objects for good", programs: ["git"], subcommand: [Glob("gc|prune")], flagsAny: [FlagSpec("--prune=now"), FlagSpec("--prune=all"), FlagSpec("--aggressive")], effect: RuleEffect(operationClass: .delete, irreversible: true)))
        rules.append(CommandRule(id: "git-read", pack: "git", message: "read-only git command", programs: ["git"], subcommand: [Glob("status|log|diff|show|blame|fetch|ls-files|ls-tree|ls-remote|rev-parse|rev-list|describe|shortlog|grep|cat-file|whatchanged|help|version|name-rev|for-each-ref|check-ignore|count-objects|verify-commit|merge-base|reflog")], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "git-list", pack: "git", message: "lists branches, tags, remotes or settings", programs: ["git"], subcommand: [Glob("branch|tag|remote|stash|config|worktree")], flagsAny: [FlagSpec("--list|-l|-a|--all|-v|-vv|-r|--remotes|--get|--get-all|--show-current|--contains")], flagsNone: [FlagSpec("-d|-D|--delete|-m|-M|-c|-C|--unset|--unset-all|--add|--replace-all")], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "git-list-bare", pack: "git", message: "lists branches, tags or remotes", programs: ["git"], subcommand: [Glob("branch|tag|remote")], flagsNone: [FlagSpec("-d|-D|--delete|-m|-M|-c|-C|-f|--force|--set-upstream-to|-u|--unset-upstream|--edit-description|-a|--annotate|-s|--sign")], fallback: true, noArgs: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "git-subcommand-list", pack: "git", message: "lists worktrees, remotes, notes or submodules", programs: ["git"], subcommand: [Glob("worktree|remote|notes|submodule|sparse-checkout|lfs"), Glob("list|show|get-url|status|ls-files|env|summary")], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "git-stash-list", pack: "git", message: "lists stashes", programs: ["git"], subcommand: [Glob("stash"), Glob("list|show")], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "git-write", pack: "git", message: "changes the local repository", programs: ["git"], fallback: true, effect: RuleEffect(operationClass: .patch)))
        return RulePack(name: "git", description: "Git operations that discard work or rewrite shared history.", rules: rules,
                        sqlClients: [],
                        operationVerbs: [:])
    }

    /// holdpoint.yaml
    private static func pack7() -> RulePack {
        var rules: [CommandRule] = []
        rules.reserveCapacity(3)
        rules.append(CommandRule(id: "ask-holdpoint", pack: "holdpoint", message: "asks Holdpoint about an action, the queue, the audit log or the policy", programs: ["holdpoint"], subcommand: [Glob("check|list|wait|audit|policy|hook|help")], effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "submit-to-holdpoint", pack: "holdpoint", message: "records a request in Holdpoint's queue", programs: ["holdpoint"], subcommand: [Glob("submit")], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "show-holdpoint-help", pack: "holdpoint", message: "prints Holdpoint's help or version", programs: ["holdpoint"], flagsAny: [FlagSpec("--help|-h"), FlagSpec("--version")], fallback: true, effect: RuleEffect(operationClass: .read)))
        return RulePack(name: "holdpoint", description: "Holdpoint's own commands, as an agent may run them. Its reviewer and admin commands (decide, resume, halt, review), and any option or HOLDPOINT_* variable that would point it at another policy, queue or audit log, are blocked by self-protection; `exec -- CMD` is judged as CMD itself.\n", rules: rules,
                        sqlClients: [],
                        operationVerbs: [:])
    }

    /// kubernetes.yaml
    private static func pack8() -> RulePack {
        var rules: [CommandRule] = []
        rules.reserveCapacity(19)
        rules.append(CommandRule(id: "k8s-delete-namespace", pack: "kubernetes", message: "deleting a namespace deletes everything in it", programs: ["kubectl", "oc", "kubecolor"], subcommand: [Glob("delete"), Glob("ns|namespace|namespaces|ns/*|namespace/*|namespaces/*")], effect: RuleEffect(operationClass: .deleteEnvironment, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "k8s-delete-all", pack: "kubernetes", message: "deletes many resources at once", programs: ["kubectl", "oc", "kubecolor"], subcommand: [Glob("delete")], flagsAny: [FlagSpec("--all"), FlagSpec("-A|--all-namespaces"), FlagSpec("-l|--selector"), FlagSpec("--field-selector")], effect: RuleEffect(operationClass: .bulkModify, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "k8s-delete-storage", pack: "kubernetes", message: "deletes storage, custom resource definitions, stateful sets or nodes", programs: ["kubectl", "oc", "kubecolor"], subcommand: [Glob("delete"), Glob("pv|pvc|persistentvolume*|persistentvolumeclaim*|pv/*|pvc/*|crd|crds|customresourcedefinition*|statefulset*|sts|sts/*|node|nodes|node/*")], effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "k8s-delete", pack: "kubernetes", message: "deletes Kubernetes resources", programs: ["kubectl", "oc", "kubecolor"], subcommand: [Glob("delete")], effect: RuleEffect(operationClass: .delete, destructive: true)))
        rules.append(CommandRule(id: "k8s-drain", pack: "kubernetes", message: "takes a node out of service and evicts its pods", programs: ["kubectl", "oc"], subcommand: [Glob("drain|cordon|taint")], effect: RuleEffect(operationClass: .patch, destructive: true)))
        rules.append(CommandRule(id: "k8s-scale-zero", pack: "kubernetes", message: "scales a workload to zero replicas: an outage", programs: ["kubectl", "oc"], subcommand: [Glob("scale")], flagsAny: [FlagSpec("--replicas=0")], effect: RuleEffect(operationClass: .delete, destructive: true)))
        rules.append(CommandRule(id: "k8s-rbac", pack: "kubernetes", message: "changes Kubernetes permissions", programs: ["kubectl", "oc"], subcommand: [Glob("create|apply|patch|edit|delete"), Glob("role*|clusterrole*|rolebinding*|clusterrolebinding*|serviceaccount*|sa")], effect: RuleEffect(operationClass: .iam)))
        rules.append(CommandRule(id: "k8s-create", pack: "kubernetes", message: "creates Kubernetes resources", programs: ["kubectl", "oc"], subcommand: [Glob("create|run|expose")], flagsNone: [FlagSpec("--dry-run=server"), FlagSpec("--dry-run=client")], effect: RuleEffect(operationClass: .create)))
        rules.append(CommandRule(id: "k8s-write", pack: "kubernetes", message: "changes Kubernetes resources", programs: ["kubectl", "oc"], subcommand: [Glob("apply|patch|edit|replace|set|scale|autoscale|label|annotate|uncordon|cp|exec|port-forward|attach|debug")], flagsNone: [FlagSpec("--dry-run=server"), FlagSpec("--dry-run=client")], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "k8s-rollout", pack: "kubernetes", message: "restarts, rolls back, pauses or resumes a rollout", programs: ["kubectl", "oc"], subcommand: [Glob("rollout"), Glob("restart|undo|pause|resume")], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "k8s-read-status", pack: "kubernetes", message: "shows rollout state or permissions", programs: ["kubectl", "oc", "kubecolor"], subcommand: [Glob("rollout|auth"), Glob("status|history|can-i|whoami")], effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "k8s-dry-run", pack: "kubernetes", message: "a dry run changes nothing", programs: ["kubectl", "oc"], flagsAny: [FlagSpec("--dry-run=server"), FlagSpec("--dry-run=client")], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "k8s-replace-force", pack: "kubernetes", message: "--force or --prune deletes and recreates resources", programs: ["kubectl", "oc"], subcommand: [Glob("replace|apply")], flagsAny: [FlagSpec("--force"), FlagSpec("--prune")], effect: RuleEffect(operationClass: .delete, destructive: true)))
        rules.append(CommandRule(id: "k8s-read", pack: "kubernetes", message: "read-only kubectl command", programs: ["kubectl", "oc", "kubecolor"], subcommand: [Glob("get|describe|logs|top|explain|version|api-resources|api-versions|cluster-info|auth|wait|diff|events|kustomize|completion|options|config")], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "k8s-tools-read", pack: "kubernetes", message: "read-only kubectl command", programs: ["k9s", "stern", "kubectx", "kubens"], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "helm-uninstall", pack: "kubernetes", message: "uninstalls a release and deletes its resources", programs: ["helm"], subcommand: [Glob("uninstall|delete|del|un")], effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true)))
        rules.append(CommandRule(id: "helm-rollback", pack: "kubernetes", message: "rolls a release back", programs: ["helm"], subcommand: [Glob("rollback")], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "helm-install", pack: "kubernetes", message: "installs or upgrades a release", programs: ["helm"], subcommand: [Glob("install|upgrade")], effect: RuleEffect(operationClass: .create)))
        rules.append(CommandRule(id: "helm-read", pack: "kubernetes", message: "read-only helm command", programs: ["helm"], subcommand: [Glob("list|ls|status|get|history|hist|show|inspect|template|lint|search|version|env|dependency|repo|verify")], fallback: true, effect: RuleEffect(operationClass: .read)))
        return RulePack(name: "kubernetes", description: "kubectl and helm operations that delete or take down workloads.", rules: rules,
                        sqlClients: [],
                        operationVerbs: [:])
    }

    /// network.yaml
    private static func pack9() -> RulePack {
        var rules: [CommandRule] = []
        rules.reserveCapacity(6)
        rules.append(CommandRule(id: "http-delete", pack: "network", message: "sends an HTTP DELETE", programs: ["curl"], flagsAny: [FlagSpec("-XDELETE"), FlagSpec("--request=DELETE"), FlagSpec("-X=DELETE")], effect: RuleEffect(operationClass: .delete)))
        rules.append(CommandRule(id: "http-delete-method", pack: "network", message: "sends an HTTP request whose method may be DELETE", programs: ["curl"], flagsAny: [FlagSpec("-X|--request")], contains: ["delete"], effect: RuleEffect(operationClass: .delete)))
        rules.append(CommandRule(id: "http-write", pack: "network", message: "sends data to a server (POST, PUT or PATCH)", programs: ["curl"], flagsAny: [FlagSpec("-d|--data|--data-raw|--data-binary|--data-urlencode|--json|-F|--form|-T|--upload-file|-XPOST|-XPUT|-XPATCH")], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "http-method", pack: "network", message: "sends an HTTP request with an explicit method", programs: ["curl"], flagsAny: [FlagSpec("-X|--request")], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "http-read", pack: "network", message: "fetches a URL", programs: ["curl", "http", "https", "xh"], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "http-download", pack: "network", message: "downloads a file", programs: ["wget"], fallback: true, effect: RuleEffect(operationClass: .minorUpdate)))
        return RulePack(name: "network", description: "HTTP clients, whose method decides whether they read or write.", rules: rules,
                        sqlClients: [],
                        operationVerbs: [:])
    }

    /// operations.yaml
    private static func pack10() -> RulePack {
        var rules: [CommandRule] = []
        rules.reserveCapacity(0)
        return RulePack(name: "operations", description: "How API and MCP operation names map to operation classes: the first verb word of the operation's own name (cloudformation:DeleteStack → Delete → delete). Names with no known verb are unknown, and gated in production.\n", rules: rules,
                        sqlClients: [],
                        operationVerbs: [.bulkModify: ["batchdelete", "batchupdate", "batchwrite", "bulkdelete", "bulkupdate", "bulkwrite", "massupdate"], .create: ["add", "allocate", "build", "clone", "create", "fork", "generate", "insert", "issue", "launch", "new", "post", "provision", "register", "request", "run", "submit"], .delete: ["abandon", "archive", "clear", "del", "delete", "deregister", "destroy", "detach", "disassociate", "discard", "drop", "empty", "erase", "evict", "expire", "flush", "kill", "prune", "purge", "release", "remove", "revoke", "rm", "terminate", "truncate", "unlink", "wipe"], .iam: ["assume", "grant", "impersonate", "passrole"], .minorUpdate: ["ack", "acknowledge", "annotate", "comment", "label", "notify", "publish", "send", "tag", "untag"], .patch: ["apply", "approve", "associate", "attach", "cancel", "change", "close", "configure", "copy", "deploy", "disable", "edit", "enable", "execute", "import", "invoke", "lock", "merge", "modify", "move", "open", "patch", "pause", "push", "put", "reboot", "rename", "replace", "reset", "resize", "restart", "restore", "resume", "rollback", "rotate", "scale", "set", "start", "stop", "suspend", "sync", "unlock", "update", "upload", "write"], .read: ["batchget", "cat", "check", "count", "describe", "diff", "download", "estimate", "explain", "export", "fetch", "find", "get", "head", "inspect", "list", "lookup", "ls", "poll", "preview", "query", "read", "scan", "search", "select", "show", "simulate", "status", "test", "validate", "verify", "view", "watch"]])
    }

    /// system.yaml
    private static func pack11() -> RulePack {
        var rules: [CommandRule] = []
        rules.reserveCapacity(30)
        rules.append(CommandRule(id: "sys-power", pack: "system", message: "takes the host down", programs: ["shutdown", "reboot", "poweroff", "halt", "init", "telinit"], effect: RuleEffect(operationClass: .delete, tier: .gated, destructive: true)))
        rules.append(CommandRule(id: "sys-power-manager", pack: "system", message: "takes the host down or out of service", programs: ["systemctl", "loginctl"], argsAny: [Glob("poweroff|reboot|halt|kexec|soft-reboot|suspend|hibernate|hybrid-sleep|suspend-then-hibernate|rescue|emergency")], effect: RuleEffect(operationClass: .delete, tier: .gated, destructive: true)))
        rules.append(CommandRule(id: "sys-session-kill", pack: "system", message: "ends login sessions", programs: ["loginctl"], argsAny: [Glob("terminate-*|kill-*|disable-linger|lock-*")], effect: RuleEffect(operationClass: .delete, destructive: true)))
        rules.append(CommandRule(id: "sys-session-read", pack: "system", message: "shows login sessions", programs: ["loginctl"], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "sys-service-environment", pack: "system", message: "changes the environment every service starts with (LD_PRELOAD, PATH…)", programs: ["systemctl"], argsAny: [Glob("set-environment|import-environment|unset-environment")], effect: RuleEffect(operationClass: .iam, tier: .gated)))
        rules.append(CommandRule(id: "sys-service-stop", pack: "system", message: "stops or disables a service", programs: ["systemctl", "service"], argsAny: [Glob("stop|disable|mask|kill|isolate|poweroff|reboot|halt|rescue|emergency")], effect: RuleEffect(operationClass: .delete, destructive: true)))
        rules.append(CommandRule(id: "sys-service-persist", pack: "system", message: "makes a service start on its own, or changes how services run: code that keeps running after the session", programs: ["systemctl"], argsAny: [Glob("enable|reenable|unmask|edit|set-property|set-environment|import-environment|link|preset|preset-all|revert|add-wants|add-requires")], effect: RuleEffect(operationClass: .patch, tier: .gated)))
        rules.append(CommandRule(id: "sys-service-change", pack: "system", message: "starts, restarts or changes a service", programs: ["systemctl", "service"], argsAny: [Glob("start|restart|reload|enable|unmask|daemon-reload|edit|set-property|reset-failed|try-restart|reload-or-restart")], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "sys-service-read", pack: "system", message: "shows service state", programs: ["systemctl", "service"], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "sys-privilege-bits", pack: "system", message: "sets the setuid or setgid bit: runs as its owner for anyone", programs: ["chmod"], argsAny: [Glob("u+s|g+s|+s|ug+s|a+s|o+s|u=*s*|g=*s*|4???|2???|6???|0[246]???")], effect: RuleEffect(operationClass: .iam, tier: .gated)))
        rules.append(CommandRule(id: "sys-capabilities", pack: "system", message: "gives a program kernel capabilities (root powers)", programs: ["setcap"], effect: RuleEffect(operationClass: .iam, tier: .gated)))
        rules.append(CommandRule(id: "sys-kill-probe", pack: "system", message: "checks whether a process exists (signal 0)", programs: ["kill"], flagsAny: [FlagSpec("-0")], effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "sys-kill-all", pack: "system", message: "signals every process (or init)", programs: ["kill", "pkill", "killall", "skill"], argsAny: [Glob("-1"), Glob("1")], effect: RuleEffect(operationClass: .delete, tier: .gated, destructive: true)))
        rules.append(CommandRule(id: "sys-kill", pack: "system", message: "terminates processes", programs: ["kill", "pkill", "killall"], flagsNone: [FlagSpec("-0")], effect: RuleEffect(operationClass: .delete)))
        rules.append(CommandRule(id: "sys-users", pack: "system", message: "changes users, groups or passwords", programs: ["useradd", "userdel", "usermod", "groupadd", "groupdel", "groupmod", "passwd", "chpasswd", "visudo", "adduser", "deluser", "addgroup", "delgroup", "gpasswd", "chage"], effect: RuleEffect(operationClass: .iam)))
        rules.append(CommandRule(id: "sys-crontab-remove", pack: "system", message: "crontab -r deletes every scheduled job", programs: ["crontab"], flagsAny: [FlagSpec("-r")], effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true)))
        rules.append(CommandRule(id: "sys-crontab", pack: "system", message: "replaces scheduled jobs: code that runs later, when nobody is looking", programs: ["crontab"], flagsNone: [FlagSpec("-l")], effect: RuleEffect(operationClass: .patch, tier: .gated)))
        rules.append(CommandRule(id: "sys-crontab-read", pack: "system", message: "lists scheduled jobs", programs: ["crontab"], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "sys-firewall-flush", pack: "system", message: "flushes or disables the firewall", programs: ["iptables", "ip6tables", "nft", "ufw", "firewall-cmd"], flagsAny: [FlagSpec("-F|--flush"), FlagSpec("-X|--delete-chain"), FlagSpec("flush"), FlagSpec("disable"), FlagSpec("--panic-on"), FlagSpec("reset")], effect: RuleEffect(operationClass: .delete, destructive: true)))
        rules.append(CommandRule(id: "sys-firewall-disable", pack: "system", message: "flushes or turns off the firewall", programs: ["iptables", "ip6tables", "nft", "ufw", "firewall-cmd"], argsAny: [Glob("flush|disable|reset|--panic-on")], effect: RuleEffect(operationClass: .delete, tier: .gated, destructive: true)))
        rules.append(CommandRule(id: "sys-mac-disable", pack: "system", message: "turns SELinux enforcement off", programs: ["setenforce"], argsAny: [Glob("0|permissive|Permissive")], effect: RuleEffect(operationClass: .delete, tier: .gated, destructive: true)))
        rules.append(CommandRule(id: "sys-mac-teardown", pack: "system", message: "turns AppArmor protection off", programs: ["aa-teardown", "aa-disable", "aa-complain"], effect: RuleEffect(operationClass: .delete, tier: .gated, destructive: true)))
        rules.append(CommandRule(id: "sys-firewall-read", pack: "system", message: "lists firewall or access-control state", programs: ["iptables", "ip6tables", "nft", "ufw", "firewall-cmd", "iptables-save", "ip6tables-save", "getenforce", "sestatus", "aa-status"], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "sys-firewall", pack: "system", message: "changes firewall rules", programs: ["iptables", "ip6tables", "nft", "ufw", "firewall-cmd"], flagsNone: [FlagSpec("-L|--list"), FlagSpec("-S|--list-rules"), FlagSpec("--state"), FlagSpec("--list-all"), FlagSpec("--list-all-zones"), FlagSpec("--get-*"), FlagSpec("--query-*")], argsAnyOutside: [Glob("status|list|show|numbered|verbose|ruleset|tables|table|chains|chain|filter|nat|mangle|raw|inet|ip|ip6|INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING|app|info")], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "sys-packages-read", pack: "system", message: "lists or shows packages", programs: ["apt", "apt-get", "apt-cache", "dpkg", "yum", "dnf", "rpm", "apk", "pacman", "zypper", "brew", "snap", "pip", "pip3", "npm", "yarn", "pnpm", "gem", "cargo", "go", "pipx", "poetry", "uv", "conda"], argsAny: [Glob("list|show|freeze|search|info|outdated|view|ls|why|check|policy|madison|depends|rdepends|env|version|-l|-L|-q|-Q|-s|--version|audit|tree|help")], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "sys-packages-remove", pack: "system", message: "uninstalls packages", programs: ["apt", "apt-get", "dpkg", "yum", "dnf", "rpm", "apk", "pacman", "zypper", "brew", "snap", "pip", "pip3", "npm", "yarn", "pnpm", "gem", "cargo"], argsAny: [Glob("remove|purge|autoremove|uninstall|erase|-r|-P|-e|--purge|--remove")], effect: RuleEffect(operationClass: .delete)))
        rules.append(CommandRule(id: "sys-packages-install", pack: "system", message: "installs or upgrades packages", programs: ["apt", "apt-get", "dpkg", "yum", "dnf", "rpm", "apk", "pacman", "zypper", "brew", "snap", "pip", "pip3", "npm", "yarn", "pnpm", "gem", "cargo", "go"], argsAny: [Glob("install|add|upgrade|update|dist-upgrade|full-upgrade|-i|-U|-S|-Syu|get|i")], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "sys-mount", pack: "system", message: "mounts or unmounts file systems", programs: ["mount", "umount", "swapoff", "swapon"], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "sys-sysctl", pack: "system", message: "changes kernel parameters", programs: ["sysctl"], flagsAny: [FlagSpec("-w|--write|-p|--load")], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "sys-sysctl-read", pack: "system", message: "reads kernel parameters", programs: ["sysctl"], fallback: true, effect: RuleEffect(operationClass: .read)))
        return RulePack(name: "system", description: "Host-level operations: power, services, processes, users, firewalls and packages.", rules: rules,
                        sqlClients: [],
                        operationVerbs: [:])
    }

    /// terraform.yaml
    private static func pack12() -> RulePack {
        var rules: [CommandRule] = []
        rules.reserveCapacity(10)
        rules.append(CommandRule(id: "tf-destroy", pack: "terraform", message: "terraform destroy deletes every resource in the configuration", programs: ["terraform", "tofu", "terragrunt"], subcommand: [Glob("destroy|run-all")], effect: RuleEffect(operationClass: .deleteEnvironment, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "tf-plan-destroy", pack: "terraform", message: "a destroy plan deletes every resource in the configuration", programs: ["terraform", "tofu", "terragrunt"], subcommand: [Glob("plan|apply")], flagsAny: [FlagSpec("-destroy"), FlagSpec("--destroy")], effect: RuleEffect(operationClass: .deleteEnvironment, destructive: true, irreversible: true, dataLoss: true)))
        rules.append(CommandRule(id: "tf-apply-auto-approve", pack: "terraform", message: "apply -auto-approve changes infrastructure with no plan review", programs: ["terraform", "tofu", "terragrunt"], subcommand: [Glob("apply")], flagsAny: [FlagSpec("-auto-approve"), FlagSpec("--auto-approve")], effect: RuleEffect(operationClass: .bulkModify, destructive: true)))
        rules.append(CommandRule(id: "tf-apply", pack: "terraform", message: "terraform apply changes infrastructure", programs: ["terraform", "tofu", "terragrunt"], subcommand: [Glob("apply")], effect: RuleEffect(operationClass: .create)))
        rules.append(CommandRule(id: "tf-state-surgery", pack: "terraform", message: "edits Terraform state by hand: resources can be orphaned or destroyed on the next apply", programs: ["terraform", "tofu"], subcommand: [Glob("state"), Glob("rm|mv|push|replace-provider")], effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true)))
        rules.append(CommandRule(id: "tf-taint", pack: "terraform", message: "taint forces a resource to be destroyed and recreated", programs: ["terraform", "tofu"], subcommand: [Glob("taint|untaint")], effect: RuleEffect(operationClass: .delete, destructive: true)))
        rules.append(CommandRule(id: "tf-workspace-delete", pack: "terraform", message: "deletes a Terraform workspace", programs: ["terraform", "tofu"], subcommand: [Glob("workspace"), Glob("delete")], effect: RuleEffect(operationClass: .deleteEnvironment, destructive: true, irreversible: true)))
        rules.append(CommandRule(id: "tf-force-unlock", pack: "terraform", message: "force-unlock can let two applies run at once and corrupt state", programs: ["terraform", "tofu"], subcommand: [Glob("force-unlock")], effect: RuleEffect(operationClass: .patch, destructive: true)))
        rules.append(CommandRule(id: "tf-import", pack: "terraform", message: "changes Terraform state", programs: ["terraform", "tofu"], subcommand: [Glob("import|refresh")], effect: RuleEffect(operationClass: .patch)))
        rules.append(CommandRule(id: "tf-read", pack: "terraform", message: "read-only terraform command", programs: ["terraform", "tofu", "terragrunt"], subcommand: [Glob("plan|show|validate|output|fmt|version|providers|graph|console|init|get|state|workspace|login|test|metadata")], fallback: true, effect: RuleEffect(operationClass: .read)))
        return RulePack(name: "terraform", description: "Terraform and OpenTofu operations that destroy infrastructure or its state.", rules: rules,
                        sqlClients: [],
                        operationVerbs: [:])
    }

    /// readonly.yaml
    private static func pack13() -> RulePack {
        var rules: [CommandRule] = []
        rules.reserveCapacity(5)
        rules.append(CommandRule(id: "dns-built-name", pack: "readonly", message: "looks up a name built from a command's output or a variable: a way to send data out over DNS", programs: ["dig", "nslookup", "host", "drill"], argsAny: [Glob("")], unknownArgsMatch: true, effect: RuleEffect(operationClass: .read, tier: .gated)))
        rules.append(CommandRule(id: "read-only-command", pack: "readonly", message: "read-only command", programs: ["ls", "ll", "la", "dir", "cat", "tac", "bat", "head", "tail", "less", "more", "grep", "egrep", "fgrep", "rg", "ag", "ack", "wc", "pwd", "echo", "printf", "stat", "file", "du", "df", "free", "uptime", "whoami", "id", "groups", "date", "cal", "hostname", "uname", "which", "whereis", "type", "realpath", "readlink", "dirname", "basename", "diff", "cmp", "comm", "sort", "uniq", "cut", "tr", "fold", "fmt", "nl", "column", "paste", "join", "jq", "yq", "xxd", "hexdump", "od", "strings", "md5sum", "sha1sum", "sha256sum", "sha512sum", "cksum", "b2sum", "base64", "tree", "ps", "pgrep", "top", "htop", "vmstat", "iostat", "mpstat", "lsof", "lsblk", "lscpu", "lsmod", "lsusb", "lspci", "blkid", "findmnt", "env", "locale", "true", "false", "test", "[", "[[", ":", "sleep", "seq", "expr", "bc", "dig", "nslookup", "host", "ping", "traceroute", "tracepath", "mtr", "ss", "netstat", "getent", "last", "w", "who", "journalctl", "dmesg", "cd", "pushd", "popd", "export", "set", "unset", "alias", "history", "read", "wait", "shift", "exit", "return", "local", "declare", "typeset", "readonly", "trap", "ulimit", "umask", "man", "info", "help", "tldr", "awk", "sed", "zcat", "zgrep", "tput", "clear", "stty", "tty", "nproc", "getconf", "systemd-analyze"], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "find-read", pack: "readonly", message: "searches files", programs: ["find", "fd", "locate"], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "ip-read", pack: "readonly", message: "shows network configuration", programs: ["ip"], fallback: true, effect: RuleEffect(operationClass: .read)))
        rules.append(CommandRule(id: "ip-change", pack: "readonly", message: "changes network configuration", programs: ["ip"], subcommand: [Glob("add|del|delete|set|flush|change|replace|append")], effect: RuleEffect(operationClass: .patch)))
        return RulePack(name: "readonly", description: "Commands that only read. They run on their own (autonomous) unless another rule fires for the same command or a redirection writes a file.\n", rules: rules,
                        sqlClients: [],
                        operationVerbs: [:])
    }

    /// default-policy.yaml, over `rules`.
    static func defaultPolicy(rules: RuleSet) throws -> Policy {
        var policy = Policy(rules: rules)
        policy.profile = .default
        policy.destructiveActions.append(try DestructivePattern(pattern: "delete|destroy|terminate|drop|remove|truncate", scope: ["production"], action: .blockAndEscalate, message: "Destructive action detected. Routing to human approval."))
        policy.changeMagnitude = ChangeMagnitude(maxResourcesAffected: 5.0, maxCostImpactUSD: 1000.0, action: .requireApprovalIfExceeded)
        policy.environmentRules["production"] = EnvironmentRule(allowedOperations: [.minorUpdate, .patch, .read], blockedOperations: [.bulkModify, .createEnvironment, .deleteEnvironment])
        policy.productionEnvironments = ["live", "prd", "prod", "production"]
        policy.confidenceThreshold = 0.6
        policy.approvals.required = 1
        policy.approvals.rejectionsToReject = 1
        policy.approvals.allowSelfApproval = false
        policy.approvals.timeouts = [.gated: 900.0]
        policy.approvals.reviewers = []
        policy.approvals.validFor = 900.0
        policy.approvals.minReadTime = 2.0
        policy.approvals.attentionCheckAfter = 10
        policy.approvals.attentionCheckWithin = 300.0
        policy.sources = ["(built-in) default-policy.yaml"]
        return policy
    }
}
