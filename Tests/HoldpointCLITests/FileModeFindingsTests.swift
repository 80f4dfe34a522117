import Foundation
import GRDB
import HoldpointCore
import HoldpointStore
import Testing

/// The file-mode findings of the probe that asked for `holdpoint serve`, each reproduced
/// through the real binary on a real queue file.
@Suite(.serialized) struct FileModeFindingsTests {
    @Test func readingCommandsOnAMissingQueueSaySoAndCreateNothing() throws {
        let env = try QueueEnv()
        let typo = env.directory.appendingPathComponent("queu.sqlite").path
        for arguments in [["list"], ["audit", "verify"], ["audit", "export"], ["decide", "01M8GXR7D0GBH0DVBYNP49CZ3E", "approve"]] {
            let result = try CLI.run(arguments + ["--queue", typo])
            #expect(result.status == 69, "\(arguments)")
            #expect(result.stderr.contains("no queue at"))
        }
        #expect(!FileManager.default.fileExists(atPath: typo))
        #expect(!FileManager.default.fileExists(atPath: typo + ".audit-key"))
    }

    @Test func anApprovalWrittenIntoTheTablesAloneIsNeitherUsedNorVerified() throws {
        let env = try QueueEnv()
        let (status, id) = try env.submit("kubectl delete deployment api -n prod")
        #expect(status == 5)
        // The forger can write the file but has no signing key: it edits the tables only.
        let queue = try DatabaseQueue(path: env.queue)
        try queue.write { db in
            try db.execute(sql: "UPDATE requests SET state = 'approved', closed_by = 'mallory', closed_at = CAST(strftime('%s', 'now') AS REAL) WHERE id = ?", arguments: [id])
            try db.execute(
                sql: "INSERT INTO votes (request_id, reviewer, via, verdict, reason, at, action_sha256) SELECT id, 'mallory', 'local', 'approve', 'x', 1, action_sha256 FROM requests WHERE id = ?",
                arguments: [id])
        }
        let verify = try env.run(["audit", "verify"])
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("request \(id)"))
        let exec = try env.run(["exec", "--approval", id, "--", "kubectl", "delete", "deployment", "api", "-n", "prod"])
        #expect(exec.status == 2)
        #expect(exec.stderr.contains("no approval of it is in the audit log"))
    }

    @Test func aMissingHeadFailsVerificationUnlessToldWhy() throws {
        let env = try QueueEnv()
        _ = try env.submit("ls -la")
        #expect(try env.run(["audit", "verify"]).status == 0)
        try FileManager.default.removeItem(atPath: env.queue + ".audit-head")
        let verify = try env.run(["audit", "verify"])
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("is missing"))
        #expect(try env.run(["audit", "verify", "--no-head"]).status == 0)
    }

    @Test func aQueueWhoseLogWasDeletedIsRefusedNotStartedAfresh() throws {
        let env = try QueueEnv()
        for i in 0..<3 { _ = try env.submit("kubectl delete pod p\(i) -n prod") }
        try FileManager.default.removeItem(atPath: env.queue + "-wal")
        try? FileManager.default.removeItem(atPath: env.queue + "-shm")
        let listed = try env.run(["list"])
        #expect(listed.status == 69)
        #expect(listed.stderr.contains("was reset or truncated"))
        let submitted = try env.submit("ls")
        #expect(submitted.status == 69)
    }

    @Test func aQueuePathThatIsASymlinkIsResolved() throws {
        let env = try QueueEnv()
        let link = env.directory.appendingPathComponent("link.sqlite").path
        _ = try env.submit("ls")  // creates the real queue
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: env.queue)
        let result = try CLI.run(["submit", "--command", "ls -la", "--queue", link, "--policy", env.policy, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try env.list().count == 2)
        #expect(try env.run(["audit", "verify"]).status == 0)
    }

    @Test func anApprovalNotUsedInTimeExpires() throws {
        let env = try QueueEnv(policy: "approvals:\n  allow_self_approval: true\n  valid_for: 1s\n")
        let store = try QueueStore(path: env.queue)
        let request = try ActionRequest.shellCommand("kubectl delete deployment api -n prod", environment: "production", agentID: "a", mode: .autonomous)
        let policy = try PolicyLoader.load(policyFile: env.policy)
        let classification = Classifier(policy: policy, protection: .none).classify(request)
        let me = Identity(user: "someone", via: "test")
        let stored = try store.submit(request, classification: classification, approvals: policy.approvals, submitter: me, now: 1_000)
        _ = try store.decide(id: stored.id, verdict: .approve, reviewer: Identity(user: "rev", via: "test"), reason: "ok", now: 1_010)
        #expect(try store.reusable(agent: "a", environment: "production", actionSHA256: request.actionSHA256, now: 1_012) == nil)
        guard case .refused(let why) = try store.consume(id: stored.id, actionSHA256: request.actionSHA256, consumer: "exec", by: me, now: 1_012) else {
            Issue.record("a stale approval was used")
            return
        }
        #expect(why.contains("expired unused"))
    }

    /// Holds `path` locked from another process until the returned process is killed:
    /// with `flock` through a read-only descriptor (what anyone who can read it can do), or
    /// with a POSIX write lock (what a process that can write it can do).
    func holdLock(_ path: String, writeLock: Bool, ready: URL) throws -> Process {
        let script =
            writeLock
            ? "import fcntl,sys,time\nf=open(sys.argv[1],'r+')\nfcntl.lockf(f,fcntl.LOCK_EX)\nopen(sys.argv[2],'w').close()\ntime.sleep(120)\n"
            : "import fcntl,sys,time\nf=open(sys.argv[1],'r')\nfcntl.flock(f,fcntl.LOCK_EX)\nopen(sys.argv[2],'w').close()\ntime.sleep(120)\n"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path, ready.path]
        try process.run()
        for _ in 0..<500 where !FileManager.default.fileExists(atPath: ready.path) { usleep(10_000) }
        return process
    }

    @Test func aReaderWithAnFlockCannotStallWriters() throws {
        let env = try QueueEnv()
        let holder = try holdLock(env.queue + ".lock", writeLock: false, ready: env.directory.appendingPathComponent("ready"))
        defer {
            kill(holder.processIdentifier, SIGKILL)
            holder.waitUntilExit()
        }
        let started = Date()
        let (status, _) = try env.submit("ls -la")
        #expect(status == 0)
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func aStuckLockHolderFailsWritersClosedButNeverStallsTheKillSwitch() throws {
        let env = try QueueEnv()
        let holder = try holdLock(env.queue + ".lock", writeLock: true, ready: env.directory.appendingPathComponent("ready"))
        defer {
            kill(holder.processIdentifier, SIGKILL)
            holder.waitUntilExit()
        }
        let halt = try env.run(["halt", "--all", "--reason", "incident"])
        #expect(halt.status == 0, "\(halt.stderr)")
        let submit = try env.run(["submit", "--command", "ls -la"])
        #expect(submit.status == 69)
        #expect(submit.stderr.contains("held by another process"))
        kill(holder.processIdentifier, SIGKILL)  // it inherits the test runner's ignored SIGTERM
        holder.waitUntilExit()
        #expect(try env.submit("ls -la").status == 4)  // halted, recorded
        #expect(try env.run(["audit", "verify"]).status == 0)
    }

    @Test func inASharedDirectoryTheHeadIsGroupWritable() throws {
        let env = try QueueEnv()
        let shared = env.directory.appendingPathComponent("team")
        try FileManager.default.createDirectory(at: shared, withIntermediateDirectories: true)
        chmod(shared.path, 0o2770)
        let queue = shared.appendingPathComponent("queue.sqlite").path
        let result = try CLI.run(["submit", "--command", "ls", "--queue", queue, "--policy", env.policy])
        #expect(result.status == 0, "\(result.stderr)")
        var info = stat()
        #expect(stat(queue + ".audit-head", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o660)
    }

    @Test func aHeadThatCannotBeAdvancedIsAnErrorNotSilence() throws {
        let env = try QueueEnv()
        let head = env.directory.appendingPathComponent("head-is-a-directory")
        try FileManager.default.createDirectory(at: head, withIntermediateDirectories: true)
        let result = try env.run(["submit", "--command", "ls", "--audit", head.path])
        #expect(result.status == 69)
        #expect(result.stderr.contains("signed audit head"))
    }
}

