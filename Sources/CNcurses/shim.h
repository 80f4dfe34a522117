#ifndef HOLDPOINT_CNCURSES_SHIM_H
#define HOLDPOINT_CNCURSES_SHIM_H
// Wide-character ncurses, with the macros and mutable globals that Swift cannot use
// directly (not importable, or not concurrency-safe in Swift 6) wrapped as functions.
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <ncursesw/ncurses.h>

static inline WINDOW *hp_stdscr(void) { return stdscr; }
static inline int hp_lines(void) { return LINES; }
static inline int hp_cols(void) { return COLS; }
static inline int hp_colors(void) { return COLORS; }
static inline int hp_color_pairs(void) { return COLOR_PAIRS; }
static inline attr_t hp_color_pair(int n) { return COLOR_PAIR(n); }
static inline attr_t hp_a_bold(void) { return A_BOLD; }
static inline attr_t hp_a_reverse(void) { return A_REVERSE; }
static inline attr_t hp_a_underline(void) { return A_UNDERLINE; }
static inline attr_t hp_a_normal(void) { return A_NORMAL; }
static inline int hp_key_resize(void) { return KEY_RESIZE; }
static inline int hp_err(void) { return ERR; }
static inline int hp_ok(void) { return OK; }
static inline int hp_key_code_yes(void) { return KEY_CODE_YES; }
static inline int hp_setlocale_all(void) { return setlocale(LC_ALL, "") != NULL; }

// Whether $TERM names a terminal the console can draw on, checked before initscr (which on
// failure prints a bare "Error opening terminal" and exits): 0 usable, 1 unknown to terminfo,
// 2 no cursor addressing (TERM=dumb, a printing terminal).
int setupterm(const char *, int, int *);
char *tigetstr(const char *);
static inline int hp_terminal_check(void) {
    int error = 0;
    if (setupterm(NULL, 1, &error) != OK) return 1;
    char *cup = tigetstr("cup");
    return (cup == NULL || cup == (char *)-1) ? 2 : 0;
}
#endif
