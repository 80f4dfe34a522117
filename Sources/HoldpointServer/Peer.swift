import Foundation
import HoldpointCore
import Synchronization

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
    public static func resolve(uid: UInt32, gid: UInt32, pid: Int32, accounts: LocalAccounts = .current()) -> Peer {
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

    /// `/etc/passwd` and `/etc/group` (or the files at `passwd` and `group`) as they are now.
    public static func read(passwd: String = "/etc/passwd", group: String = "/etc/group") -> LocalAccounts {
        LocalAccounts(
            passwd: (try? String(contentsOfFile: passwd, encoding: .utf8)) ?? "",
            group: (try? String(contentsOfFile: group, encoding: .utf8)) ?? "")
    }

    /// The account files as they are now, read again only when one of them changed (checked
    /// at every connection, so an account change needs no restart; parsing them at every
    /// connection was a tenth of the daemon's time per hook).
    public static func current() -> LocalAccounts { cache.current() }

    func groupName(_ gid: UInt32) -> String { groupNames[gid] ?? "gid-\(gid)" }

    private static let cache = AccountsCache(passwd: "/etc/passwd", group: "/etc/group")
}

/// Parsed account files with the file versions they were parsed from: device, inode, size,
/// modification and change times (tools such as `useradd` replace the file, a new inode;
/// an edit in place changes its times).
final class AccountsCache: Sendable {
    private struct Version: Equatable {
        var device: UInt64, inode: UInt64, size: Int64
        var modified: timespec, changed: timespec
        static func == (a: Version, b: Version) -> Bool {
            a.device == b.device && a.inode == b.inode && a.size == b.size
                && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
                && a.changed.tv_sec == b.changed.tv_sec && a.changed.tv_nsec == b.changed.tv_nsec
        }
    }
    private let passwd: String, group: String
    private let state = Mutex<(versions: [Version?], accounts: LocalAccounts)?>(nil)

    init(passwd: String, group: String) {
        self.passwd = passwd
        self.group = group
    }

    func current() -> LocalAccounts {
        let versions = [passwd, group].map(Self.version)
        if let cached = state.withLock({ $0 }), cached.versions == versions { return cached.accounts }
        let accounts = LocalAccounts.read(passwd: passwd, group: group)
        state.withLock { $0 = (versions, accounts) }
        return accounts
    }

    private static func version(_ path: String) -> Version? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Version(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            modified: info.st_mtim, changed: info.st_ctim)
    }
}
