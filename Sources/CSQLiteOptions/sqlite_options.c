#include "sqlite_options.h"
#include <sqlite3.h>

int hp_sqlite_no_checkpoint_on_close(void *connection) {
    int enabled = 0;
    int rc = sqlite3_db_config((sqlite3 *)connection, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, &enabled);
    if (rc == SQLITE_OK && enabled != 1) return SQLITE_ERROR;
    return rc;
}
