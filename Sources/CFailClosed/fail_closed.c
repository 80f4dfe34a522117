#include "fail_closed.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char prepared[1024] = "holdpoint: internal failure; the action is denied (fail closed)";
static volatile sig_atomic_t prepared_length = 0;
static int exit_status = 2;
static char alternate_stack[64 * 1024];

static void put(const char *text, size_t length) {
    while (length > 0) {
        ssize_t n = write(STDERR_FILENO, text, length);
        if (n <= 0) return;
        text += n;
        length -= (size_t)n;
    }
}

static void on_signal(int signal_number) {
    char number[16];
    int i = (int)sizeof(number);
    int n = signal_number;
    number[--i] = ')';
    do { number[--i] = (char)('0' + n % 10); n /= 10; } while (n > 0 && i > 1);
    put(prepared, (size_t)prepared_length);
    if (signal_number == SIGALRM) {
        put(" (watchdog: no answer in time)\n", 31);
    } else {
        put(" (signal ", 9);
        put(number + i, sizeof(number) - (size_t)i);
        put("\n", 1);
    }
    _exit(exit_status);
}

void hp_fail_closed_message(const char *message) {
    size_t length = strlen(message);
    if (length >= sizeof(prepared)) length = sizeof(prepared) - 1;
    prepared_length = 0;
    memcpy(prepared, message, length);
    prepared[length] = 0;
    prepared_length = (sig_atomic_t)length;
}

void hp_fail_closed_install(const char *message, int exit_code) {
    hp_fail_closed_message(message);
    exit_status = exit_code;

    // A stack overflow is a SIGSEGV on the guard page: the handler needs its own stack.
    stack_t stack;
    stack.ss_sp = alternate_stack;
    stack.ss_size = sizeof(alternate_stack);
    stack.ss_flags = 0;
    sigaltstack(&stack, NULL);

    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_signal;
    action.sa_flags = SA_ONSTACK | SA_RESETHAND;
    sigfillset(&action.sa_mask);
    const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGABRT, SIGSYS, SIGXCPU, SIGXFSZ,
                         SIGALRM, SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2};
    for (size_t k = 0; k < sizeof(fatal) / sizeof(fatal[0]); k++) sigaction(fatal[k], &action, NULL);

    // A client that closes the pipe makes writes fail with EPIPE instead of killing us.
    signal(SIGPIPE, SIG_IGN);

    sigset_t unblock;
    sigemptyset(&unblock);
    for (size_t k = 0; k < sizeof(fatal) / sizeof(fatal[0]); k++) sigaddset(&unblock, fatal[k]);
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
}

void hp_fail_closed_watchdog(unsigned seconds) {
    alarm(seconds);
}
