import Testing

@testable import HoldpointCore

/// Programs no rule knows, read from their sub-command words (`command_words` in
/// operations.yaml, `UnknownProgramReading`), and the ways around that reading that must
/// stay shut.
@Suite struct UnknownProgramTests {
    static func verdict(_ command: String, mode: AgentMode = .autonomous) throws -> Classification {
        try TestData.classify(command, env: "production", mode: mode)
    }

    @Test(arguments: [
        "doctl compute droplet list",
        "hcloud server list",
        "flyctl status -a api",
        "heroku logs --tail -a api",
        "firebase projects:list",
        "eksctl get clusters",
        "someplatform-cli --region us-east-1 apps describe web",
        "pgbench --help",
        "steampipe query 'select name from aws_s3_bucket'",
    ])
    func aReadVerbRunsSupervised(_ command: String) throws {
        let result = try Self.verdict(command)
        #expect(result.tier == .supervised, "\(command): \(result.reasons.map(\.rule))")
        #expect(result.operationClass == .read)
        #expect(result.reasons.map(\.rule).contains("unknown-program-read-verb"))
    }

    @Test(arguments: [
        // A verb of change among the leading words, before or after the read verb.
        "doctl compute droplet delete web-1 --force",
        "heroku pg:reset DATABASE_URL",
        "sometool list-and-delete builds",
        "sometool exec list",
        "sometool run status",
        // A flag of change, or one that runs something.
        "sometool status --force",
        "sometool status --exec 'rm -rf /'",
        "sometool list --set replicas=0",
        // A statement passed as one word that changes something, wherever it stands.
        "bqlike query --use_legacy_sql=false 'DELETE FROM prod.events WHERE TRUE'",
        "sometool query --sql='ALTER TABLE t ADD c int'",
        "sometool search 'mutation { deleteUser(id: 1) }'",
        // A word of secrets anywhere.
        "fly secrets list -a api",
        "sometool config show",
        "sometool status --show-secrets",
        "sometool get password prod-db",
        "sometool logs --token abc",
        // Not a plain name: a path is a program the agent may just have written.
        "./tool list",
        "/tmp/x/tool status",
        // The verb only known at run time, or a raw tail for another program.
        "sometool $VERB",
        "sometool list -- rm -rf /",
        // No verb at all.
        "sometool prod-db",
        "sometool",
    ])
    func anythingElseStaysUnknown(_ command: String) throws {
        let result = try Self.verdict(command)
        #expect(result.tier >= .gated, "\(command): \(result.tier.rawValue) \(result.reasons.map(\.rule))")
        #expect(!result.reasons.map(\.rule).contains("unknown-program-read-verb"), "\(command)")
    }

    /// A program the packs know is never read from its words: `rmmod status` removes the
    /// module "status", and a sub-command a pack did not list is held.
    @Test(arguments: ["rmmod status", "insmod list", "pkexec status", "nsenter -t 1 -m -u status", "tmux send-keys -t 0 'rm -rf /' Enter", "kubectl frobnicate list", "consul newthing list"])
    func knownProgramsAreNotGuessed(_ command: String) throws {
        let result = try Self.verdict(command)
        #expect(result.tier >= .gated, "\(command): \(result.tier.rawValue) \(result.reasons.map(\.rule))")
        #expect(!result.reasons.map(\.rule).contains("unknown-program-read-verb"), "\(command)")
    }

    /// A function or a changed `PATH` in the same line decides what the name runs.
    @Test(arguments: ["lister() { rm -rf /srv; }; lister status", "PATH=/tmp/evil:$PATH sometool status", "export PATH=/tmp:$PATH; sometool list"])
    func theLineCannotRedefineTheProgram(_ command: String) throws {
        let result = try Self.verdict(command)
        #expect(result.tier >= .gated, "\(command): \(result.tier.rawValue) \(result.reasons.map(\.rule))")
    }

    @Test func theWordsAreDataAndTheirKindsAreChecked() throws {
        let bad = "pack: x\ncommand_words:\n  reads: [list]\n"
        guard case .failure(let error) = RuleLoader.loadPack(text: bad, file: "x.yaml") else {
            Issue.record("an unknown kind of command words loaded")
            return
        }
        #expect(error.description.contains("command_words: unknown kind 'reads'"))
        guard case .success(let pack) = RuleLoader.loadPack(text: "pack: x\ncommand_words:\n  read: [List, show]\n  sensitive: [Token]\n", file: "x.yaml") else {
            Issue.record("command words did not load")
            return
        }
        #expect(pack.commandWords["read"] == ["list", "show"])
        #expect(pack.commandWords["sensitive"] == ["token"])
    }

