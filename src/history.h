/*
** history.h — the REPL's persistent history: one file, created 0600, in
** $NNCALC_HISTORY or $XDG_STATE_HOME/nncalc/history (falling back to
** ~/.local/state/nncalc/history).  Multi-line statements are one entry
** (timestamped format).  A path that cannot be used gives one warning and
** history stays in memory: never a failure.
*/
#ifndef NNCALC_HISTORY_H
#define NNCALC_HISTORY_H

#define HISTORY_MAX 1000

void history_open(void);                /* decide the path, load the file */
void history_add_entry(const char *text);  /* add (skipping repeats) and save */
void history_close(void);               /* trim the file to HISTORY_MAX */
const char *history_path(void);         /* NULL when history is not saved */

#endif
