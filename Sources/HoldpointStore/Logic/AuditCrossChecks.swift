/// The tables checked against the log, in SQL both stores speak: every request has its
/// `submitted` entry, every vote its `vote` entry, every decided request the entry that
/// decided it, and every used approval its `consumed` entry. A change written into the
/// tables by SQL alone (an approval forged without the key) has none. Each query returns the
/// first offending request's id, or nothing.
public enum AuditCrossChecks {
    public static let checks: [(sql: String, what: String)] = [
        (
            "SELECT id FROM requests r WHERE NOT EXISTS (SELECT 1 FROM audit a WHERE a.request_id = r.id AND a.event = 'submitted') LIMIT 1",
            "has no 'submitted' entry in the log"
        ),
        (
            "SELECT request_id FROM votes v WHERE NOT EXISTS (SELECT 1 FROM audit a WHERE a.request_id = v.request_id AND a.event = 'vote' AND a.actor = v.reviewer) LIMIT 1",
            "has a vote with no 'vote' entry in the log"
        ),
        (
            "SELECT id FROM requests r WHERE r.state IN ('approved', 'rejected') AND NOT EXISTS (SELECT 1 FROM audit a WHERE a.request_id = r.id AND a.event = r.state) LIMIT 1",
            "is decided in the table but no entry in the log decided it"
        ),
        (
            "SELECT id FROM requests r WHERE r.state IN ('running', 'succeeded', 'failed') AND r.tier = 'gated' AND NOT EXISTS (SELECT 1 FROM audit a WHERE a.request_id = r.id AND a.event = 'approved') LIMIT 1",
            "ran as approved but no entry in the log approved it"
        ),
        (
            "SELECT id FROM requests r WHERE r.consumed_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit a WHERE a.request_id = r.id AND a.event = 'consumed') LIMIT 1",
            "has its approval marked used with no 'consumed' entry in the log"
        ),
    ]
}
