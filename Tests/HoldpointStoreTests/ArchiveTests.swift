import Foundation
import GRDB
import HoldpointCore
import Testing

@testable import HoldpointStore

/// Retention: decided history leaves the queue for sealed segments, and `audit verify`
/// still walks one chain from the first entry ever written to the last.
@Suite struct ArchiveTests {
    /// Ten requests decided long ago, one still pending from then, and recent traffic.
    func history(_ f: Fixture) throws -> (decided: [StoredRequest], pending: StoredRequest, recent: [StoredRequest]) {
        var patient = ApprovalRules()
        patient.timeouts[.gated] = 1e9
        var decided: [StoredRequest] = []
        for i in 0..<10 {
            let r = try f.gated(patient, now: 1_000 + Double(i), command: "rm -rf /srv/old-\(i)")
            _ = try f.store.decide(id: r.id, verdict: i % 2 == 0 ? .approve : .reject, reviewer: alice, reason: "old", now: 2_000 + Double(i))
            decided.append(r)
        }
        let classification = Classification(
            tier: .gated, operationClass: .delete, reasons: [Reason(rule: "test", message: "gated", tier: .gated)],
            destructive: true, irreversible: false, dataLoss: false)
        let pending = try f.store.submit(try f.request("rm -rf /srv/slow"), classification: classification, approvals: patient, submitter: f.agent, now: 3_000)
        let recent = try (0..<3).map { try f.gated(patient, now: 100_000 + Double($0), command: "rm -rf /srv/new-\($0)") }
        return (decided, pending, recent)
    }

    func entryCount(_ f: Fixture) throws -> Int {
        try f.store.auditEntries().count
    }

