/*
** bench_startup.c — start-up cost of a command: runs it N times with
** fork/exec, reports the median wall time and the peak RSS (from wait4),
** for nncalc and, side by side, for lua5.4 when it is installed.
**   bench_startup NNCALC
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
static int measure(char *const argv[], double *median, double *peak) {
  double t[RUNS];
  long maxrss = 0;
  int i;
  for (i = 0; i < RUNS; i++) {
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
  qsort(t, RUNS, sizeof t[0], cmp);
  *median = t[RUNS / 2];
  *peak = maxrss / 1024.0;
  return 0;
}

static void row(const char *label, char *const argv[]) {
  double med, peak;
  if (measure(argv, &med, &peak) == 0)
    printf("%-20s %10.2f %12.1f\n", label, med, peak);
  else
    printf("%-20s %10s %12s\n", label, "n/a", "n/a");
}

int main(int argc, char **argv) {
  /* execvp's argv is char *const[]: writable copies of the literals */
  static char self[] = "./nncalc", lua5[] = "lua5.4", e[] = "-e", empty[] = "";
  char *nn[] = {argc > 1 ? argv[1] : self, e, empty, NULL};
  char *lua[] = {lua5, e, empty, NULL};
  double med, peak;
  printf("== start-up: median of %d runs, peak RSS ==\n", RUNS);
  printf("%-20s %10s %12s\n", "command", "median ms", "peak RSS MB");
  if (measure(nn, &med, &peak) != 0) {
    printf("could not run %s\n", nn[0]);
    return 1;
  }
  printf("%-20s %10.2f %12.1f\n", "nncalc -e ''", med, peak);
  row("lua5.4 -e ''", lua);
  printf("targets: nncalc median < 5 ms (%s), peak RSS < 10 MB (%s)\n",
         med < 5 ? "PASS" : "MISS", peak < 10 ? "PASS" : "MISS");
  printf("reference on this machine class: python3 -c 'import torch' about 870 ms / 233 MB\n");
  return 0;
}
