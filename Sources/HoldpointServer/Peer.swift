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

    /// Resolves the kernel's numbers to names from the local account files (`/etc/passwd`,
    /// `/etc/group`).
    ///
    /// Not through NSS (`getpwuid_r`, `getgrouplist`): the release binary is linked
    /// statically, and glibc then loads NSS modules such as `libnss_systemd` into a process
    /// they were not built for, which crashed the daemon on the first connection from another
    /// user. Accounts that exist only in a directory service (LDAP, SSSD) are therefore not
    /// resolved: such a caller is `uid-N`, with only its numeric groups, and can be named as a
    /// reviewer only through a local group. docs/serve.md says so.
    public static func resolve(uid: UInt32, gid: UInt32, pid: Int32, accounts: LocalAccounts = .read()) -> Peer {
        let entry = accounts.users[uid]
        let user = entry?.name ?? "uid-\(uid)"
        var groups = Set([accounts.groupName(gid)])
        if let entry {
            groups.insert(accounts.groupName(entry.gid))
            for (name, members) in accounts.members where members.contains(entry.name) { groups.insert(name) }
        }
        return Peer(uid: uid, gid: gid, pid: pid, user: user, groups: groups.sorted(), home: entry?.home)
    }

    /// The identity decisions and submissions record: the kernel's account, then the
    /// client's claim about its origin, labelled as a claim.
    public func identity(claimedOrigin: String?) -> Identity {
        var via = "socket pid \(pid)"
        if let claimedOrigin, !claimedOrigin.isEmpty { via += ", claimed \(claimedOrigin.prefix(120))" }
        return Identity(user: user, via: via, groups: groups)
    }
}

/// The local account files, read whole (they are small): users by uid, group names by gid,
/// and each group's listed members.
public struct LocalAccounts: Sendable {
    public struct User: Sendable {
        public var name: String
        public var gid: UInt32
        public var home: String
    }
    public var users: [UInt32: User] = [:]
    public var groupNames: [UInt32: String] = [:]
    public var members: [String: Set<String>] = [:]

    public init(passwd: String, group: String) {
        for line in passwd.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 6, let uid = UInt32(fields[2]), let gid = UInt32(fields[3]) else { continue }
            if users[uid] == nil { users[uid] = User(name: String(fields[0]), gid: gid, home: String(fields[5])) }
        }
        for line in group.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 4, let gid = UInt32(fields[2]) else { continue }
            let name = String(fields[0])
            if groupNames[gid] == nil { groupNames[gid] = name }
            members[name, default: []].formUnion(fields[3].split(separator: ",").map(String.init))
        }
    }

    /// `/etc/passwd` and `/etc/group` as they are now (read for every connection, so an
    /// account change needs no restart).
    public static func read() -> LocalAccounts {
        LocalAccounts(passwd: (try? String(contentsOfFile: "/etc/passwd", encoding: .utf8)) ?? "",
                      group: (try? String(contentsOfFile: "/etc/group", encoding: .utf8)) ?? "")
    }

    func groupName(_ gid: UInt32) -> String { groupNames[gid] ?? "gid-\(gid)" }
}
