import ArgumentParser
import Foundation
import HoldpointCore
import HoldpointGate
import HoldpointRPC
import HoldpointStore

/// The pre-deployment checklist, evaluated against this machine's setup and the policy in
/// force: what a security reviewer staples to a deployment approval.
struct Checklist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checklist",
        abstract: "Evaluate the eight-point pre-deployment checklist against the real setup and policy.",
        discussion: """
            Each check is PASS, FAIL or UNKNOWN (Holdpoint cannot know), with the evidence and the fix, and the EU AI \
            Act article it supports. Also lists the agent clients on this machine with the hook installed and whether \
            it answers. Exit 0 when nothing fails, 1 when a check fails (a deployment pipeline can refuse to give an \
            agent production access), 69 queue or daemon unavailable, 78 policy error.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Print one JSON document.")
    var json = false

    enum Status: String {
        case pass = "PASS"
        case fail = "FAIL"
        case unknown = "UNKNOWN"
    }

    struct Item {
        var number: Int
        var title: String
        var status: Status
        var evidence: [String]
        var fix: String?
        var article: String

        var json: JSONValue {
            .object([
                ("check", .number(Double(number))), ("title", .string(title)), ("status", .string(status.rawValue)),
                ("evidence", .array(evidence.map(JSONValue.string))), ("fix", fix.map(JSONValue.string) ?? .null), ("eu_ai_act", .string(article)),
            ])
        }
    }

    func run() throws {
        let socketMode = global.settings.socketPath != nil
        let service = try global.service(classifying: true)
        // The rules in force: in socket mode the daemon's, as far as a client may see them.
        var approvals: ApprovalRules
        var policy: Policy?
        if let daemon = service as? DaemonClient {
            approvals = try queueCall { () throws(StoreError) in try daemon.consoleSettings()?.approvals } ?? ApprovalRules()
        } else {
            let loaded = try global.loadPolicy()
            approvals = loaded.approvals
            policy = loaded
        }
        func tier(_ command: String, env: String = "production") -> Tier? {
            guard let request = try? ActionRequest.shellCommand(command, environment: env, agentID: "checklist", mode: .supervised) else { return nil }
            return try? service.classify(request).0.tier
        }
        var items: [Item] = []

        // 1. Permission scoping.
        var scoping = Item(number: 1, title: "Permission scoping: agents cannot approve their own actions", status: .unknown, evidence: [], fix: nil, article: "Art. 14 (human oversight)")
        if approvals.reviewers.isEmpty {
            scoping.status = .fail
            scoping.evidence.append("approvals.reviewers is empty: anyone who can reach the queue may decide")
            scoping.fix = "name the reviewers (logins or @groups) in approvals.reviewers"
        } else if socketMode {
            scoping.status = .pass
            scoping.evidence += [
                "socket mode: callers identified by the kernel (SO_PEERCRED); the daemon alone owns the queue, key and policy",
                "reviewers: \(approvals.reviewers.joined(separator: ", "))",
            ]
        } else {
            scoping.evidence += [
                "file mode: whoever can write \(global.queuePath) (or its directory) can forge a decision; an agent that can submit can",
                "reviewers: \(approvals.reviewers.joined(separator: ", "))",
            ]
            scoping.fix = "run `holdpoint serve` as its own user and point agents at its socket (docs/serve.md)"
        }
        if !socketMode {
            for path in [global.queuePath, (global.queuePath as NSString).deletingLastPathComponent] {
                guard let writers = Self.writers(of: path) else { continue }
                scoping.evidence.append("can write \(path): \(writers.description)")
                if writers.everyone {
                    scoping.status = .fail
                    scoping.fix = "chmod o-w \(path); better, run `holdpoint serve` as its own user (docs/serve.md)"
                }
            }
        }
        scoping.evidence.append("self-approval: \(approvals.allowSelfApproval ? "ALLOWED" : "refused")")
        items.append(scoping)

        // 2. Destructive-action blocklist.
        var blocklist = Item(number: 2, title: "Destructive-action blocklist", status: .pass, evidence: [], fix: nil, article: "Art. 9 (risk management), Art. 15 (robustness)")
        for command in ["rm -rf /", "terraform destroy -auto-approve", "kubectl delete namespace payments", "psql -c 'DROP TABLE users'"] {
            let t = tier(command)
            blocklist.evidence.append("`\(command)` in production: \(t?.rawValue ?? "could not classify")")
            if t == nil || t == .autonomous || t == .supervised { blocklist.status = .fail }
        }
        if let policy {
            blocklist.evidence.append("rule packs: \(policy.rules.packs.map(\.name).joined(separator: ", "))")
            blocklist.evidence.append(
                "destructive patterns: \(policy.destructiveActions.count); production blocked operations: \(policy.environmentRules["production"]?.blockedOperations.map(\.rawValue).sorted().joined(separator: ", ") ?? "none")"
            )
            if policy.destructiveActions.isEmpty { blocklist.status = .fail }
        }
        if blocklist.status == .fail { blocklist.fix = "re-enable the built-in rule packs and agent_constraints.destructive_actions (policy explain shows what is in force)" }
        items.append(blocklist)

        // 3. Peer review.
        var review = Item(number: 3, title: "Peer review: production writes need a human", status: .pass, evidence: [], fix: nil, article: "Art. 14 (human oversight)")
        let deleteTier = tier("kubectl delete deployment api -n prod")
        review.evidence.append("`kubectl delete deployment api` in production: \(deleteTier?.rawValue ?? "?")")
        review.evidence.append("approvals required: \(approvals.required); self-approval \(approvals.allowSelfApproval ? "allowed" : "refused")")
        if deleteTier != .gated && deleteTier != .blocked { review.status = .fail }
        if approvals.allowSelfApproval || approvals.required < 1 { review.status = .fail }
        if review.status == .fail { review.fix = "set approvals.allow_self_approval: false and keep production deletes gated" }
        items.append(review)

        // 4. Timeout policy.
        let window = approvals.timeouts[.gated] ?? 900
        items.append(
            Item(
                number: 4, title: "Timeout policy: silence is denial", status: .pass,
                evidence: [
                    "a gated request expires after \(Durations.format(window)); expiry is always a denial, never an approval",
                    "an approval must be used within \(Durations.format(approvals.validFor))",
                ]
                    + (approvals.escalateAfter.map { ["undecided requests escalate at \(Int($0 * 100))% of their window"] } ?? ["no escalation (approvals.escalate_after)"]),
                fix: nil, article: "Art. 14 (human oversight)"))

        // 5. Rollback capability.
        items.append(
            Item(
                number: 5, title: "Rollback capability", status: .unknown,
                evidence: [
                    "requests without a rollback plan are flagged NO ROLLBACK and irreversible ones IRREVERSIBLE to the reviewer, and need the target typed to approve",
                    "whether a rollback works is outside what Holdpoint can see",
                ],
                fix: "have agents send rollback.plan in their requests, and test the plans", article: "Art. 9 (risk management)"))

        // 6. Audit trail.
        var audit = Item(number: 6, title: "Audit trail: tamper-evident and intact", status: .pass, evidence: [], fix: nil, article: "Art. 12 (record-keeping)")
        let (report, key) = try queueCall { () throws(StoreError) in try service.verifyAudit(publicKeyHex: nil, requireHead: true, since: nil) }
        if report.intact {
            audit.evidence.append("audit verify: intact, \(report.entries) entries, \(report.checkpoints) signed checkpoints (key \(key.prefix(16))…)")
        } else {
            audit.status = .fail
            audit.evidence.append("audit verify: NOT intact at entry \(report.firstBadSeq.map(String.init) ?? "?"): \(report.problem ?? "")")
            audit.fix = "investigate before giving any agent access; `holdpoint audit verify` names the entry"
        }
        // The signed head outside the database keeps up with the log (file mode: this
        // process can read it; the daemon checks its own in `audit verify`).
        if let local = service as? LocalQueue {
            let last = try queueCall { () throws(StoreError) in try local.store.changeCounter() }
            if let head = AuditSigner.readHead(local.store.signer.headPath) {
                audit.evidence.append("signed head \(local.store.signer.headPath): entry \(head.seq) of \(last)")
                if head.seq < last {
                    audit.status = .fail
                    audit.fix = "the signed head stopped advancing: check that every writer can write \(local.store.signer.headPath)"
                }
            } else if last > 0 {
                audit.status = .fail
                audit.evidence.append("no signed head at \(local.store.signer.headPath)")
                audit.fix = "restore the signed head, or find out why it is gone; entries cut off the end go unseen without it"
            }
        }
        if let policy {
            audit.evidence.append(
                policy.notify.isEmpty
                    ? "no notify: sinks (events reach no pager or SIEM; `audit tail -f --format cef|syslog` can feed one)"
                    : "notify: \(policy.notify.map(\.name).joined(separator: ", "))")
        }
        items.append(audit)

        // 7. Blast-radius limits.
        var blast = Item(number: 7, title: "Blast-radius limits", status: .pass, evidence: [], fix: nil, article: "Art. 15 (robustness)")
        if let policy {
            if let magnitude = policy.changeMagnitude {
                blast.evidence.append(
                    "change magnitude: at most \(magnitude.maxResourcesAffected.map { JSONWriter.formatNumber($0) } ?? "any") resources, $\(magnitude.maxCostImpactUSD.map { JSONWriter.formatNumber($0) } ?? "any") per action"
                )
            } else {
                blast.status = .fail
                blast.evidence.append("no agent_constraints.change_magnitude")
            }
            blast.evidence.append("rate limits: \(policy.limits.count); daily budget: \(policy.budget == nil ? "none" : "set")")
            if policy.limits.isEmpty && policy.budget == nil {
                blast.status = .fail
            }
            if blast.status == .fail { blast.fix = "set agent_constraints.change_magnitude and limits: (or budgets:) in the policy" }
        } else {
            blast.status = .unknown
            blast.evidence.append("the daemon's limits are not visible to clients")
            blast.fix = "read them where the daemon runs: holdpoint policy explain --policy <the daemon's policy file>"
        }
        items.append(blast)

        // 8. Environment isolation, and the hooks on this machine.
        var isolation = Item(number: 8, title: "Environment isolation", status: .pass, evidence: [], fix: nil, article: "Art. 9 (risk management)")
        if let policy { isolation.evidence.append("production environments: \(policy.productionEnvironments.sorted().joined(separator: ", "))") }
        let stagingTier = tier("kubectl delete deployment api -n staging", env: "staging")
        isolation.evidence.append("the same delete in staging: \(stagingTier?.rawValue ?? "?") (production: \(deleteTier?.rawValue ?? "?"))")
        let hooks = installedHooks()
        if hooks.isEmpty {
            isolation.status = .fail
            isolation.evidence.append("no agent client on this machine has the Holdpoint hook")
            isolation.fix = "holdpoint setup claude-code (or codex, gemini, cursor)"
        }
        for hook in hooks {
            isolation.evidence.append(
                "\(hook.path): \(hook.command.contains("--env") ? "reports its environment" : "no --env (counted as production, the strictest)"); answers: \(hook.answers ? "yes" : "NO")"
                    + (hook.client == "codex" ? " (Codex runs it only once trusted in /hooks, which Holdpoint cannot see)" : ""))
            if !hook.answers {
                isolation.status = .fail
                isolation.fix = "the hook in \(hook.path) does not answer: run `holdpoint setup` again"
            }
            if let off = hook.switchedOff {
                isolation.status = .fail
                isolation.evidence.append("Codex does not run hooks: \(off)")
                isolation.fix = "remove that line: \(off)"
            }
        }
        items.append(isolation)

        let failed = items.contains { $0.status == .fail }
        if json {
            Terminal.print(
                JSONWriter.pretty(
                    .object([
                        ("passed", .bool(!failed)), ("mode", .string(socketMode ? "socket" : "file")), ("checks", .array(items.map(\.json))),
                        ("hooks", .array(hooks.map { .object([("file", .string($0.path)), ("client", .string($0.client)), ("answers", .bool($0.answers))]) })),
                    ])))
        } else {
            for item in items {
                Terminal.print("\(item.status.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(item.number). \(item.title)   [\(item.article)]")
                for line in item.evidence { Terminal.print("           \(SafeText.escape(line))") }
                if let fix = item.fix, item.status != .pass { Terminal.print("           fix: \(fix)") }
            }
            Terminal.print(failed ? "\nNOT READY: \(items.filter { $0.status == .fail }.count) check(s) failed" : "\nready: no check failed (\(items.filter { $0.status == .unknown }.count) unknown)")
        }
        if failed { throw ExitCode(1) }
    }

    /// Who may write a file, from its owner, group and mode (root aside).
    struct Writers {
        var users: [String]
        var everyone: Bool
        var description: String { everyone ? "every user (mode allows others to write)" : users.isEmpty ? "root only" : users.joined(separator: ", ") }
    }

    static func writers(of path: String) -> Writers? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let mode = info.st_mode
        if mode & S_IWOTH != 0 { return Writers(users: [], everyone: true) }
        var users: [String] = []
        if mode & S_IWUSR != 0, let owner = getpwuid(info.st_uid) { users.append(String(cString: owner.pointee.pw_name)) }
        if mode & S_IWGRP != 0, let group = getgrgid(info.st_gid) {
            let name = String(cString: group.pointee.gr_name)
            var members: [String] = []
            var member = group.pointee.gr_mem
            while let pointer = member?.pointee {
                members.append(String(cString: pointer))
                member = member?.advanced(by: 1)
            }
            // Users whose primary group it is.
            setpwent()
            while let entry = getpwent() {
                if entry.pointee.pw_gid == info.st_gid { members.append(String(cString: entry.pointee.pw_name)) }
            }
            endpwent()
            let others = Set(members).subtracting(users).sorted()
            users.append("group \(name)" + (others.isEmpty ? "" : " (\(others.joined(separator: ", ")))"))
        }
        return Writers(users: users, everyone: false)
    }

    struct InstalledHook {
        var client: String
        var path: String
        var command: String
        var answers: Bool
        /// What keeps the client from calling it at all (Codex: hooks switched off).
        var switchedOff: String? = nil
    }

    /// The clients' settings files (user and this directory's project) that hold a Holdpoint
    /// hook, and whether each hook answers a read as the client would call it.
    func installedHooks() -> [InstalledHook] {
        let home = Environment.value("HOME") ?? NSHomeDirectory()
        let directory = FileManager.default.currentDirectoryPath
        var found: [InstalledHook] = []
        for client in ClientSetup.clients {
            for scope in ["user", "project"] {
                let setup = ClientSetup(client: client, holdSeconds: 0, command: "")
                let path = setup.path(scope: scope, home: home, directory: directory)
                if let text = try? String(contentsOfFile: path, encoding: .utf8), let editor = try? JSONSourceEditor(text),
                    found.contains(where: { $0.path == path }) == false
                {
                    // One line per file: its first Holdpoint hook, called as the client would.
                    let ours = setup.entries.lazy.flatMap { editor.root.member("hooks")?.value.member($0.event)?.value.value.arrayValue ?? [] }.first(where: ClientSetup.isOurs)
                    if let element = ours {
                        let command = element["command"]?.stringValue ?? element["hooks"]?.arrayValue?.compactMap { $0["command"]?.stringValue }.first ?? ""
                        found.append(InstalledHook(client: client, path: path, command: command, answers: answers(command, setup: setup, directory: directory)))
                    }
                }
                // Codex may keep its hooks inline in config.toml instead.
                let toml = setup.codexConfigPath(scope: scope, home: home, directory: directory)
                if client == "codex", found.contains(where: { $0.path == toml }) == false, let text = try? String(contentsOfFile: toml, encoding: .utf8),
                    let command = (try? CodexConfig(text))?.ourCommands.first
                {
                    found.append(InstalledHook(client: client, path: toml, command: command, answers: answers(command, setup: setup, directory: directory)))
                }
            }
        }
        // Codex's own switch, in the config.toml of the user's layer or this project's.
        for index in found.indices where found[index].client == "codex" {
            let directory = (found[index].path as NSString).deletingLastPathComponent
            if let text = try? String(contentsOfFile: directory + "/config.toml", encoding: .utf8), let off = (try? CodexConfig(text))?.hooksSwitchedOff {
                found[index].switchedOff = "\(directory)/config.toml line \(off.line) sets \(off.path.joined(separator: ".")) = false"
            }
        }
        return found
    }

    /// Calls `command` (without its hold) with a read, as the client would.
    func answers(_ command: String, setup: ClientSetup, directory: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command.replacingOccurrences(of: #" --hold [0-9]+"#, with: " --hold 0", options: .regularExpression)]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        // A hook that exits without reading (a binary gone) must not take us down: EPIPE, not SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        try? input.fileHandleForWriting.write(contentsOf: Data(setup.input("ls", directory: directory).utf8))
        try? input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 && !String(decoding: data, as: UTF8.self).contains("\"deny\"")
    }
}