/// `holdpoint list` as a reviewer reads it in a terminal (issue 13, defect 11).
struct ListOutputTests {
    @Test func theActionIsPrintedWholeAndCutColumnsSaySo() throws {
        let env = try QueueEnv()
        let command = "aws iam attach-role-policy --role-name deploy-bot-production-eu --policy-arn arn:aws:iam::aws:policy/AdministratorAccess"
        let submitted = try env.run(["submit", "--command", command, "--agent", "a-very-long-agent-identifier-7f3"])
        #expect(submitted.status == 5)
        let listed = try env.run(["list"])
        #expect(listed.stdout.contains(command))
        #expect(listed.stdout.contains("a-very-long-ag… "))
    }
}

/// The console in terminals it cannot draw on (issue 13, defect 12), on a real pty.
struct ConsoleTerminalTests {
    @Test(arguments: [("dumb", "cannot place the cursor"), ("no-such-terminal-xyz", "not in this machine's terminfo")])
    func aTerminalTheConsoleCannotUseIsRefusedByName(term: String, message: String) throws {
        let env = try QueueEnv()
        let command = "\(CLI.binary.path) review --queue \(env.queue)"
        // Bounded: a console that draws anyway would wait for keys forever.
        let result = try CLI.run(
            ["20", "/usr/bin/script", "-qec", command, "/dev/null"], environment: ["TERM": term],
            executable: URL(fileURLWithPath: "/usr/bin/timeout"))
        #expect(result.status == 64)
        #expect(result.stdout.contains(message))
        #expect(!result.stdout.contains("Error opening terminal"))
    }
}