    @Test func partsSplitOnEverythingButLetters() {
        #expect(UnknownProgramReading.parts("--show-secrets") == ["show", "secrets"])
        #expect(UnknownProgramReading.parts("projects:list") == ["projects", "list"])
        #expect(UnknownProgramReading.parts("GetAPIKey2") == ["getapikey"])
        #expect(UnknownProgramReading.isPlainWord("compute"))
        #expect(!UnknownProgramReading.isPlainWord("web/1"))
        #expect(!UnknownProgramReading.isPlainWord("Prod"))
    }
}

/// The other ways programs were read further for issue 12's second round.
@Suite struct ReadFurtherTests {
    static func verdict(_ command: String, mode: AgentMode = .autonomous) throws -> Classification {
        try TestData.classify(command, env: "production", mode: mode)
    }

    static func rules(_ command: String) throws -> [String] { try verdict(command).reasons.map(\.rule) }

    @Test func pythonModulesAreTheProgramsTheyAre() throws {
        #expect(try Self.rules("python3 -m pytest -q").contains("build-runner"))
        #expect(try Self.rules("python -m pip install requests").contains("sys-packages-install"))
        #expect(try Self.verdict("python3 -m http.server 8000").tier >= .gated)
        #expect(try Self.verdict("python3 -m json.tool data.json").tier == .autonomous)
        // A module no rule knows runs code Holdpoint cannot see.
        #expect(try Self.rules("python3 -m mymodule").contains("interpreter-module"))
        // timeit's setup and statements are code.
        #expect(try Self.verdict(#"python3 -m timeit -s "import os" "os.system('rm -rf /srv/data')""#).operationClass == .delete)
        #expect(try Self.verdict(#"python3 -m timeit -n 100 "sum(range(10))""#).tier == .autonomous)
        // A script the packs know by name.
        #expect(try Self.rules("python manage.py showmigrations").contains("django-read"))
        #expect(try Self.verdict("python manage.py flush --noinput").tier >= .gated)
    }

    @Test func appleScriptShellsOut() throws {
        #expect(try Self.verdict(#"osascript -e 'do shell script "rm -rf ~/Documents"'"#).operationClass == .delete)
        #expect(try Self.verdict(#"osascript -e 'display notification "done"'"#).tier == .autonomous)
    }

    @Test func ansibleAdHocCommandsAreClassified() throws {
        #expect(try Self.verdict(#"ansible all -m shell -a "rm -rf /srv/app" -i prod"#).operationClass == .delete)
        #expect(try Self.verdict(#"ansible web -a "uptime""#).tier == .autonomous)
        #expect(try Self.verdict("ansible all -m ping").tier == .autonomous)
        #expect(try Self.verdict("ansible all -b -m reboot").tier >= .gated)
        #expect(try Self.verdict(#"ansible all -m "$MOD" -a x"#).tier >= .gated)
    }

    @Test func containerExecRunsWhatFollowsTheContainer() throws {
        #expect(try Self.rules("docker exec api env").contains("secret-environment"))
        #expect(try Self.rules("docker exec -it -u root -e A=1 api sh -c 'cat /run/secrets/db'").contains("credential-read"))
        #expect(try Self.rules("docker container exec -w /app api rm -rf /app/data").contains("fs-rm-rf"))
    }

    @Test func privilegeQueriesRunNothing() throws {
        #expect(try Self.verdict("sudo -l").tier == .autonomous)
        #expect(try Self.verdict("sudo -l -U deploy").tier == .autonomous)
        #expect(try Self.verdict("sudo -s").tier >= .gated)
        #expect(try Self.verdict("sudo -i").tier >= .gated)
        #expect(try Self.verdict("sudo -l rm -rf /").tier >= .gated)
    }

    @Test func projectRunnersRunTheCommandAfterThem() throws {
        #expect(try Self.rules("bundle exec rake -T").contains("rake-tasks"))
        #expect(try Self.rules("poetry run pytest").contains("build-runner"))
        #expect(try Self.verdict(#"uv run --with requests python -c "import shutil; shutil.rmtree('/srv')""#).operationClass == .delete)
        #expect(try Self.verdict("bundle exec rails db:drop").tier >= .gated)
        // The tool's own commands are the pack's.
        #expect(try Self.rules("uv pip list").contains("sys-packages-read"))
    }

    /// A task whose recipe cannot be read is supervised, unless its name says it deploys,
    /// releases, migrates or destroys; a dry run prints and runs nothing.
    @Test func projectTasksWithoutTheirFile() throws {
        #expect(try Self.verdict("make -C /nonexistent test").tier == .supervised)
        #expect(try Self.rules("make -C /nonexistent deploy").contains("project-task-unread"))
        #expect(try Self.verdict("make -C /nonexistent deploy").tier >= .gated)
        #expect(try Self.verdict("make -C /nonexistent -n deploy").tier == .autonomous)
    }

