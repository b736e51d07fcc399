/*
** bench_startup.c — start-up cost of a command: runs it N times with
** fork/exec, reports the median wall time and the peak RSS (from wait4),
** for nncalc (its Lua half embedded as bytecode, and from the source files
** with NNCALC_LUA_DIR), and in the same run, side by side, for stock lua5.4
** and python3 -c 'import torch' when they are installed (else "absent").
**   bench_startup NNCALC LUA_DIR
*/
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#define RUNS 51

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Returns 0 and fills median ms / peak MB, or -1 if the command failed. */
static int measure(char *const argv[], int runs, double *median, double *peak) {
  double t[RUNS];
  long maxrss = 0;
  int i;
  for (i = 0; i < runs; i++) {
    struct rusage ru;
    int status;
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
      int dn = open("/dev/null", O_WRONLY);
      if (dn >= 0) { dup2(dn, 1); dup2(dn, 2); }
      execvp(argv[0], argv);
      _exit(127);
    }
    if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      return -1;
    t[i] = now_ms() - t0;
    if (ru.ru_maxrss > maxrss) maxrss = ru.ru_maxrss;
  }
  qsort(t, (size_t)runs, sizeof t[0], cmp);
  *median = t[runs / 2];
  *peak = maxrss / 1024.0;
  return 0;
}

/* One row; returns the median, or -1 when the command is absent/failed. */
static double row(const char *label, char *const argv[], int runs, double base) {
  double med, peak;
  if (measure(argv, runs, &med, &peak) != 0) {
    printf("%-34s %10s %12s   (absent)\n", label, "-", "-");
    return -1;
  }
  printf("%-34s %10.2f %12.1f", label, med, peak);
  if (base > 0) printf("   %6.2fx nncalc's", med / base);
  printf("\n");
  return med;
}

int main(int argc, char **argv) {
  /* execvp's argv is char *const[]: writable copies of the literals */
  static char self[] = "./nncalc", lua5[] = "lua5.4", e[] = "-e", empty[] = "";
  static char py[] = "/usr/bin/python3", c[] = "-c", imp[] = "import torch";
  char *nn[] = {argc > 1 ? argv[1] : self, e, empty, NULL};
  char *lua[] = {lua5, e, empty, NULL};
  char *torch[] = {py, c, imp, NULL};
  char env[4200];
  double med, peak;
  printf("== start-up: median of %d runs (5 for torch), peak RSS ==\n", RUNS);
  printf("%-34s %10s %12s\n", "command", "median ms", "peak RSS MB");
  if (measure(nn, RUNS, &med, &peak) != 0) {
    printf("could not run %s\n", nn[0]);
    return 1;
  }
  printf("%-34s %10.2f %12.1f\n", "nncalc -e '' (embedded bytecode)", med, peak);
  if (argc > 2) {
    snprintf(env, sizeof env, "NNCALC_LUA_DIR=%s", argv[2]);
    putenv(env);
    row("nncalc -e '' (NNCALC_LUA_DIR)", nn, RUNS, med);
    unsetenv("NNCALC_LUA_DIR");
  }
  row("lua5.4 -e '' (stock)", lua, RUNS, med);
  row("python3 -c 'import torch'", torch, 5, med);
  printf("targets: nncalc median < 2.5 ms (%s), peak RSS < 10 MB (%s)\n",
         med < 2.5 ? "PASS" : "MISS", peak < 10 ? "PASS" : "MISS");
  return 0;
}
