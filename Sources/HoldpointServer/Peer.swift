import Foundation
import HoldpointCore

/// Who is at the other end of a connection, as the kernel says (`SO_PEERCRED`): never what
/// the client says of itself.
public struct Peer: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32
    /// The login of `uid` (or `uid-N` when it has none).
    public var user: String
    /// The names of every group the login belongs to, its primary group included.
    public var groups: [String]
    /// The login's home directory, for `~` in the paths it acts on.
    public var home: String?

    /// Resolves the kernel's numbers to names through the system's user database.
    public static func resolve(uid: UInt32, gid: UInt32, pid: Int32) -> Peer {
        var record = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        var user = "uid-\(uid)"
        var home: String?
        var primary = gid
        if getpwuid_r(uid, &record, &buffer, buffer.count, &result) == 0, let entry = result {
            if let name = entry.pointee.pw_name { user = String(cString: name) }
            if let dir = entry.pointee.pw_dir { home = String(cString: dir) }
            primary = entry.pointee.pw_gid
        }
        var groups: [String] = []
        var ids = [gid_t](repeating: 0, count: 256)
        var count = Int32(ids.count)
        if !user.hasPrefix("uid-"), getgrouplist(user, primary, &ids, &count) >= 0 {
            for id in ids.prefix(Int(count)) { groups.append(groupName(id)) }
        } else {
            groups.append(groupName(gid))
        }
        if !ids.prefix(Int(max(0, count))).contains(gid) { groups.append(groupName(gid)) }
        return Peer(uid: uid, gid: gid, pid: pid, user: user, groups: Array(Set(groups)).sorted(), home: home)
    }

    static func groupName(_ gid: gid_t) -> String {
        var record = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        if getgrgid_r(gid, &record, &buffer, buffer.count, &result) == 0, let entry = result, let name = entry.pointee.gr_name {
            return String(cString: name)
        }
        return "gid-\(gid)"
    }

    /// The identity decisions and submissions record: the kernel's account, then the
    /// client's claim about its origin, labelled as a claim.
    public func identity(claimedOrigin: String?) -> Identity {
        var via = "socket pid \(pid)"
        if let claimedOrigin, !claimedOrigin.isEmpty { via += ", claimed \(claimedOrigin.prefix(120))" }
        return Identity(user: user, via: via, groups: groups)
    }
}
