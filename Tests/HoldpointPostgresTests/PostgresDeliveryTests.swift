import Foundation
import HoldpointCore
import HoldpointNotify
import HoldpointPostgres
import HoldpointStore
import HoldpointTestSupport
import Testing

/// Paging from a fleet: every daemon sharing the queue runs the policy's sinks, and one at a
/// time delivers each, so the on-call reviewer is paged once per event, not once per daemon.
@Suite(.enabled(if: TestDatabase.available, "needs HOLDPOINT_TEST_POSTGRES (.ci/postgres start DIR)"))
struct PostgresDeliveryTests {
    @Test func aSecondDaemonLeavesASinkToTheOneDeliveringIt() async throws {
        let receiver = try HTTPReceiver(holdFirst: true)
        let settings = try TestDatabase.settings()
        let directory = try Scratch.directory("hp-pg-notify")
        let a = try TestDatabase.store(settings, in: directory, name: "a")
        let b = try TestDatabase.store(settings, in: directory, name: "b")
        defer {
            a.close()
            b.close()
        }
        // A patient sink: on a busy machine the held delivery must not time out (and be sent
        // again) before the test lets it finish.
        let sink = NotifySink(name: "oncall", target: .webhook(url: receiver.url + "/hook", urlFile: nil, format: .generic), events: [.gated], timeout: 600)
        let deliversFirst = Notifier(store: a, sinks: [sink])
        let other = Notifier(store: b, sinks: [sink])
        try deliversFirst.prepareCursors()
        func gate(_ command: String) throws -> String {
            try a.submit(
                try ActionRequest.shellCommand(command, environment: "production", agentID: "bot-1", mode: .supervised), classification: Samples.gatedDelete,
                approvals: ApprovalRules(), submitter: Samples.carol, timeout: nil, gateway: .none, planKey: nil
            ).id
        }
        let first = try gate("rm -rf /srv/a")

        // One daemon is in the middle of paging (the receiver has not answered yet)...
        let delivering = Task { await deliversFirst.runOnce() }
        // (Observed, however long a busy machine takes to start the task: the other daemon
        // must not run before the first is holding the sink.)
        let arrived = await receiver.arrived(300) { $0.count >= 1 }
        try #require(arrived.count == 1, "the first daemon's page never arrived")
        // ...so the other leaves the sink alone, instead of paging the same event again.
        _ = await other.runOnce()
        receiver.releaseFirst()
        _ = await delivering.value
        func paged() -> [String] { receiver.requests.compactMap { ($0.json as? [String: Any])?["id"] as? String } }
        #expect(paged() == [first])

        // The first daemon stops (its claim given back): the other carries on at once.
        await deliversFirst.close()
        let second = try gate("rm -rf /srv/b")
        _ = await other.runOnce()
        #expect(paged() == [first, second])
        await other.close()
    }
}
