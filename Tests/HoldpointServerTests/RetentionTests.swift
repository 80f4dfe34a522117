import Foundation
import HoldpointCore
import HoldpointStore
import HoldpointTestSupport
import Testing

@testable import HoldpointServer

/// `retention:` in the daemon's policy: the daemon archives on its own, into its directory.
@Suite struct RetentionTests {
    @Test func theDaemonMovesHistoryPastTheWindowIntoItsRetentionDirectory() async throws {
        let directory = try Scratch.directory("hp-retention")
        let store = try QueueStore(path: directory.appendingPathComponent("queue.sqlite").path)
        let day = 86_400.0
        let c = Classification.plain(.supervised, .patch)
        // One request a day for ten days, the last one today.
        let today = Clock.now()
        for d in 0..<10 {
            let request = try ActionRequest.shellCommand("sed -i s/\(d)/x/ conf", environment: "production", agentID: "bot", mode: .supervised)
            _ = try store.submit(request, classification: c, approvals: ApprovalRules(), submitter: Identity(user: "agent", via: "local"), now: today - Double(9 - d) * day)
        }
        var policy = try PolicyLoader.load(policyFile: nil, environment: [:])
        policy.retention = RetentionRules(archiveAfter: 3 * day + 60)
        let daemon = Daemon(store: store, policy: policy) { _, _ in .none }
        defer { Task { await daemon.shutDown() } }

        let line = try #require(await daemon.archiveDue(now: today))
        #expect(line.hasPrefix("retention: archived 6 requests"))
        // Four days' requests stay (days 6…9), the older six are in one segment beside the queue.
        #expect(try store.list().count == 4)
        let segments = try store.archiveSegments()
        #expect(segments.count == 1)
        #expect(segments[0].path.hasPrefix(store.path + ".archive/holdpoint-archive-"))
        #expect(try store.verifyAudit().intact)
        // The window has not moved: the next look finds nothing to do.
        #expect(await daemon.archiveDue(now: today + 1) == nil)
        #expect(try store.archiveSegments().count == 1)
    }
}
