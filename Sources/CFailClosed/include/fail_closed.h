// Fail-closed process guard for Holdpoint's agent hooks.
//
// An agent client treats a hook that crashes, hangs or exits with an unexpected code as a
// non-blocking error and runs the tool anyway. These functions make the hook process answer
// "deny" (exit 2, the reason on stderr: the blocking answer every supported client
// understands) when it is killed by a fatal signal, when the client or the user interrupts
// it, or when it runs past its watchdog deadline. The handlers are async-signal-safe: they
// only write(2) a prepared message and call _exit(2). That is why this is C and not Swift.
#ifndef HOLDPOINT_FAIL_CLOSED_H
#define HOLDPOINT_FAIL_CLOSED_H

/// Installs the handlers. `message` is copied (up to 1023 bytes) and written to stderr
/// before the process exits with `exit_code`.
void hp_fail_closed_install(const char *message, int exit_code);

/// (Re)arms the watchdog: after `seconds`, the process answers with the prepared message.
/// 0 disarms it.
void hp_fail_closed_watchdog(unsigned seconds);

/// Replaces the prepared message (for example once the client's format is known).
void hp_fail_closed_message(const char *message);

#endif
