import Foundation
import HoldpointTestSupport
import Testing

@testable import HoldpointServer

struct PeerTests {
    static let accounts = LocalAccounts(
        passwd: """
            root:x:0:0:root:/root:/bin/bash
            # a comment
            alice:x:1001:1001::/home/alice:/bin/sh
            bot:x:1002:1002::/srv/bot:/usr/sbin/nologin
            broken line
            """,
        group: """
            root:x:0:
            alice:x:1001:
            bot:x:1002:
            holdpoint-reviewers:x:2001:alice,carol
            holdpoint-clients:x:2002:bot,alice
            """)

    @Test func aCallerIsNamedWithEveryGroupItBelongsTo() {
        let alice = Peer.resolve(uid: 1001, gid: 1001, pid: 42, accounts: Self.accounts)
        #expect(alice.user == "alice")
        #expect(alice.home == "/home/alice")
        #expect(alice.groups == ["alice", "holdpoint-clients", "holdpoint-reviewers"])
        let bot = Peer.resolve(uid: 1002, gid: 1002, pid: 43, accounts: Self.accounts)
        #expect(bot.groups == ["bot", "holdpoint-clients"])
        #expect(bot.identity(claimedOrigin: "ssh 10.0.0.7").via == "socket pid 43, claimed ssh 10.0.0.7")
    }

    @Test func anUnknownCallerIsItsNumbersAndNobodyElse() {
        let stranger = Peer.resolve(uid: 4242, gid: 2001, pid: 7, accounts: Self.accounts)
        #expect(stranger.user == "uid-4242")
        // Its primary group is what the kernel said, named: a local group can still admit it.
        #expect(stranger.groups == ["holdpoint-reviewers"])
        #expect(Peer.resolve(uid: 4242, gid: 9999, pid: 7, accounts: Self.accounts).groups == ["gid-9999"])
    }

    /// The daemon parses the account files again only when one changed, and then at once:
    /// a reviewer added with `usermod -aG` (which replaces the file) or by an edit in place
    /// is a reviewer on the next connection, without a restart.
    @Test func anAccountChangeIsSeenOnTheNextConnection() throws {
        let dir = try Scratch.directory("hp-accounts").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let passwd = dir + "/passwd"
        let group = dir + "/group"
        try "alice:x:1001:1001::/home/alice:/bin/sh\n".write(toFile: passwd, atomically: false, encoding: .utf8)
        try "alice:x:1001:\nreviewers:x:2001:carol\n".write(toFile: group, atomically: false, encoding: .utf8)
        let cache = AccountsCache(passwd: passwd, group: group)
        func aliceGroups() -> [String] { Peer.resolve(uid: 1001, gid: 1001, pid: 1, accounts: cache.current()).groups }
        #expect(aliceGroups() == ["alice"])
        #expect(aliceGroups() == ["alice"])

        // Replaced, as useradd and usermod do: a new file under the old name.
        try "alice:x:1001:\nreviewers:x:2001:carol,alice\n".write(toFile: group, atomically: true, encoding: .utf8)
        #expect(aliceGroups() == ["alice", "reviewers"])

        // Edited in place (same inode), here to another length; an edit to the same length is
        // seen by its modification time (kernel timestamps are too coarse to test that here).
        let handle = try #require(FileHandle(forWritingAtPath: group))
        try handle.seek(toOffset: 0)
        try handle.write(contentsOf: Data("alice:x:1001:\nreviewers:x:2001:carol,bobby,dave\n".utf8))
        try handle.close()
        #expect(aliceGroups() == ["alice"])
    }
}
