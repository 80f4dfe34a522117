#ifndef HOLDPOINT_FILE_LOCK_H
#define HOLDPOINT_FILE_LOCK_H

/// Takes an exclusive write lock on the whole of `fd` (which must be open for writing), waiting
/// at most `seconds`. Returns 0 when held, 1 when another holder kept it all that time, -1 on
/// any other error (errno says which). Open-file-description locks on Linux: per descriptor,
/// released when it is closed, and only a process that can write the file can take one.
int hp_lock_exclusive(int fd, double seconds);

/// Releases the lock taken by `hp_lock_exclusive`.
int hp_unlock(int fd);

#endif
