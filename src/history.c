/*
** history.c — where the REPL keeps its history, and keeping it safely.
*/
#include "history.h"
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>

static char path[4096];
static int saving = 0;

static void warn(const char *what) {
  run_eprintf("nncalc: history not saved: %s %s (%s)\n", what, path, strerror(errno));
}

/* mkdir -p for the directories above path, mode 0700 (history is private). */
static int make_parents(void) {
  char dir[sizeof path];
  char *p;
  snprintf(dir, sizeof dir, "%s", path);
  for (p = dir + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return 0;
}

static void choose_path(void) {
  const char *env = getenv("NNCALC_HISTORY"), *state, *home;
  if (env != NULL && *env != '\0') {
    snprintf(path, sizeof path, "%s", env);
  } else if ((state = getenv("XDG_STATE_HOME")) != NULL && state[0] == '/') {
    snprintf(path, sizeof path, "%s/nncalc/history", state);
  } else if ((home = getenv("HOME")) != NULL && *home != '\0') {
    snprintf(path, sizeof path, "%s/.local/state/nncalc/history", home);
  } else {
    path[0] = '\0';
  }
}

void history_open(void) {
  struct stat st;
  int fd;
  /* timestamps separate entries, so an entry may span several lines */
  history_comment_char = '#';   /* timestamps are "#<seconds>" lines */
  history_write_timestamps = 1;
  history_multiline_entries = 1;
  stifle_history(HISTORY_MAX);
  choose_path();
  if (path[0] == '\0') return;
  if (make_parents() != 0) { warn("cannot create the directory of"); return; }
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
    errno = EISDIR;
    warn("not a regular file:");
    return;
  }
  fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) { warn("cannot open"); return; }
  close(fd);
  /* a corrupt file reads as odd entries at worst; read_history never fails hard */
  read_history(path);
  saving = 1;
}

void history_add_entry(const char *text) {
  HIST_ENTRY *last;
  if (text == NULL || text[0] == '\0') return;
  last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
  if (last != NULL && strcmp(last->line, text) == 0) return;
  add_history(text);
  /* saved at once, so a crash or os.exit() loses nothing */
  if (saving && append_history(1, path) != 0) {
    errno = errno ? errno : EIO;
    warn("cannot write");
    saving = 0;
  }
}

void history_close(void) {
  if (saving) history_truncate_file(path, HISTORY_MAX);
}

const char *history_path(void) { return saving ? path : NULL; }
