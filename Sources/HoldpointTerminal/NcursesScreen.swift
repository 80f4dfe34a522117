import CNcurses
import Foundation
import HoldpointConsole

/// The only code that talks to ncurses: it paints a `CellGrid` and reads keys. Nothing
/// here decides anything. Used from one thread only (ncurses is not thread-safe).
public final class NcursesScreen {
    private var attributes: [StyleRole: attr_t] = [:]
    private var previous: CellGrid?
    public private(set) var colors: Int = 0
    private var open = false

    /// Starts curses mode. `useColor` false (NO_COLOR, a monochrome theme) paints with
    /// bold, reverse and underline only.
    /// Why the console cannot run in this terminal (`$TERM`), or nil when it can.
    public static func terminalProblem() -> String? {
        let term = ProcessInfo.processInfo.environment["TERM"] ?? ""
        switch hp_terminal_check() {
        case 0: return nil
        case 2: return "the terminal TERM=\(term) cannot place the cursor, which the console needs; use a full terminal (e.g. TERM=xterm-256color), or `holdpoint list` and `holdpoint decide`"
        default:
            return
                "the terminal TERM=\(term.isEmpty ? "(unset)" : term) is not in this machine's terminfo; set TERM to one it knows (e.g. xterm-256color, screen-256color) or install its entry (ncurses-term)"
        }
    }

    public init(theme: Theme, useColor: Bool) {
        _ = hp_setlocale_all()  // before initscr, or UTF-8 and wide characters break
        initscr()
        open = true
        cbreak()
        noecho()
        nonl()
        keypad(hp_stdscr(), true)
        nodelay(hp_stdscr(), true)
        set_escdelay(25)
        curs_set(0)
        var effective = theme
        if useColor && has_colors() {
            start_color()
            use_default_colors()
            colors = Int(hp_colors())
        }
        if colors == 0 { effective = theme.monochrome }
        var pair: Int16 = 1
        for role in StyleRole.allCases {
            let style = effective.style(role)
            var attr = hp_a_normal()
            if style.bold { attr |= hp_a_bold() }
            if style.reverse { attr |= hp_a_reverse() }
            if style.underline { attr |= hp_a_underline() }
            if colors > 0, Int(pair) < Int(hp_color_pairs()) {
                let fg = Int16(style.foreground.index(forColors: colors))
                let bg = Int16(style.background.index(forColors: colors))
                if fg >= 0 || bg >= 0 {
                    init_pair(pair, fg, bg)
                    attr |= hp_color_pair(Int32(pair))
                    pair += 1
                }
            }
            attributes[role] = attr
        }
    }

    public var size: (width: Int, height: Int) {
        (Int(getmaxx(hp_stdscr())), Int(getmaxy(hp_stdscr())))
    }

    /// Paints the rows that changed since the last frame; ncurses then sends the terminal
    /// only the difference.
    public func paint(_ grid: CellGrid) {
        for y in grid.changedRows(since: previous) {
            var x = 0
            move(Int32(y), 0)
            while x < grid.width {
                let cell = grid[x, y]
                let role = cell.role
                let bold = cell.bold
                var run = ""
                let start = x
                while x < grid.width, grid[x, y].role == role, grid[x, y].bold == bold {
                    if !grid[x, y].isContinuation { run += grid[x, y].text }
                    x += 1
                }
                var attr = attributes[role] ?? hp_a_normal()
                if bold { attr |= hp_a_bold() }
                attrset(Int32(bitPattern: UInt32(truncatingIfNeeded: attr)))
                _ = run.withCString { mvaddstr(Int32(y), Int32(start), $0) }
            }
        }
        attrset(0)
        previous = grid
        refresh()
    }

    /// Forgets the last frame so the next paint redraws everything (after a resize).
    public func invalidate() {
        previous = nil
        clear()
    }

    public enum Input: Equatable {
        case key(Key)
        case resize
    }

    /// Every key waiting in the input buffer, without blocking.
    public func readInput() -> [Input] {
        var out: [Input] = []
        var ch: wint_t = 0
        while true {
            let result = wget_wch(hp_stdscr(), &ch)
            if result == hp_err() { break }
            if result == hp_key_code_yes() {
                let code = Int32(ch)
                switch code {
                case hp_key_resize(): out.append(.resize)
                case KEY_UP: out.append(.key(.up))
                case KEY_DOWN: out.append(.key(.down))
                case KEY_LEFT: out.append(.key(.left))
                case KEY_RIGHT: out.append(.key(.right))
                case KEY_NPAGE: out.append(.key(.pageDown))
                case KEY_PPAGE: out.append(.key(.pageUp))
                case KEY_HOME: out.append(.key(.home))
                case KEY_END: out.append(.key(.end))
                case KEY_BACKSPACE: out.append(.key(.backspace))
                case KEY_ENTER: out.append(.key(.enter))
                case KEY_BTAB: out.append(.key(.backTab))
                default: break
                }
                continue
            }
            switch ch {
            case 9: out.append(.key(.tab))
            case 10, 13: out.append(.key(.enter))
            case 27: out.append(.key(.escape))
            case 8, 127: out.append(.key(.backspace))
            default:
                if let scalar = Unicode.Scalar(UInt32(ch)), ch >= 32 { out.append(.key(.char(Character(scalar)))) }
            }
        }
        return out
    }

    public func bell() { beep() }

    /// Sets the terminal's title (OSC 2), which tmux and window managers show.
    public func setTitle(_ title: String) {
        // The title is built by the console from counts; control characters cannot be in it,
        // but it is filtered anyway: nothing raw reaches the terminal.
        let clean = title.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F && !(0x80..<0xA0).contains($0.value) }
        sendControl("\u{1B}]2;" + String(String.UnicodeScalarView(clean)) + "\u{07}")
    }

    /// Puts `text` on the clipboard of the reviewer's own terminal (OSC 52), which works over
    /// SSH and through tmux (with `set-clipboard on`). Base64 carries it, so no byte of it
    /// reaches the terminal as a control.
    public func copyToClipboard(_ text: String) {
        sendControl("\u{1B}]52;c;" + Data(text.utf8).base64EncodedString() + "\u{07}")
    }

    /// Saves the terminal's title on xterm's title stack, to be restored at exit.
    public func pushTitle() { sendControl("\u{1B}[22;0t") }
    public func popTitle() { sendControl("\u{1B}[23;0t") }

    /// Writes an escape sequence that ncurses does not know, after what ncurses has sent.
    private func sendControl(_ sequence: String) {
        guard open else { return }
        fflush(nil)  // every stream: what ncurses buffered goes first
        let bytes = Array(sequence.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if written <= 0 { break }
            offset += written
        }
    }

    /// Restores the terminal. Safe to call more than once.
    public func close() {
        guard open else { return }
        open = false
        endwin()
    }

    deinit { close() }
}
