import Foundation
import HoldpointConsole
import HoldpointCore
import HoldpointGate
import HoldpointStore
import HoldpointTestSupport
import Testing

@testable import holdpoint

/// The console's mirror of the queue follows the audit log instead of rereading the queue:
/// after any mix of changes it must show exactly what a fresh full read shows.
@Suite struct QueueMirrorTests {
    struct Fixture {
        let store: QueueStore
        let service: LocalQueue
        let reviewer = Identity(user: "rita", via: "tty")
        let agent = Identity(user: "agent", via: "hook")

        init() throws {
            let directory = try Scratch.directory()
            store = try QueueStore(path: directory.appendingPathComponent("queue.sqlite").path)
            service = LocalQueue(store: store, policy: try PolicyLoader.load(policyFile: nil, environment: [:]), identity: reviewer, protection: { _ in .none })
        }

        @discardableResult
        func submit(_ command: String, tier: Tier, agentID: String = "bot", timeout: Double? = nil) throws -> StoredRequest {
            let request = try ActionRequest.shellCommand(command, environment: "production", agentID: agentID, mode: .supervised)
            let classification = Classification(
                tier: tier, operationClass: tier == .gated ? .delete : .patch,
                reasons: [Reason(rule: "test", message: "test", tier: tier)], destructive: false, irreversible: false, dataLoss: false)
            return try store.submit(
                request, classification: classification, approvals: ApprovalRules(), submitter: agent,
                timeout: timeout ?? 600)
        }

        /// What a console opened now would show.
        func fresh() throws -> [StoredRequest] { try QueueMirror(source: ServiceReviewSource(service: service)).snapshot(now: 0).requests }
    }

    @Test func followsSubmissionsDecisionsExpiriesAndHaltsWithoutRereading() throws {
        let f = try Fixture()
        let first = try f.submit("rm -rf /srv/a", tier: .gated)
        try f.submit("sed -i s/a/b/ conf", tier: .supervised)
        let mirror = QueueMirror(source: ServiceReviewSource(service: f.service))
        _ = try mirror.snapshot(now: 0)
        #expect(mirror.lastRefreshWasFull)

        // A decision, a new gated request, an expiry and a halt, each committed by others.
        _ = try f.store.decide(id: first.id, verdict: .approve, reviewer: f.reviewer, reason: "ok")
        let second = try f.submit("rm -rf /srv/b", tier: .gated, agentID: "other")
        let overdue = try f.submit("rm -rf /srv/c", tier: .gated, timeout: -1)
        try f.store.expireDue()
        _ = try f.store.halt(agent: "other", reason: "drill", by: f.reviewer)

        let followed = try mirror.snapshot(now: 0)
        #expect(!mirror.lastRefreshWasFull)
        #expect(followed.requests == (try f.fresh()))
        #expect(followed.requests.first { $0.id == first.id }?.state == .approved)
        #expect(followed.requests.first { $0.id == second.id }?.state == .halted)
        #expect(followed.requests.first { $0.id == overdue.id }?.state == .expired)
        #expect(followed.haltedAgents == ["other"])
        // The approved delete taught the queue that bot deletes: no FIRST TIME for the next one.
        let third = try f.submit("rm -rf /srv/d", tier: .gated)
        let after = try mirror.snapshot(now: 0)
        #expect(!after.firstTime.contains(third.id))
        #expect(after.firstTime.isEmpty)
    }

    @Test func keepsEveryPendingRequestAndOnlyTheNewestOfTheRest() throws {
        let f = try Fixture()
        let waiting = try f.submit("rm -rf /srv/keep", tier: .gated)
        let mirror = QueueMirror(source: ServiceReviewSource(service: f.service))
        _ = try mirror.snapshot(now: 0)
        for i in 0..<(QueueMirror.recentCount + 20) { try f.submit("sed -i s/\(i)/x/ conf", tier: .supervised) }
        let followed = try mirror.snapshot(now: 0)
        #expect(!mirror.lastRefreshWasFull)
        #expect(followed.requests.contains { $0.id == waiting.id })
        #expect(followed.requests.filter { $0.state != .pending }.count == QueueMirror.recentCount)
        #expect(Set(followed.requests.map(\.id)).isSuperset(of: Set(try f.fresh().filter { $0.state != .pending }.map(\.id))))
    }

    @Test func readsEverythingAgainAfterALongGap() throws {
        let f = try Fixture()
        let mirror = QueueMirror(source: ServiceReviewSource(service: f.service))
        _ = try mirror.snapshot(now: 0)
        for i in 0..<(QueueMirror.catchUpLimit / 2 + 1) { try f.submit("sed -i s/\(i)/x/ conf", tier: .supervised) }
        let followed = try mirror.snapshot(now: 0)
        #expect(mirror.lastRefreshWasFull)
        #expect(followed.requests == (try f.fresh()))
    }
}
