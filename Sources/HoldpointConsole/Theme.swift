import Foundation
import HoldpointCore
import Yams

/// A color as a theme writes it: `default`, a name (`red`, `bright-blue`), or `#rrggbb`.
public enum ThemeColor: Sendable, Equatable {
    case terminalDefault
    /// One of the 16 ANSI colors (0–7 normal, 8–15 bright).
    case ansi(Int)
    case rgb(UInt8, UInt8, UInt8)

    static let names = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    init?(_ text: String) {
        let t = text.lowercased()
        if t == "default" || t == "none" {
            self = .terminalDefault
            return
        }
        if let i = Self.names.firstIndex(of: t) {
            self = .ansi(i)
            return
        }
        if t.hasPrefix("bright-"), let i = Self.names.firstIndex(of: String(t.dropFirst(7))) {
            self = .ansi(i + 8)
            return
        }
        if t == "gray" || t == "grey" {
            self = .ansi(8)
            return
        }
        if t.hasPrefix("#"), t.count == 7, let value = UInt32(t.dropFirst(), radix: 16) {
            self = .rgb(UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF))
            return
        }
        return nil
    }

    /// The color index for a terminal with `colors` colors (256, 16 or 8); -1 is the default.
    public func index(forColors colors: Int) -> Int {
        switch self {
        case .terminalDefault: return -1
        case .ansi(let i): return colors >= 16 ? i : i % 8
        case .rgb(let r, let g, let b):
            if colors >= 256 {
                // The xterm 6x6x6 cube, or the gray ramp when closer.
                func level(_ v: UInt8) -> Int { v < 48 ? 0 : v < 115 ? 1 : (Int(v) - 35) / 40 }
                let cube = 16 + 36 * level(r) + 6 * level(g) + level(b)
                let average = (Int(r) + Int(g) + Int(b)) / 3
                if abs(Int(r) - average) < 10 && abs(Int(g) - average) < 10 && abs(Int(b) - average) < 10 && average > 8 && average < 238 {
                    return 232 + min(23, (average - 8) / 10)
                }
                return cube
            }
            // Nearest of the 8 or 16 basic colors.
            let basic: [(Int, Int, Int)] = [
                (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
                (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
            ]
            let candidates = colors >= 16 ? 16 : 8
            var best = 0
            var bestDistance = Int.max
            for i in 0..<candidates {
                let c = basic[i]
                let d = (c.0 - Int(r)) * (c.0 - Int(r)) + (c.1 - Int(g)) * (c.1 - Int(g)) + (c.2 - Int(b)) * (c.2 - Int(b))
                if d < bestDistance {
                    bestDistance = d
                    best = i
                }
            }
            return best
        }
    }
}

public struct RoleStyle: Sendable, Equatable {
    public var foreground: ThemeColor = .terminalDefault
    public var background: ThemeColor = .terminalDefault
    public var bold = false
    public var reverse = false
    public var underline = false

    public init(foreground: ThemeColor = .terminalDefault, background: ThemeColor = .terminalDefault, bold: Bool = false, reverse: Bool = false, underline: Bool = false) {
        self.foreground = foreground
        self.background = background
        self.bold = bold
        self.reverse = reverse
        self.underline = underline
    }
}

/// Styles per role. `monochrome` themes (and NO_COLOR) use only bold, reverse and underline.
public struct Theme: Sendable, Equatable {
    public var name: String
    public var styles: [StyleRole: RoleStyle]

    public func style(_ role: StyleRole) -> RoleStyle { styles[role] ?? styles[.normal] ?? RoleStyle() }

    /// The same emphasis without any color, for NO_COLOR and terminals without colors.
    public var monochrome: Theme {
        var copy = self
        for (role, style) in styles {
            copy.styles[role] = RoleStyle(
                bold: style.bold || [.danger, .production, .heading, .header, .key].contains(role),
                reverse: style.reverse || [.selection, .header, .footer, .dialog, .input].contains(role),
                underline: style.underline || role == .warning)
        }
        copy.name = name + " (monochrome)"
        return copy
    }

    /// Used when no theme file can be found: emphasis only, always readable.
    public static let fallback = Theme(
        name: "built-in",
        styles: [
            .normal: RoleStyle(), .header: RoleStyle(reverse: true), .footer: RoleStyle(reverse: true), .selection: RoleStyle(reverse: true),
            .danger: RoleStyle(bold: true), .production: RoleStyle(bold: true), .heading: RoleStyle(bold: true), .warning: RoleStyle(underline: true),
            .dialog: RoleStyle(reverse: true), .input: RoleStyle(underline: true), .key: RoleStyle(bold: true),
        ])

    /// Loads a theme file. Every error names the file, line and key.
    public static func load(path: String) throws(ConfigError) -> Theme {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(issues: [ConfigIssue(file: path, line: 1, column: 1, message: "cannot read the theme file")])
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(ConfigError) -> Theme {
        let walker = YAMLWalker(file: file)
        guard let root = walker.compose(text) else {
            throw ConfigError(issues: walker.issues.isEmpty ? [ConfigIssue(file: file, line: 1, column: 1, message: "the theme is empty")] : walker.issues)
        }
        var theme = Theme(name: URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent, styles: [.normal: RoleStyle()])
        for (key, _, value) in walker.mapping(root, "theme", allowed: ["name", "palette", "roles"]) ?? [] {
            switch key {
            case "name": theme.name = walker.string(value, "name") ?? theme.name
            case "palette": break  // anchors defined here are used below (`fg: *accent`)
            default:
                let roles = Set(StyleRole.allCases.map(\.rawValue))
                for (roleName, _, styleNode) in walker.mapping(value, "roles", allowed: roles) ?? [] {
                    guard let role = StyleRole(rawValue: roleName) else { continue }
                    var style = RoleStyle()
                    for (field, fieldNode, fieldValue) in walker.mapping(styleNode, "roles.\(roleName)", allowed: ["fg", "bg", "bold", "reverse", "underline"]) ?? [] {
                        switch field {
                        case "fg", "bg":
                            guard let colorText = walker.string(fieldValue, "roles.\(roleName).\(field)") else { continue }
                            guard let color = ThemeColor(colorText) else {
                                walker.fail(fieldValue, "roles.\(roleName).\(field): unknown color '\(colorText)' (a name like red or bright-blue, #rrggbb, or default)")
                                continue
                            }
                            if field == "fg" { style.foreground = color } else { style.background = color }
                        case "bold": style.bold = walker.bool(fieldValue, "roles.\(roleName).bold") ?? false
                        case "reverse": style.reverse = walker.bool(fieldValue, "roles.\(roleName).reverse") ?? false
                        default:
                            _ = fieldNode
                            style.underline = walker.bool(fieldValue, "roles.\(roleName).underline") ?? false
                        }
                    }
                    theme.styles[role] = style
                }
            }
        }
        if !walker.issues.isEmpty { throw ConfigError(issues: walker.issues) }
        return theme
    }
}
