/// Files that matter whatever program touches them: credentials an agent should not read
/// (cloud keys, SSH keys, kube configs, `.env`, `/etc/shadow`), and places that make code
/// run later or change who may log in (shell start-up files, `authorized_keys`, sudoers,
/// cron, systemd units, the loader's preload list).
///
/// Paths are matched on the text the command gives (`~/.aws/credentials`,
/// `$HOME/.ssh/id_rsa`, `/root/.kube/config`, `.env`), so a file is recognised without
/// being opened.
enum SensitivePaths {
    /// Reading one of these is reading a secret. Each is a path ending (matched after a
    /// `/`) or a whole file name.
    static let credentialEndings = [
        "/.aws/credentials", "/.kube/config", "/.docker/config.json", "/.netrc", "/.pgpass", "/.my.cnf",
        "/.git-credentials", "/.vault-token", "/.npmrc", "/.pypirc", "/.config/gh/hosts.yml",
        "/.config/gcloud/credentials.db", "/.config/gcloud/application_default_credentials.json",
        "/.azure/accessTokens.json", "/.azure/msal_token_cache.json", "/etc/shadow", "/etc/gshadow",
        "/etc/master.passwd", "/etc/kubernetes/admin.conf", "/serviceaccount/token",
        // Cluster administrators' kube configs and join tokens, where the distributions keep them.
        "/etc/kubernetes/super-admin.conf", "/etc/kubernetes/kubelet.conf", "/etc/kubernetes/controller-manager.conf",
        "/etc/kubernetes/scheduler.conf", "/etc/rancher/k3s/k3s.yaml", "/etc/rancher/rke2/rke2.yaml",
        "/var/lib/rancher/k3s/server/token", "/var/lib/rancher/k3s/server/node-token", "/var/lib/rancher/rke2/server/token",
        "/.talos/config", "/.config/doctl/config.yaml", "/.oci/config", "/.config/hcloud/cli.toml",
        "/.terraform.d/credentials.tfrc.json", "/.config/rclone/rclone.conf", "/.s3cfg", "/.boto", "/.config/sops/age/keys.txt",
        // Shell and client histories hold whatever was typed: passwords given on command lines.
        "/.bash_history", "/.zsh_history", "/.psql_history", "/.mysql_history", "/.rediscli_history", "/.mongosh_history",
        "/.node_repl_history", "/.python_history",
        // Package registries', forges' and platforms' tokens, where their clients keep them.
        "/.terraformrc", "/.config/hub", "/.config/glab-cli/config.yml", "/.cargo/credentials", "/.cargo/credentials.toml", "/.gem/credentials",
        "/.m2/settings.xml", "/.gradle/gradle.properties", "/.composer/auth.json", "/.config/composer/auth.json", "/.yarnrc.yml", "/.bundle/config",
        "/.dockercfg", "/.config/containers/auth.json", "/containers/auth.json", "/.config/pip/pip.conf", "/.pip/pip.conf", "/.mylogin.cnf",
        "/.databrickscfg", "/.snowsql/config", "/.mc/config.json", "/.pulumi/credentials.json", "/.circleci/cli.yml", "/.kaggle/kaggle.json",
        "/.cache/huggingface/token", "/.huggingface/token", "/.fly/config.yml", "/.config/configstore/firebase-tools.json",
        "/.wrangler/config/default.toml", "/.config/.wrangler/config/default.toml", "/.netlify/config.json", "/.config/netlify/config.json",
        "/.railway/config.json", "/.supabase/access-token", "/.config/git/credentials", "/.ansible/vault_pass", "/.vault_pass", "/.vault-password",
        "/.config/op/config", "/.config/gcloud/access_tokens.db", "/.dbt/profiles.yml", "/.config/helm/repositories.yaml",
        "/.config/helm/registry/config.json", "/.vercel/auth.json", "/.config/linode-cli", "/.linodecli/config", "/.aliyun/config.json",
        "/.bluemix/config.json", "/.config/scw/config.yaml", "/.scw/config.yaml", "/.config/exoscale/exoscale.toml", "/.ovh.conf",
        "/.config/vultr-cli.yaml", "/.vultr-cli.yaml", "/.config/upctl.yaml", "/.config/stripe/config.toml", "/.sentryclirc", "/.dogrc",
        "/.newrelic/credentials.json", "/.config/ngrok/ngrok.yml", "/.ngrok2/ngrok.yml", "/.twilio-cli/config.json",
        "/.config/twilio-cli/config.json",
        // CI servers' and forges' own secrets.
        "/var/lib/jenkins/credentials.xml", "/etc/gitlab/gitlab-secrets.json", "/etc/gitlab-runner/config.toml", "/etc/rancher/k3s/registries.yaml",
        "/etc/rancher/rke2/registries.yaml",
        // Database maintenance logins and node credentials the packages install.
        "/etc/mysql/debian.cnf", "/var/lib/kubelet/kubeconfig", "/etc/kubernetes/bootstrap-kubelet.conf", "/.config/flyctl/config.yml", "/com.vercel.cli/auth.json",
        // Browsers' saved passwords and session cookies.
        "/Login Data", "/Cookies", "/logins.json", "/key4.db", "/cookies.sqlite",
        // A Docker container's configuration holds its environment (`/var/lib/docker/containers/ID/config.v2.json`).
        "/config.v2.json",
    ]
    static let credentialParts = [
        "/.ssh/id_", "/.gnupg/", "/run/secrets/", "/etc/ssh/ssh_host_", "/.password-store/", "/proc/self/environ", "/etc/kubernetes/pki/", "/var/lib/rancher/k3s/server/cred/",
        "/var/lib/rancher/k3s/server/tls/", "/var/lib/kubelet/pki/", "/etc/ssl/private/",
        "/var/lib/jenkins/secrets/", "/.jenkins/secrets/", "/.config/gcloud/legacy_credentials/", "/etc/letsencrypt/live/", "/etc/letsencrypt/archive/",
        "/.local/share/keyrings/", "/Library/Keychains/",
        // Kubernetes Secret volumes as kubelet mounts them on the node.
        "/volumes/kubernetes.io~secret/",
    ]
    static let credentialNames: Set<String> = [
        ".env", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "credentials.json", "service-account.json", "terraform.tfvars",
        // Terraform keeps every secret it has seen in its state, in plain text.
        "terraform.tfstate", "terraform.tfstate.backup",
    ]
    static let credentialSuffixes = [".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".kdbx"]
    /// Data files whose names say they hold secrets (`secrets.yaml`, `db-secret.json`,
    /// `prod.secrets.auto.tfvars`); encrypted ones (`secrets.enc.yaml`, a sealed secret) and
    /// examples are not.
    static let secretDataSuffixes = [".yaml", ".yml", ".json", ".tfvars", ".toml", ".ini", ".conf", ".cfg", ".properties", ".env", ".txt", ".xml"]
    static let secretNameExceptions = ["example", "sample", "template", "sealed", ".enc.", "encrypted"]
    /// Directories of credentials: archiving or copying one (`tar czf - ~/.ssh`) reads every
    /// secret in it.
    static let credentialDirectories = ["/.ssh", "/.aws", "/.gnupg", "/.kube", "/.docker", "/.config/gcloud", "/.azure", "/.password-store", "/run/secrets"]
    /// Whole trees that hold credentials among everything else (`/etc/shadow`, every user's
    /// `~/.ssh`): matched as the exact absolute path (`tar czf - /etc`), never as an ending
    /// (a project's own `conf/etc`).
    static let secretHoldingRoots: Set<String> = ["/", "/etc", "/root", "/home", "/Users", "/etc/ssh", "/etc/ssl", "/etc/kubernetes", "/var/lib/kubelet", "/var/lib/jenkins", "/etc/rancher"]
    /// Programs that search files for a pattern, and patterns every line matches.
    static let searchers: Set<String> = ["grep", "egrep", "fgrep", "zgrep", "rg", "ag", "ack"]
    static let matchesEveryLine: Set<String> = ["", ".", "^", "$", ".*", "^.*$", "^.*", ".*$", "^.", "\\w*", "[[:print:]]*"]
    /// Programs that read a whole directory tree named as an operand.
    static let treeReaders: Set<String> = ["tar", "bsdtar", "zip", "7z", "7za", "rsync", "scp", "cp", "rclone", "restic", "borg"]
    /// The endings by their last path component: a path is held against only the endings
    /// that could match it (one set lookup instead of twenty comparisons per argument).
    static let credentialEndingsByName: [Substring: [String]] = Dictionary(grouping: credentialEndings) { ending in
        ending.split(separator: "/").last ?? Substring(ending)
    }
    static let persistenceEndingsByName: [Substring: [String]] = Dictionary(grouping: persistenceEndings) { ending in
        ending.split(separator: "/").last ?? Substring(ending)
    }

    /// The last component of `path`.
    static func lastComponent(_ path: Substring) -> Substring {
        // Over the word's buffer when it has one: byte by byte through the view, an 800 KiB
        // word without a slash cost tens of instructions a byte.
        let slash: Int?? = path.utf8.withContiguousStorageIfAvailable { $0.lastIndex(of: UInt8(ascii: "/")) }
        guard let found = slash else {
            return path.utf8.lastIndex(of: UInt8(ascii: "/")).map { path[path.index(after: $0)...] } ?? path
        }
        guard let offset = found else { return path }
        return path[path.utf8.index(path.utf8.startIndex, offsetBy: offset + 1)...]
    }

    /// `.env.example` and friends hold no secrets.
    static let harmlessEnvSuffixes = [".example", ".sample", ".template", ".dist", ".defaults"]

    /// Writing one of these makes code run later (at login, on a schedule, at boot, in every
    /// process) or changes who may log in or become root.
    static let persistenceEndings = [
        "/.ssh/authorized_keys", "/.ssh/authorized_keys2", "/.ssh/rc", "/.bashrc", "/.bash_profile", "/.bash_login",
        "/.bash_logout", "/.profile", "/.zshrc", "/.zprofile", "/.zshenv", "/.zlogin", "/.config/fish/config.fish",
        "/etc/profile", "/etc/bash.bashrc", "/etc/environment", "/etc/rc.local", "/etc/ld.so.preload", "/etc/passwd",
        "/etc/shadow", "/etc/group", "/etc/sudoers", "/etc/crontab", "/etc/ssh/sshd_config", "/.gitconfig", "/.git/config",
        // Read by a shell, an editor, ssh or a client when it starts, and able to run commands:
        // aliases, `ProxyCommand`, an editor's start-up, direnv's `.envrc`, a project's MCP
        // servers and editor tasks, Python's start-up hooks.
        "/.bash_aliases", "/.ssh/config", "/.vimrc", "/.config/nvim/init.vim", "/.config/nvim/init.lua", "/.tmux.conf",
        "/.envrc", "/.mcp.json", "/.vscode/tasks.json", "/.pythonrc", "/.config/git/config", "/sitecustomize.py", "/usercustomize.py",
        // Where the loader, PAM, the package manager and pip find their code.
        "/etc/ld.so.conf", "/etc/pam.conf", "/etc/nsswitch.conf", "/etc/apt/sources.list", "/etc/pip.conf",
        // Package managers' own settings: which registry or index later installs come from
        // (someone else's code, run by the next install), and Gradle's init scripts.
        "/.npmrc", "/.yarnrc", "/.yarnrc.yml", "/bunfig.toml", "/.config/pip/pip.conf", "/.pip/pip.conf", "/pip.ini", "/.condarc",
        "/.gemrc", "/.cargo/config", "/.cargo/config.toml", "/.m2/settings.xml", "/.gradle/init.gradle", "/.gradle/init.gradle.kts",
        "/.config/go/env", "/.config/uv/uv.toml", "/.config/pypoetry/config.toml",
    ]
    static let persistenceParts = [
        "/etc/sudoers.d/", "/etc/profile.d/", "/etc/cron.", "/var/spool/cron/", "/etc/systemd/", "/.config/systemd/",
        "/etc/init.d/", "/etc/pam.d/", "/.config/autostart/", "/.git/hooks/", "/etc/update-motd.d/", "/lib/systemd/system/",
        "/usr/lib/systemd/", "/etc/xdg/autostart/", "/Library/LaunchAgents/", "/Library/LaunchDaemons/",
        // Hooks the host runs on its own: device events, network changes, package runs, log
        // rotation, interface start-up; and what kubelet runs as static pods.
        "/etc/udev/rules.d/", "/lib/udev/rules.d/", "/etc/NetworkManager/dispatcher.d/", "/etc/apt/apt.conf.d/", "/etc/logrotate.d/",
        "/etc/network/if-up.d/", "/etc/network/if-pre-up.d/", "/etc/dhcp/dhclient-exit-hooks.d/", "/etc/kubernetes/manifests/",
        "/etc/ssh/sshd_config.d/", "/etc/security/", "/etc/polkit-1/", "/.config/fish/conf.d/", "/.husky/", "/.gradle/init.d/",
        // Modules, libraries and package sources: code loaded or installed later.
        "/etc/modules-load.d/", "/etc/modprobe.d/", "/etc/ld.so.conf.d/", "/lib/security/", "/lib64/security/", "/usr/lib/security/",
        "/usr/lib64/security/", "/usr/lib/x86_64-linux-gnu/security/", "/usr/lib/aarch64-linux-gnu/security/",
        "/etc/apt/sources.list.d/", "/etc/apt/trusted.gpg.d/", "/etc/apt/keyrings/", "/usr/share/keyrings/", "/etc/yum.repos.d/",
        "/etc/zypp/repos.d/", "/etc/docker/", "/etc/containerd/",
    ]
    /// The programs every user runs: a file put in (or moved out of) one of these replaces
    /// one. Matched from the root only (`./dist/bin/` is a build's, not the system's).
    static let programDirectories = ["/usr/local/bin", "/usr/local/sbin", "/usr/bin", "/usr/sbin", "/bin", "/sbin"]

    /// Where database servers keep their data: a file written there by hand (`cp /dev/null
    /// /var/lib/mysql/ibdata1`, `: > …/PG_VERSION`) corrupts or empties the database.
    static let dataDirectories = [
        "/var/lib/mysql/", "/var/lib/postgresql/", "/var/lib/pgsql/", "/var/lib/mongodb/", "/var/lib/redis/", "/var/lib/etcd/",
        "/var/lib/cassandra/", "/var/lib/elasticsearch/", "/var/lib/clickhouse/", "/var/lib/mariadb/", "/var/lib/influxdb/",
    ]

    static func isDatabaseData(_ raw: Substring) -> Bool {
        let path = pathText(raw)
        return path.utf8.first == UInt8(ascii: "/") && dataDirectories.contains { path.utf8.starts(with: $0.utf8) }
    }

    static func databaseDataWrite(_ path: String) -> Finding {
        Finding(
            rule: "database-files-write", message: "writes \(path) under a database server's data directory: corrupts or empties the database",
            effect: RuleEffect(operationClass: .delete, tier: .gated, destructive: true, irreversible: true, dataLoss: true), subject: path)
    }

    /// Programs that name a path without reading what is in it.
    static let metadataOnly: Set<String> = [
        "ls", "stat", "test", "[", "[[", "file", "realpath", "readlink", "du", "chmod", "chown", "chgrp",
        "dirname", "basename", "touch", "mkdir", "echo", "printf", "find", "fd", "locate", "which", "type",
    ]
    /// Programs that name files behind a revision's, host's or container's colon
    /// (`git show HEAD:.env`, `scp prod:~/.aws/credentials .`, `kubectl cp pod:/root/.ssh/id_rsa k`).
    static let colonPathPrograms: Set<String> = ["git", "scp", "sftp", "rsync", "kubectl", "oc", "docker", "podman", "nerdctl", "rclone", "lxc", "incus"]
    /// Programs whose last path argument is where they write.
    static let copiers: Set<String> = ["cp", "mv", "install", "ln", "rsync", "scp", "dd"]
    /// Every program whose operands `findings` reads as places written.
    static let writers: Set<String> = copiers.union(["tee", "sed"])

    /// Whether `text` could name one of these files at all: it has a `/` or a `.`, or is an
    /// SSH key's bare name. Most arguments (`-la`, `status`, `main`) are turned away here
    /// in one pass over the bytes, before any comparison.
    static func mayBePath(_ text: Substring) -> Bool { PathShape(text, colons: false).mayBePath }

    /// What one pass over a word's bytes tells: whether it could name a path, and whether
    /// it holds a colon (`HEAD:.env`, `host:~/.ssh/id_rsa`). (The generic `starts(with:)`
    /// and a scan per character cost hundreds of instructions a word, for every argument
    /// of every command.)
    struct PathShape {
        private(set) var mayBePath = false
        private(set) var hasColon = false

        /// `colons`: whether to look for a colon too; the scan stops as soon as the answer
        /// is known (a one-liner of 800 KiB has its first `.` within a few bytes).
        init(_ text: String, colons: Bool) {
            var text = text
            self = text.withUTF8 { PathShape(bytes: $0, colons: colons) }
        }

        init(_ text: Substring, colons: Bool) {
            // A native string's bytes are contiguous: the loop runs over a buffer, not
            // through String's index validation byte by byte (hundreds of instructions a word).
            self = text.utf8.withContiguousStorageIfAvailable { PathShape(bytes: $0, colons: colons) } ?? PathShape(String(text), colons: colons)
        }

        private init(bytes: UnsafeBufferPointer<UInt8>, colons: Bool) {
            // An SSH key's bare name: `id_rsa`, `id_ed25519`.
            mayBePath = bytes.count >= 3 && bytes[0] == UInt8(ascii: "i") && bytes[1] == UInt8(ascii: "d") && bytes[2] == UInt8(ascii: "_")
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "/"), UInt8(ascii: "."): mayBePath = true
                case UInt8(ascii: ":"): hasColon = true
                default: continue
                }
                if mayBePath && (hasColon || !colons) { return }
            }
        }
    }

    /// The path in `raw` as compared: without the `@` of `curl -d @file`.
    static func pathText(_ raw: Substring) -> Substring {
        raw.utf8.first == UInt8(ascii: "@") ? raw.dropFirst() : raw
    }

    /// `path` ends with `ending` (which starts with `/`), or is it without the leading `/`
    /// (a relative `.aws/credentials`).
    static func ends(_ path: Substring, with ending: String) -> Bool {
        if path.endsWithBytes(of: ending) { return true }
        return path.utf8.count == ending.utf8.count - 1 && path.utf8.elementsEqual(ending.utf8.dropFirst())
    }

    /// `path` contains `part` (which starts with `/`), or starts with it less the `/`.
    static let credentialPartIndex = PathPartIndex(credentialParts)
    static let persistencePartIndex = PathPartIndex(persistenceParts)

    static func has(_ path: Substring, _ part: String) -> Bool {
        path.containsBytes(of: part) || path.utf8.starts(with: part.utf8.dropFirst())
    }

    /// `hasSuffix` on bytes: Character comparison walks grapheme boundaries.
    static func endsBytes(_ text: Substring, _ suffix: String) -> Bool {
        text.endsWithBytes(of: suffix)
    }

    static func isCredential(_ raw: String) -> Bool { isCredential(Substring(raw)) }

    static func isCredential(_ raw: Substring) -> Bool {
        guard mayBePath(raw) else { return false }
        let path = pathText(raw)
        let name = lastComponent(path)
        if let endings = credentialEndingsByName[name], endings.contains(where: { ends(path, with: $0) }) { return true }
        // A public key (`~/.ssh/id_ed25519.pub`) is no secret.
        if endsBytes(name, ".pub") { return false }
        if path.containsASCII("/"), credentialPartIndex.occurs(in: path) { return true }
        // Any process's environment (`/proc/1/environ`, `/proc/$(pgrep db)/environ`).
        if path.startsWithBytes(of: "/proc/"), endsBytes(path, "/environ") { return true }
        if credentialNames.contains(String(name)) { return true }
        if name.startsWithBytes(of: ".env."), !harmlessEnvSuffixes.contains(where: { endsBytes(name, $0) }) { return true }
        if name.startsWithBytes(of: "id_"), has(path, "/.ssh/") { return true }
        if credentialSuffixes.contains(where: { endsBytes(name, $0) }) { return true }
        if nameSaysSecret(name) { return true }
        // `cat ~/.ssh/*`, `cat /etc/shado?`: what the shell expands the pattern to.
        return PathGlob.hasMeta(path) && PathGlob.isEnabled && PathGlob.mayNameCredential(path)
    }

    /// `secrets.yaml`, `Secret.json`, `app.secrets.tfvars`: see `secretDataSuffixes`.
    static func nameSaysSecret(_ name: Substring) -> Bool {
        guard mentionsSecret(name.utf8), secretDataSuffixes.contains(where: { endsBytes(name, $0) }) else { return false }
        let lowered = name.lowercased()
        return !secretNameExceptions.contains { lowered.contains($0) }
    }

    /// "secret" in any case, in one pass over the bytes (this runs for every path-like argument).
    static func mentionsSecret(_ bytes: Substring.UTF8View) -> Bool {
        // Over the buffer when the word has one: through the view, byte by byte, an 800 KiB
        // word cost tens of instructions a byte.
        bytes.withContiguousStorageIfAvailable { mentionsSecret(in: $0) } ?? mentionsSecret(in: bytes)
    }

    private static func mentionsSecret<Bytes: Sequence>(in bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        // The letters of "secret" by position, compared without allocating.
        func letter(_ index: Int) -> UInt8 {
            switch index {
            case 0: return UInt8(ascii: "s")
            case 1, 4: return UInt8(ascii: "e")
            case 2: return UInt8(ascii: "c")
            case 3: return UInt8(ascii: "r")
            default: return UInt8(ascii: "t")
            }
        }
        var matched = 0
        for byte in bytes {
            let lower = byte | 0x20
            if lower == letter(matched) {
                matched += 1
                if matched == 6 { return true }
            } else {
                matched = lower == letter(0) ? 1 : 0
            }
        }
        return false
    }

    /// `raw` names one of `credentialDirectories` (with or without a trailing `/`).
    /// A directory that holds only credentials (`~/.ssh`, `~/.aws`), not a tree that holds
    /// them among everything else (`/etc`): every file in it is one.
    static func isCredentialStore(_ raw: Substring) -> Bool {
        guard mayBePath(raw) else { return false }
        let path = directoryText(raw)
        return credentialDirectories.contains { ends(path, with: $0) }
    }

    /// A credential store, or a tree that holds credentials among everything else.
    static func isCredentialDirectory(_ raw: Substring) -> Bool {
        guard mayBePath(raw) else { return false }
        // `tar czf - ~/.{ssh,aws}`: each directory the braces give.
        if raw.utf8.contains(UInt8(ascii: "{")) {
            let alternatives = PathGlob.expandBraces(String(raw))
            if alternatives.count > 1 { return alternatives.contains { isCredentialDirectory(Substring($0)) } }
        }
        let path = directoryText(raw)
        if path.utf8.first == UInt8(ascii: "/"), secretHoldingRoots.contains(String(path)) { return true }
        return isCredentialStore(raw)
    }

    /// The directory a word names, without trailing slashes (`~/.ssh/` is `~/.ssh`).
    private static func directoryText(_ raw: Substring) -> Substring {
        var path = pathText(raw)
        while path.count > 1, path.utf8.last == UInt8(ascii: "/") { path = path.dropLast() }
        return path
    }

    static func isPersistence(_ raw: String) -> Bool { isPersistence(Substring(raw)) }

    static func isPersistence(_ raw: Substring) -> Bool {
        guard mayBePath(raw) else { return false }
        let path = pathText(raw)
        if let endings = persistenceEndingsByName[lastComponent(path)], endings.contains(where: { ends(path, with: $0) }) { return true }
        if path.utf8.first == UInt8(ascii: "/"),
            programDirectories.contains(where: { path.utf8.starts(with: $0.utf8) && (path.utf8.count == $0.utf8.count || path.utf8.dropFirst($0.utf8.count).first == UInt8(ascii: "/")) })
        {
            return true
        }
        guard path.containsASCII("/") else { return false }
        if persistencePartIndex.occurs(in: path) { return true }
        // A `.pth` file in site-packages runs its `import` lines in every Python that starts.
        return endsBytes(path, ".pth") && path.containsBytes(of: "-packages/")
    }

    /// The host's own files: configuration, programs and libraries, boot files, logs, spools
    /// and kernel settings. Absolute paths only.
    static let hostDirectories = ["/etc/", "/boot/", "/usr/", "/lib/", "/lib32/", "/lib64/", "/bin/", "/sbin/", "/var/log/", "/var/lib/", "/var/spool/", "/proc/", "/sys/"]

    /// `raw` names one of the host's own files (`hostDirectories`). Appending to a log
    /// (`appending`) is left out: writing to the end of one is what programs do.
    static func isHostFile(_ raw: Substring, appending: Bool = false) -> Bool {
        let path = pathText(raw)
        guard path.utf8.first == UInt8(ascii: "/"), path.utf8.count > 5 else { return false }
        guard let directory = hostDirectories.first(where: { path.utf8.starts(with: $0.utf8) }), !path.utf8.starts(with: "/proc/self/fd/".utf8) else { return false }
        return !(appending && directory == "/var/log/")
    }

    /// Where an archive is unpacked: `tar -x … -C DIR`, `tar --directory=DIR`, `unzip … -d DIR`.
    static func extractionDirectory(program: String, args: [ShellWord]) -> String? {
        let option: Set<String>
        switch program {
        case "tar", "bsdtar", "gtar":
            // Only when unpacking: `-x`, a cluster holding x (`xzf`, `-xzf`), `--extract`, `--get`.
            let extracting = args.contains { word in
                let t = word.text
                if t.hasPrefix("--") { return t == "--extract" || t == "--get" }
                return t.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || $0 == UInt8(ascii: "-") } && t.contains("x")
                    && (t.hasPrefix("-") || word == args.first)
            }
            guard extracting else { return nil }
            option = ["-C", "--directory"]
        case "unzip": option = ["-d"]
        default: return nil
        }
        for (i, word) in args.enumerated() where !word.isDynamic {
            if option.contains(word.text), i + 1 < args.count, !args[i + 1].isDynamic { return args[i + 1].text }
            if word.text.hasPrefix("--directory=") { return String(word.text.dropFirst("--directory=".count)) }
        }
        return nil
    }

    static func hostFileWrite(_ path: String) -> Finding {
        if path == "/proc/sysrq-trigger" {
            return Finding(
                rule: "sysrq-trigger", message: "writes to /proc/sysrq-trigger: the kernel reboots, powers off, crashes or kills at once",
                effect: RuleEffect(operationClass: .delete, tier: .gated, destructive: true, irreversible: true), subject: path)
        }
        return Finding(
            rule: "host-file-write", message: "writes \(path), one of the host's own files (configuration, programs, logs or kernel settings)",
            effect: RuleEffect(operationClass: .patch, productionTier: .gated), subject: path)
    }

    /// sed scripts that delete every line.
    static let deletesEveryLine: Set<String> = ["d", "1,$d", "1,$ d", "0,$d"]
    /// `dd` input that writes over what the output held rather than copying a file into it.
    static let overwritingSources: Set<String> = ["if=/dev/zero", "if=/dev/urandom", "if=/dev/random"]
    static let temporaryDirectories = ["/tmp/", "/var/tmp/", "/dev/shm/"]

    /// A file written over with nothing: `cp /dev/null F`, `ln -sf /dev/null F`, `: > F`.
    static func emptiesFile(_ path: String, how: String) -> Finding {
        Finding(
            rule: "fs-empty-file", message: "empties \(path): its contents are gone, as with `truncate -s 0`",
            effect: RuleEffect(operationClass: .delete, destructive: true, dataLoss: true), subject: how)
    }

    static func credentialRead(_ path: String) -> Finding {
        Finding(
            rule: "credential-read", message: "reads credentials (\(path))",
            effect: RuleEffect(operationClass: .read, tier: .supervised, productionTier: .gated), subject: path)
    }

    static func persistenceWrite(_ path: String) -> Finding {
        Finding(
            rule: "persistence-write", message: "writes \(path), which runs code later or changes who may log in or become root",
            effect: RuleEffect(operationClass: .iam, tier: .gated), subject: path)
    }

    /// The findings for a command's arguments: credentials it reads, and start-up,
    /// schedule or login files it writes (`tee`, `cp`, `mv`, `dd of=`, `sed -i`, …).
    /// `openssl x509 -in cert.pem`: these sub-commands load certificates, which are public; a
    /// private key given to them fails to load and is not printed.
    /// `keytool` has no way to print a private key; `step certificate inspect` reads one certificate.
    static func readsCertificatesOnly(program: String, args: [ShellWord]) -> Bool {
        switch program {
        case "keytool": return true
        case "openssl", "step":
            let words = args.filter { !$0.text.hasPrefix("-") }.prefix(2).map(\.text)
            if program == "step" { return words.first == "certificate" && ["inspect", "verify", "fingerprint", "lint"].contains(words.dropFirst().first ?? "") }
            return ["x509", "verify", "crl", "crl2pkcs7"].contains(words.first ?? "") && !args.contains { $0.text == "-signkey" || $0.text == "-CAkey" || $0.text == "-key" }
        default: return false
        }
    }

    static func findings(program: String, args: [ShellWord]) -> [Finding] {
        var out: [Finding] = []
        /// The path an argument names: itself, or the value of `--file=PATH`, `of=PATH`.
        func path(_ word: ShellWord) -> Substring {
            let text = Substring(word.text)
            if text.containsASCII("="), let eq = text.utf8.lastIndex(of: UInt8(ascii: "=")) {
                let value = text[text.index(after: eq)...]
                if value.containsASCII("/") || value.hasPrefix("@") || value.hasPrefix(".") { return value }
            }
            return text
        }
        if !metadataOnly.contains(program), !readsCertificatesOnly(program: program, args: args) {
            let colonPaths = colonPathPrograms.contains(program)
            for word in args {
                // Most words name no path and hold no colon: nothing below can match them.
                let shape = PathShape(word.text, colons: colonPaths)
                guard shape.mayBePath || (colonPaths && shape.hasColon) else { continue }
                let candidate = path(word)
                if isCredential(candidate) {
                    out.append(credentialRead(String(candidate)))
                } else if colonPaths, let colon = candidate.utf8.firstIndex(of: UInt8(ascii: ":")), !candidate.containsBytes(of: "://") {
                    // `git show HEAD:.env`, `scp prod:~/.aws/credentials .`, `kubectl cp pod:/root/.ssh/id_rsa k`:
                    // the path after a revision's or host's colon.
                    let after = candidate[candidate.index(after: colon)...]
                    if isCredential(after) { out.append(credentialRead(String(after))) }
                }
            }
        }
        // `restic ls latest /etc`, `borg list`: names in a backup, not what is in them.
        let listsOnly = (program == "restic" || program == "borg") && args.contains { ["ls", "list", "find", "snapshots", "diff", "stats", "check", "info"].contains($0.text) }
        if treeReaders.contains(program), !listsOnly {
            // What is read: a copier's operands but the last (where it writes), an archiver's
            // operands but the directory it works in (`-C DIR`).
            let operands = args.filter { !$0.text.hasPrefix("-") }
            var read = copiers.contains(program) ? Array(operands.dropLast()) : operands
            if let change = args.firstIndex(where: { $0.text == "-C" || $0.text == "--directory" }), change + 1 < args.count {
                read.removeAll { $0.text == args[change + 1].text }
            }
            for word in read where isCredentialDirectory(Substring(word.text)) { out.append(credentialRead(word.text)) }
        }
        // `grep -r "" ~/.aws`, `rg . ~/.config/gcloud`: a pattern every line matches prints
        // every file of the directory (another pattern prints only its matches).
        if searchers.contains(program) {
            let operands = args.filter { !$0.text.hasPrefix("-") }
            let explicit = args.indices.filter { args[$0].text == "-e" && $0 + 1 < args.count }.map { args[$0 + 1].text }
            let patterns = explicit.isEmpty ? Array(operands.prefix(1).map(\.text)) : explicit
            if patterns.contains(where: { matchesEveryLine.contains($0) }) {
                for word in operands.dropFirst(explicit.isEmpty ? 1 : 0) where isCredentialDirectory(Substring(word.text)) { out.append(credentialRead(word.text)) }
            }
        }
        if let directory = extractionDirectory(program: program, args: args),
            directory == "/" || isHostFile(Substring(directory.hasSuffix("/") ? directory : directory + "/"))
        {
            out.append(hostFileWrite(directory))
        }
        guard writers.contains(program) else { return out }
        let operands = args.filter { !$0.text.hasPrefix("-") }
        var writes: [Substring] = []
        switch program {
        case "tee": writes = operands.map(path)
        case "sed":
            // Only in place (`-i`, `-i.bak`, `-ni`, `--in-place`); otherwise sed prints. (`perl -pi`
            // and `ruby -i` are held as `sed -i` on the same files: ShellAnalyzer.)
            let inPlace = args.contains { word in
                let t = word.text
                if t.hasPrefix("--") { return t == "--in-place" || t.hasPrefix("--in-place=") }
                return t.hasPrefix("-i") || (t.hasPrefix("-") && t.dropFirst().allSatisfy(\.isLetter) && t.contains("i"))
            }
            if inPlace {
                writes = operands.map(path)
                // A script that deletes every line (`sed -i d F`, `sed -i '1,$d' F`) empties F.
                if let script = operands.first, !script.isDynamic, deletesEveryLine.contains(script.text) {
                    for target in operands.dropFirst() { out.append(emptiesFile(target.text, how: "sed -i '\(script.text)' \(target.text)")) }
                }
            }
        case "mv":
            // Moving a file away changes its place as much as writing one there; moving it
            // onto /dev/null throws it away.
            writes = operands.map(path)
            if operands.count > 1, operands.last?.text == "/dev/null" {
                out.append(
                    Finding(
                        rule: "fs-move-to-null", message: "moves \(operands.dropLast().map(\.text).joined(separator: " ")) onto /dev/null: deletes it",
                        effect: RuleEffect(operationClass: .delete, destructive: true, irreversible: true, dataLoss: true), subject: operands.map(\.text).joined(separator: " ")))
            }
        case _ where copiers.contains(program):
            writes = operands.suffix(1).map(path) + args.filter { $0.text.hasPrefix("of=") }.map { Substring($0.text.dropFirst(3)) }
            // `cp /dev/null F`, `install -m 644 /dev/null F`, `ln -sf /dev/null F`,
            // `dd if=/dev/null of=F`: F is emptied.
            let fromNull = (operands.count >= 2 && operands[operands.count - 2].text == "/dev/null") || args.contains { $0.text == "if=/dev/null" }
            if fromNull, let target = writes.first, target != "/dev/null" {
                out.append(emptiesFile(String(target), how: "\(program) /dev/null \(target)"))
            }
            // `dd if=/dev/zero of=F`: F's contents are written over (a new file in a temporary
            // directory is a disk test or a swap file's start, not a loss).
            if program == "dd", let source = args.first(where: { overwritingSources.contains($0.text) }),
                let target = args.last(where: { $0.text.hasPrefix("of=") }).map({ String($0.text.dropFirst(3)) }),
                !target.hasPrefix("/dev/"), !temporaryDirectories.contains(where: { target.hasPrefix($0) })
            {
                out.append(
                    Finding(
                        rule: "fs-overwrite-file", message: "writes \(source.text.dropFirst(3)) over \(target): what it held is gone",
                        effect: RuleEffect(operationClass: .delete, destructive: true, dataLoss: true), subject: "dd \(source.text) of=\(target)"))
            }
        default: break
        }
        let appending = program == "tee" && args.contains { $0.text == "-a" || $0.text == "--append" }
        for target in writes {
            if isPersistence(target) { out.append(persistenceWrite(String(target))) }
            if isDatabaseData(target) { out.append(databaseDataWrite(String(target))) }
            if isHostFile(target, appending: appending) { out.append(hostFileWrite(String(target))) }
        }
        return out
    }
}

