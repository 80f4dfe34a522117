// SQLite settings that Swift cannot reach: `sqlite3_db_config` is variadic, and Swift
// imports no variadic C function.
#ifndef HOLDPOINT_SQLITE_OPTIONS_H
#define HOLDPOINT_SQLITE_OPTIONS_H

/// Turns off the checkpoint SQLite runs when the last connection to a database closes
/// (`SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE`). `connection` is a `sqlite3 *`. Returns SQLite's
/// result code.
int hp_sqlite_no_checkpoint_on_close(void *connection);

#endif
