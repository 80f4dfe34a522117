import Foundation
import HoldpointCore

/// Times as a reviewer reads them: the wall clock of their own zone (or UTC with
/// `review --utc`), and ages relative to now ("3m ago"). The audit log and `--json` keep
/// UTC; only the screen is local.
enum Times {
    /// "14:05:09" in the state's zone.
    static func clock(_ t: Double, _ state: ConsoleState) -> String {
        String(local(t, state.timeZone).dropFirst(11).prefix(8))
    }

    /// "2025-11-24 14:05:09" in the state's zone.
    static func stamp(_ t: Double, _ state: ConsoleState) -> String {
        let text = local(t, state.timeZone)
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(8))
    }

    /// The zone's short name: "UTC", "CET", or "+05:30".
    static func zoneName(_ state: ConsoleState, at t: Double) -> String {
        let zone = state.timeZone
        if zone.secondsFromGMT(for: Date(timeIntervalSince1970: t)) == 0, zone.identifier == "GMT" || zone.identifier == "UTC" { return "UTC" }
        if let abbreviation = zone.abbreviation(for: Date(timeIntervalSince1970: t)), !abbreviation.hasPrefix("GMT") { return abbreviation }
        let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: t))
        return String(format: "%@%02d:%02d", offset < 0 ? "-" : "+", abs(offset) / 3600, abs(offset) % 3600 / 60)
    }

    /// "5s ago", "3m ago", "2h ago", "4d ago"; "in 2m" for the future.
    static func ago(_ t: Double, now: Double) -> String {
        let seconds = now - t
        let magnitude = Int(abs(seconds).rounded(.down))
        let text: String
        switch magnitude {
        case ..<60: text = "\(magnitude)s"
        case ..<3600: text = "\(magnitude / 60)m"
        case ..<86_400: text = "\(magnitude / 3600)h"
        default: text = "\(magnitude / 86_400)d"
        }
        return seconds >= 0 ? text + " ago" : "in " + text
    }

    /// "3m ago (14:05:09)": how the console names a moment in a sentence.
    static func moment(_ t: Double, _ state: ConsoleState) -> String {
        "\(ago(t, now: state.now)) (\(clock(t, state)))"
    }

    private static func local(_ t: Double, _ zone: TimeZone) -> String {
        Clock.iso8601(t + Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: t))))
    }
}