    @Test func sqliteDotCommands() throws {
        #expect(try Self.verdict("sqlite3 app.db .tables").tier == .autonomous)
        #expect(try Self.verdict("sqlite3 app.db '.schema users'").tier == .autonomous)
        #expect(try Self.verdict("sqlite3 app.db '.shell rm -rf /srv'").operationClass == .delete)
        #expect(try Self.rules("sqlite3 app.db '.output /tmp/dump.sql'").contains("sql-client-command"))
        #expect(try Self.verdict("sqlite3 app.db '.load ./evil'").tier >= .gated)
        #expect(try Self.verdict("sqlite3 app.db 'DROP TABLE users'").tier >= .gated)
    }

    @Test func packageRunnersRunOnlyToolsTheyKnow() throws {
        #expect(try Self.rules("npx jest").contains("build-runner"))
        #expect(try Self.rules("npx --yes tsc --noEmit").contains("build-runner"))
        for command in ["npx some-cli@latest init", "npx cowsay list", "npx -p typescript tsc", "npx @scope/tool run", "bunx unknown-tool status"] {
            #expect(try Self.rules(command).contains("package-runner"), "\(command)")
        }
        #expect(try Self.verdict("npx rm -rf /srv").operationClass == .delete)
    }

    @Test func searchRequestsReadButFilesAndOtherURLsDoNot() throws {
        #expect(try Self.verdict(#"curl -s -X POST http://es:9200/logs/_search -d '{"query":{"match_all":{}}}'"#).tier == .autonomous)
        #expect(try Self.verdict("curl -X POST http://es:9200/logs/_delete_by_query -d '{}'").tier >= .gated)
        #expect(try Self.verdict("curl -d @notes.txt https://es.example/_search").tier >= .gated)
        #expect(try Self.verdict("curl -X POST $ES/_search -d '{}'").tier >= .gated)
    }

    @Test func argsNoneMatchLoadsAndIsAnException() throws {
        let yaml = """
            pack: x
            rules:
              - id: write
                program: [tool]
                args_none_match: ["safe-*"]
                class: patch
                message: "writes"
            """
        guard case .success(let pack) = RuleLoader.loadPack(text: yaml, file: "x.yaml") else {
            Issue.record("args_none_match did not load")
            return
        }
        #expect(pack.rules.first?.argsNoneMatch.first?.matches("safe-thing") == true)
    }

    @Test func certificatesAndPublicKeysAreNotSecrets() throws {
        #expect(try Self.verdict("openssl x509 -in cert.pem -noout -text").tier == .autonomous)
        #expect(try Self.verdict("ssh-keygen -lf ~/.ssh/id_ed25519.pub").tier == .autonomous)
        #expect(try Self.verdict("openssl rsa -in server.key -text").tier >= .gated)
        #expect(try Self.verdict("ssh-keygen -y -f ~/.ssh/id_ed25519").tier >= .gated)
        #expect(try Self.verdict("cat /etc/rancher/k3s/k3s.yaml").tier >= .gated)
        #expect(try Self.verdict("cat ~/.bash_history").tier >= .gated)
    }

    /// The one-pass index answers as searching the path for each piece did.
    @Test func pathPartIndexAgreesWithSearchingEachPiece() {
        let paths = [
            "/home/a/.ssh/id_rsa", ".ssh/id_ed25519", "ssh/id_rsa", "/etc/ssh/ssh_host_rsa_key", "/etc/sudoers.d/90-agent", "etc/sudoers.d/x", "/srv/app/etc/sudoers.d",
            "/var/lib/rancher/k3s/server/cred/passwd", "/var/lib/rancher/k3s/server/", "/etc/cron.daily/job", "/etc/crontab", "//etc//cron.d/x", "/", "", "/.gnupg/",
            "src/.git/hooks/pre-commit", "/Library/LaunchAgents/x.plist", "/library/launchagents/x",
        ]
        for parts in [SensitivePaths.credentialParts, SensitivePaths.persistenceParts] {
            let index = PathPartIndex(parts)
            for path in paths {
                #expect(index.occurs(in: Substring(path)) == parts.contains { SensitivePaths.has(Substring(path), $0) }, "\(path)")
            }
        }
    }

    /// A rule's `contains` words found in one pass give the answer of lower-casing the word
    /// and searching it for each in turn.
    @Test func foldedNeedlesAgreeWithSearchingEachWord() {
        let needles = ["AKIA", "BEGIN OPENSSH PRIVATE", "ghp_", "-----BEGIN", "passw", "token"]
        let words = [
            "AKIAIOSFODNN7EXAMPLE", "akia", "xAKIx", "-----BEGIN OPENSSH PRIVATE KEY-----", "GHP_abc", "gh_p", "PassWord", "tok", "TOKEN=1", "", "ä-token", "-----BEGI",
        ]
        let folded = FoldedNeedles(needles)
        for word in words {
            let lower = word.lowercased()
            #expect(folded.occurs(in: word) == needles.contains { lower.containsBytes(of: $0.lowercased()) }, "\(word)")
        }
    }
}
