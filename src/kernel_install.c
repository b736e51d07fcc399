/*
** kernel_install.c — `nncalc --install-kernel [--user | --prefix P]`:
** writes the kernelspec Jupyter finds the kernel by,
** <data dir>/kernels/nncalc/kernel.json.  The data directory is Jupyter's
** system one (/usr/local/share/jupyter) by default, the user's with
** --user, P/share/jupyter with --prefix P (what `make install` uses).
*/
#include "kernel.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int mkdirs(const char *path) {
  char buf[PATH_MAX];
  char *p;
  snprintf(buf, sizeof buf, "%s", path);
  for (p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Where this binary is; under a staging root ($DESTDIR, as `make install
** DESTDIR=...` sets it) the path it will have once installed. */
static void exe_path(char *out, size_t n) {
  char buf[PATH_MAX];
  const char *dest = getenv("DESTDIR");
  if (realpath("/proc/self/exe", buf) == NULL) snprintf(buf, sizeof buf, "nncalc");
  if (dest != NULL && *dest != '\0' && strncmp(buf, dest, strlen(dest)) == 0 &&
      buf[strlen(dest)] == '/')
    snprintf(out, n, "%s", buf + strlen(dest));
  else
    snprintf(out, n, "%s", buf);
}

static int data_dir(int argc, char **argv, char *out, size_t n) {
  const char *env;
  if (argc == 0) { snprintf(out, n, "/usr/local/share/jupyter"); return 0; }
  if (argc == 1 && strcmp(argv[0], "--user") == 0) {
    if ((env = getenv("JUPYTER_DATA_DIR")) != NULL && *env) snprintf(out, n, "%s", env);
    else if ((env = getenv("XDG_DATA_HOME")) != NULL && *env) snprintf(out, n, "%s/jupyter", env);
    else if ((env = getenv("HOME")) != NULL && *env) snprintf(out, n, "%s/.local/share/jupyter", env);
    else { fprintf(stderr, "nncalc --install-kernel --user: HOME is not set\n"); return -1; }
    return 0;
  }
  if (argc == 2 && strcmp(argv[0], "--prefix") == 0 && argv[1][0] != '\0') {
    snprintf(out, n, "%s/share/jupyter", argv[1]);
    return 0;
  }
  fprintf(stderr, "usage: nncalc --install-kernel [--user | --prefix PREFIX]\n");
  return -1;
}

int kernel_install(int argc, char **argv) {
  char dir[PATH_MAX], file[PATH_MAX + 16], exe[PATH_MAX];
  const char *args[3];
  cJSON *spec;
  char *text;
  FILE *f;
  if (data_dir(argc, argv, dir, sizeof dir) != 0) return 2;
  strncat(dir, "/kernels/nncalc", sizeof dir - strlen(dir) - 1);
  exe_path(exe, sizeof exe);
  args[0] = exe;
  args[1] = "--kernel";
  args[2] = "{connection_file}";
  spec = cJSON_CreateObject();
  cJSON_AddItemToObject(spec, "argv", cJSON_CreateStringArray(args, 3));
  cJSON_AddStringToObject(spec, "display_name", "nncalc");
  cJSON_AddStringToObject(spec, "language", "lua");
  cJSON_AddStringToObject(spec, "interrupt_mode", "signal");
  cJSON_AddItemToObject(spec, "metadata", cJSON_CreateObject());
  text = cJSON_Print(spec);
  cJSON_Delete(spec);
  snprintf(file, sizeof file, "%s/kernel.json", dir);
  if (text == NULL || mkdirs(dir) != 0 || (f = fopen(file, "w")) == NULL) {
    fprintf(stderr, "nncalc --install-kernel: cannot write %s: %s\n", file, strerror(errno));
    free(text);
    return 1;
  }
  fprintf(f, "%s\n", text);
  free(text);
  if (fclose(f) != 0) {
    fprintf(stderr, "nncalc --install-kernel: cannot write %s: %s\n", file, strerror(errno));
    return 1;
  }
  printf("nncalc: Jupyter kernel installed in %s\n", dir);
  return 0;
}
