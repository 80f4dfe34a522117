#define _GNU_SOURCE
#include "file_lock.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#if defined(__linux__) && defined(F_OFD_SETLKW)

// The signal a waiting thread's own timer sends it to interrupt the blocking lock call.
#define HP_LOCK_SIGNAL (SIGRTMIN + 7)
static __thread volatile sig_atomic_t hp_lock_expired;
static pthread_once_t hp_lock_once = PTHREAD_ONCE_INIT;

static void hp_lock_alarm(int signal_number) {
    (void)signal_number;
    hp_lock_expired = 1;
}

static void hp_lock_install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = hp_lock_alarm;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: the lock call must return EINTR
    sigaction(HP_LOCK_SIGNAL, &action, NULL);
}

int hp_lock_exclusive(int fd, double seconds) {
    struct flock lock;
    memset(&lock, 0, sizeof lock);
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    if (fcntl(fd, F_OFD_SETLK, &lock) == 0) return 0;
    if (errno != EAGAIN && errno != EACCES) return -1;

    pthread_once(&hp_lock_once, hp_lock_install);
    sigset_t mine, previous;
    sigemptyset(&mine);
    sigaddset(&mine, HP_LOCK_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &mine, &previous);
    hp_lock_expired = 0;

    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = HP_LOCK_SIGNAL;
    event._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, &event, &timer) != 0) {
        int saved = errno;
        pthread_sigmask(SIG_SETMASK, &previous, NULL);
        errno = saved;
        return -1;
    }
    // After the deadline the timer keeps firing every 10 ms, so a signal that arrives just
    // before the blocking call is followed by another that interrupts it.
    struct itimerspec spec;
    memset(&spec, 0, sizeof spec);
    if (seconds < 0.001) seconds = 0.001;
    spec.it_value.tv_sec = (time_t)seconds;
    spec.it_value.tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9);
    spec.it_interval.tv_nsec = 10 * 1000 * 1000;
    timer_settime(timer, 0, &spec, NULL);

    int result;
    for (;;) {
        if (hp_lock_expired) { result = 1; break; }
        if (fcntl(fd, F_OFD_SETLKW, &lock) == 0) { result = 0; break; }
        if (errno != EINTR) { result = -1; break; }
    }
    int saved = errno;
    timer_delete(timer);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    errno = saved;
    return result;
}

int hp_unlock(int fd) {
    struct flock lock;
    memset(&lock, 0, sizeof lock);
    lock.l_type = F_UNLCK;
    lock.l_whence = SEEK_SET;
    return fcntl(fd, F_OFD_SETLK, &lock);
}

#else

// Elsewhere: flock, polled until the deadline.
int hp_lock_exclusive(int fd, double seconds) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    useconds_t pause = 1000;
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
        if (errno == EINTR) continue;
        if (errno != EWOULDBLOCK) return -1;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 >= seconds) return 1;
        usleep(pause);
        if (pause < 50000) pause *= 2;
    }
}

int hp_unlock(int fd) { return flock(fd, LOCK_UN); }

#endif