    @Test func decidedHistoryMovesOutAndVerifyWalksOneChain() throws {
        let f = try Fixture()
        let (decided, pending, recent) = try history(f)
        let before = try f.store.verifyAudit()
        #expect(before.intact)
        let liveBefore = try entryCount(f)

        let segment = f.directory.appendingPathComponent("2026-01.hparchive").path
        let report = try #require(try f.store.archive(before: 50_000, to: segment, by: carol, batchEntries: 7, now: 200_000))
        #expect(report.requests == decided.count)
        #expect(report.firstSeq == 1)
        // Everything before the pending request's first entry, and nothing after it.
        let firstPendingEntry = try #require(try f.store.auditEntries(requestID: pending.id).first?.seq)
        #expect(report.lastSeq == firstPendingEntry - 1)

        let left = Set(try f.store.list().map(\.id))
        #expect(left == Set([pending.id] + recent.map(\.id)))
        for r in decided { #expect(try f.store.request(id: r.id) == nil) }
        // The live log keeps what was not moved, plus the entry that records the archiving.
        #expect(try entryCount(f) == liveBefore - report.entries + 1)
        #expect(try f.store.auditEntries().last?.event == "archived")

        // One chain: the segment's entries and the live ones, all checked.
        let after = try f.store.verifyAudit()
        #expect(after.intact, "\(after.problem ?? "")")
        #expect(after.entries == before.entries + 1)
        // Sealed: read-only, and the queue knows where it is.
        var info = stat()
        #expect(stat(segment, &info) == 0 && info.st_mode & 0o777 == 0o440)
        #expect(try f.store.archiveSegments().map(\.path) == [segment])
        // What the agents had done is still known: an approved delete is no first time.
        #expect(try f.store.establishedActions().contains("bot-1\u{1F}delete"))
    }

    @Test func aSecondSegmentContinuesTheFirst() throws {
        let f = try Fixture()
        let (_, pending, recent) = try history(f)
        _ = try #require(try f.store.archive(before: 50_000, to: f.directory.appendingPathComponent("a").path, by: carol, now: 200_000))
        // The slow request is decided; more history ages past the cutoff.
        for r in [pending] + recent { _ = try f.store.decide(id: r.id, verdict: .reject, reviewer: alice, reason: "late", now: 150_000) }
        let second = try #require(try f.store.archive(before: 300_000, to: f.directory.appendingPathComponent("b").path, by: carol, now: 400_000))
        let segments = try f.store.archiveSegments()
        #expect(segments.count == 2)
        #expect(segments[1].firstSeq == segments[0].lastSeq + 1)
        #expect(second.requests == 4)  // the slow one and the three recent ones
        #expect(try f.store.list().isEmpty)
        let report = try f.store.verifyAudit()
        #expect(report.intact, "\(report.problem ?? "")")
        // Nothing that old is left to move: no third segment, and no empty file left behind.
        let third = f.directory.appendingPathComponent("c").path
        #expect(try f.store.archive(before: 100_000, to: third, by: carol, now: 400_000) == nil)
        #expect(!FileManager.default.fileExists(atPath: third))
    }

    @Test func anEditedOrMissingSegmentFailsVerification() throws {
        let f = try Fixture()
        _ = try history(f)
        let segment = f.directory.appendingPathComponent("seg").path
        _ = try #require(try f.store.archive(before: 50_000, to: segment, by: carol, now: 200_000))

        chmod(segment, 0o640)
        let archive = try DatabaseQueue(path: segment)
        try archive.write { db in try db.execute(sql: "UPDATE audit SET actor = 'mallory' WHERE seq = 5") }
        try archive.close()
        let edited = try f.store.verifyAudit()
        #expect(!edited.intact)
        #expect(edited.firstBadSeq == 5)
        #expect(edited.problem?.contains(segment) == true)

        try FileManager.default.removeItem(atPath: segment)
        let missing = try f.store.verifyAudit()
        #expect(!missing.intact)
        #expect(missing.firstBadSeq == 1)
        #expect(missing.problem?.contains("cannot be read") == true)
    }

    @Test func aSegmentIsNeverOverwrittenAndPendingHistoryStays() throws {
        let f = try Fixture()
        let existing = f.directory.appendingPathComponent("taken").path
        FileManager.default.createFile(atPath: existing, contents: Data("keep".utf8))
        #expect(throws: StoreError.self) { try f.store.archive(before: 50_000, to: existing, by: carol) }
        #expect(try String(contentsOfFile: existing, encoding: .utf8) == "keep")

        // The oldest request is still waiting: nothing before it may leave.
        let waiting = try f.gated(now: 1_000)
        _ = try f.gated(now: 1_001)
        #expect(try f.store.archive(before: 50_000, to: f.directory.appendingPathComponent("none").path, by: carol, now: 200_000) == nil)
        #expect(try f.store.request(id: waiting.id)?.state == .pending)
    }
}

/// `audit verify --since-checkpoint`: a daily check of a large log resumes where the last
/// intact verification got to, and still catches what changed after it or at it.
@Suite struct ResumedVerificationTests {
    @Test func resumesAfterTheLastVerifiedCheckpointAndChecksOnlyWhatCameAfter() throws {
        let f = try Fixture()
        for i in 0..<5 { _ = try f.gated(now: 1_000 + Double(i), command: "rm -rf /srv/\(i)") }
        let full = try f.store.verifyAudit()
        let point = try #require(full.verifiedThrough)
        #expect(full.resumedAfter == nil)
        #expect(point.seq == Int64(full.entries))

        for i in 0..<2 { _ = try f.gated(now: 2_000 + Double(i), command: "rm -rf /srv/new-\(i)") }
        let resumed = try f.store.verifyAudit(since: point)
        #expect(resumed.intact, "\(resumed.problem ?? "")")
        #expect(resumed.resumedAfter == point.seq)
        #expect(resumed.entries == (try f.store.auditEntries(afterSeq: point.seq).count))
        #expect((resumed.verifiedThrough?.seq ?? 0) > point.seq)
    }

    @Test func aRewriteAtOrAfterThePointIsStillCaught() throws {
        let f = try Fixture()
        for i in 0..<3 { _ = try f.gated(now: 1_000 + Double(i), command: "rm -rf /srv/\(i)") }
        let point = try #require(try f.store.verifyAudit().verifiedThrough)
        _ = try f.gated(now: 2_000, command: "rm -rf /srv/later")

        // An entry after the point edited: the resumed walk rehashes it.
        try f.raw("UPDATE audit SET actor = 'mallory' WHERE seq = \(point.seq + 1)")
        let after = try f.store.verifyAudit(since: point)
        #expect(!after.intact)
        #expect(after.firstBadSeq == point.seq + 1)

        // The point itself replaced (a rewritten chain): refused, not trusted.
        try f.raw("UPDATE audit SET hash = '\(String(repeating: "0", count: 64))' WHERE seq = \(point.seq)")
        let at = try f.store.verifyAudit(since: point)
        #expect(!at.intact)
        #expect(at.firstBadSeq == point.seq)
        #expect(at.problem?.contains("earlier verification") == true)
    }
}