/// Path pieces that start with `/` (`/.ssh/id_`, `/etc/sudoers.d/`), found in one pass over
/// a path: at each `/`, and at the start (a relative `.ssh/id_rsa`), only the pieces whose
/// next byte is the path's next byte are compared. The same answer as searching the path
/// for every piece in turn (`SensitivePaths.has`), which cost a scan of the path per piece
/// for every argument of every command.
struct PathPartIndex: Sendable {
    /// Each piece without its leading `/`, by its first byte.
    private let byLead: [UInt8: [[UInt8]]]

    init(_ parts: [String]) {
        var byLead: [UInt8: [[UInt8]]] = [:]
        for part in parts {
            let rest = Array(part.utf8.dropFirst())
            guard part.utf8.first == UInt8(ascii: "/"), let lead = rest.first else { continue }
            byLead[lead, default: []].append(rest)
        }
        self.byLead = byLead
    }

    func occurs(in path: Substring) -> Bool {
        let bytes = path.utf8
        var i = bytes.startIndex
        var start = true
        while i < bytes.endIndex {
            let after = bytes[i] == UInt8(ascii: "/") ? bytes.index(after: i) : (start ? i : nil)
            start = false
            if let after, after < bytes.endIndex, let candidates = byLead[bytes[after]] {
                for piece in candidates where bytes[after...].starts(with: piece) { return true }
            }
            i = bytes.index(after: i)
        }
        return false
    }
}
