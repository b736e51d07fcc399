/*
** main.c — the nncalc command line: options, the Lua state with the
** nncalc library and its Lua half (lua/), then scripts, -e chunks or the
** REPL.  Everything runs inside a protected pmain, as in lua.c.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <lauxlib.h>
#include <lualib.h>

#include "complete.h"
#include "gemm.h"
#include "lalloc.h"
#include "lua_api.h"
#include "repl.h"
#include "run.h"

/* ---- the Jupyter kernel (kernel*.c), when its libraries were found ---- */
#ifdef NNCALC_KERNEL
#include "kernel.h"
#else
static int kernel_absent(void) {
  run_eprintf("%s: this nncalc was built without the Jupyter kernel; install libzmq3-dev, "
          "libcjson-dev and libssl-dev (scripts/install-deps does) and run make again\n", run_progname);
  return 1;
}
#define kernel_main(L, file) ((void)(L), (void)(file), kernel_absent())
#define kernel_install(argc, argv) ((void)(argc), (void)(argv), kernel_absent())
#endif

#ifndef NNCALC_VERSION
#define NNCALC_VERSION "0.1.0"
#endif
#ifndef NNCALC_LUADIR
#define NNCALC_LUADIR "/usr/local/share/lua/5.4"
#endif

static const char usage_text[] =
  "usage: %s [options] [script [args]]\n"
  "An interactive calculator for neural networks (Lua 5.4 with tensors).\n"
  "\n"
  "  script [args]  run a Lua script; its arguments are in the table `arg`\n"
  "  check FILE... [--tap|--json|--gradescope[=PATH]] [-- args]\n"
  "                 run homework files of check() calls and report per file and\n"
  "                 in total; args reach each file as arg; exit status 1 when\n"
  "                 any check failed\n"
  "  lesson [N|name] [--no-pause]  list the lessons, or run one\n"
  "  -              run standard input as a script\n"
  "  -e code        run a chunk of code (may be repeated)\n"
  "  -i             open the REPL after running script or -e\n"
  "  -q, --quiet    no banner\n"
  "  --debug        show a traceback with every error\n"
  "  --kernel FILE  run as a Jupyter kernel (FILE: the connection file)\n"
  "  --install-kernel [--user|--prefix P]  install the kernelspec for Jupyter\n"
  "  -v, --version  print the version\n"
  "  -h, --help     print this help\n"
  "\n"
  "Without a script, nncalc opens the REPL at a terminal, and reads standard\n"
  "input as REPL lines (with values printed, no prompts) otherwise.\n"
  "Environment: NNCALC_MAX_ELEMENTS (allocation cap), NNCALC_LUA_DIR,\n"
  "NNCALC_LESSONS_DIR, NNCALC_HISTORY (history file), PAGER, NO_COLOR;\n"
  "see man nncalc.\n";

typedef struct Options {
  int interactive, quiet, version, help, stdin_script;
  int script;          /* index in argv of the script, or 0 */
  int kernel;          /* index in argv of --kernel's connection file, or 0 */
  int first_e;         /* there is at least one -e */
  int bad;             /* index of an unknown or incomplete option */
} Options;

/* ======================================================================
** Finding lua/: $NNCALC_LUA_DIR, next to the binary (build tree), or the
** installed data directory.
** ====================================================================== */

static int is_dir_with_prelude(const char *dir) {
  char path[4200];
  struct stat st;
  snprintf(path, sizeof path, "%s/nncalc/prelude.lua", dir);
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void find_lua_dir(char *out, size_t n) {
  char exe[2048];
  ssize_t len;
  const char *env = getenv("NNCALC_LUA_DIR");
  if (env != NULL && *env != '\0') {
    snprintf(out, n, "%s", env);
    return;
  }
  len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len > 0) {
    char *slash;
    exe[len] = '\0';
    if ((slash = strrchr(exe, '/')) != NULL) *slash = '\0';
    snprintf(out, n, "%s/lua", exe);
    if (is_dir_with_prelude(out)) return;
    snprintf(out, n, "%s/../share/lua/5.4", exe);   /* installed: where stock Lua looks */
    if (is_dir_with_prelude(out)) return;
  }
  snprintf(out, n, "%s", NNCALC_LUADIR);
}

/* nncalc.debug(on): tracebacks with errors, like --debug. */
static int l_debug(lua_State *L) {
  run_debug = lua_toboolean(L, 1);
  return 0;
}

static int interactive_session = 0;

/* nncalc.interactive(): true in the REPL at a terminal (backward{step=true}
** waits for Enter there, and runs straight through elsewhere). */
static int l_interactive(lua_State *L) {
  lua_pushboolean(L, interactive_session);
  return 1;
}

/* nncalc.stdin_tty(): whether a person is typing (lessons wait for them). */
static int l_stdin_tty(lua_State *L) {
  lua_pushboolean(L, isatty(0));
  return 1;
}

/* nncalc.complete(word): what Tab would offer, as a sorted list. */
static int l_complete(lua_State *L) {
  char **m = complete_list(L, luaL_checkstring(L, 1));
  int i, n = 0;
  lua_newtable(L);
  if (m == NULL) return 1;
  for (i = 1; m[i] != NULL; i++) {
    lua_pushstring(L, m[i]);
    lua_rawseti(L, -2, ++n);
    free(m[i]);
  }
  free(m[0]);
  free(m);
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_pushvalue(L, -3);
  lua_call(L, 1, 0);
  lua_pop(L, 1);
  return 1;
}

/* nncalc._term_size(): columns and rows of the terminal on stdout, or
** nothing when stdout is not a terminal (tables, plots and help then keep
** their fixed widths and never page). */
static int l_term_size(lua_State *L) {
  int rows = 0, cols = 0;
  if (!repl_screen_size(&rows, &cols)) return 0;
  lua_pushinteger(L, cols);
  lua_pushinteger(L, rows);
  return 2;
}

/* nncalc._read_answer(prompt): a line read through Readline (a lesson's
** ask and pause); nil at end of input; nil, "interrupted" after Ctrl-C. */
static int l_read_answer(lua_State *L) {
  int interrupted = 0;
  char *line = repl_read_answer(luaL_optstring(L, 1, ""), &interrupted);
  if (line == NULL) {
    lua_pushnil(L);
    if (!interrupted) return 1;
    lua_pushliteral(L, "interrupted");
    return 2;
  }
  lua_pushstring(L, line);
  free(line);
  return 1;
}

/* The binary's own additions to the library table (at the top). */
static void add_host_functions(lua_State *L) {
  lua_pushliteral(L, NNCALC_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushstring(L, gemm_backend());
  lua_setfield(L, -2, "gemm");
  lua_pushcfunction(L, l_debug);
  lua_setfield(L, -2, "debug");
  lua_pushcfunction(L, l_complete);
  lua_setfield(L, -2, "complete");
  lua_pushcfunction(L, l_interactive);
  lua_setfield(L, -2, "interactive");
  lua_pushcfunction(L, l_stdin_tty);
  lua_setfield(L, -2, "stdin_tty");
  lua_pushcfunction(L, l_term_size);
  lua_setfield(L, -2, "_term_size");
  lua_pushcfunction(L, l_read_answer);
  lua_setfield(L, -2, "_read_answer");
}

/* The Lua half, then the calculator's globals: lib.globals() writes them
** (only where the user has none of that name yet). */
static int boot(lua_State *L) {
  const char *dir = lua_tostring(L, 2);
  lt_boot(L, 1, dir);
  lua_getfield(L, 1, "globals");
  lua_call(L, 0, 0);
  return 0;
}

/* ======================================================================
** Options
** ====================================================================== */

static void parse(int argc, char **argv, Options *o) {
  int i;
  memset(o, 0, sizeof *o);
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-") == 0) { o->stdin_script = 1; o->script = i; return; }
    if (a[0] != '-') { o->script = i; return; }
    if (strcmp(a, "--") == 0) { if (i + 1 < argc) o->script = i + 1; return; }
    if (strcmp(a, "-e") == 0) {
      if (++i >= argc) { o->bad = i - 1; return; }
      o->first_e = 1;
    } else if (strcmp(a, "-i") == 0) o->interactive = 1;
    else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) o->quiet = 1;
    else if (strcmp(a, "--debug") == 0) run_debug = 1;
    else if (strcmp(a, "--kernel") == 0) {
      if (++i >= argc) { o->bad = i - 1; return; }
      o->kernel = i;
    }
    else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) o->version = 1;
    else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) o->help = 1;
    else { o->bad = i; return; }
  }
}

/* arg[0] is the script, arg[1..] its arguments, arg[-k] what came before. */
static void create_arg_table(lua_State *L, int argc, char **argv, int script) {
  int i;
  if (script == 0) script = argc;
  lua_createtable(L, argc - script, script + 1);
  for (i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int run_e_chunks(lua_State *L, int argc, char **argv) {
  int i;
  for (i = 1; i < argc; i++) {
    if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0 || strcmp(argv[i], "--") == 0) break;
    if (strcmp(argv[i], "-e") == 0) {
      if (run_string(L, argv[++i], "=(command line)") != LUA_OK) return 0;
    }
  }
  return 1;
}

static int run_script(lua_State *L, int argc, char **argv, const Options *o) {
  int status, n, i;
  const char *fname = o->stdin_script ? NULL : argv[o->script];
  status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    n = argc - o->script - 1;
    luaL_checkstack(L, n + 1, "too many arguments to script");
    for (i = 1; i <= n; i++) lua_pushstring(L, argv[o->script + i]);
    status = run_call(L, n, 0);
  }
  return run_report(L, status) == LUA_OK;
}

/* `nncalc check FILE` and the like: a Lua module whose main(args) returns
** the exit status.  A file of that name in the current directory wins. */
static const char *const subcommands[] = {"check", "lesson", NULL};

static int is_subcommand(const char *a) {
  struct stat st;
  int i;
  for (i = 0; subcommands[i]; i++)
    if (strcmp(a, subcommands[i]) == 0) return stat(a, &st) != 0;
  return 0;
}

static int run_subcommand(lua_State *L, int argc, char **argv, int at, int *exit_code) {
  int i, status;
  lua_getglobal(L, "require");
  lua_pushfstring(L, "nncalc.%s", argv[at]);
  status = run_call(L, 1, 1);
  if (status == LUA_OK) {
    lua_getfield(L, -1, "main");
    lua_remove(L, -2);
    lua_createtable(L, argc - at - 1, 0);
    for (i = at + 1; i < argc; i++) {
      lua_pushstring(L, argv[i]);
      lua_rawseti(L, -2, i - at);
    }
    status = run_call(L, 1, 1);
  }
  if (run_report(L, status) != LUA_OK) return 0;
  *exit_code = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return 1;
}

static void banner(void) {
  printf("nncalc %s  (Lua 5.4, float64 tensors, gemm: %s)\n"
         "Type help() for topics, ?name for one function, lesson() for lessons, Ctrl-D to leave.\n",
         NNCALC_VERSION, gemm_backend());
}

/* ======================================================================
** pmain: everything that can raise runs protected
** ====================================================================== */

static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  Options o;
  char dir[4096];
  int ok = 1, tty = isatty(0);

  if (argc >= 2 && strcmp(argv[1], "--install-kernel") == 0) {
    lua_pushinteger(L, kernel_install(argc - 2, argv + 2));
    return 1;
  }
  parse(argc, argv, &o);
  if (o.bad) {
    if (strcmp(argv[o.bad], "-e") == 0 && o.bad == argc - 1)
      run_eprintf("%s: option '-e' needs the code to run, e.g. -e 'print(1)'\n", run_progname);
    else if (strcmp(argv[o.bad], "--kernel") == 0 && o.bad == argc - 1)
      run_eprintf("%s: option '--kernel' needs the connection file Jupyter gives\n", run_progname);
    else
      run_eprintf("%s: unrecognized option '%s'\n", run_progname, argv[o.bad]);
    run_eprintf(usage_text, run_progname);
    lua_pushinteger(L, 1);
    return 1;
  }
  if (o.help) { printf(usage_text, run_progname); lua_pushinteger(L, 0); return 1; }
  if (o.version) { printf("nncalc %s\n", NNCALC_VERSION); lua_pushinteger(L, 0); return 1; }

  /* no collection while the library loads: it is all live, and the
  ** collector's passes over it would only cost start-up time */
  lua_gc(L, LUA_GCSTOP);
  luaL_openlibs(L);
  run_order_output(L);
  luaL_requiref(L, "nncalc", lt_open_core, 1);
  add_host_functions(L);
  find_lua_dir(dir, sizeof dir);
  run_set_libdir(dir);
  create_arg_table(L, argc, argv, o.script);
  lua_pushcfunction(L, boot);
  lua_insert(L, -2);
  lua_pushstring(L, dir);
  if (run_call(L, 2, 0) != LUA_OK) {
    run_report(L, LUA_ERRRUN);
    run_eprintf("%s: cannot load the Lua library from %s (set NNCALC_LUA_DIR)\n",
            run_progname, dir);
    lua_pushinteger(L, 1);
    return 1;
  }
  lua_gc(L, LUA_GCRESTART);
  /* generational, with minor collections paced by tensor count (l_gc.c) */
  lt_gc_start(L);
  if (o.kernel) {
    lua_pushinteger(L, kernel_main(L, argv[o.kernel]));
    return 1;
  }

  if (o.first_e) ok = run_e_chunks(L, argc, argv);
  if (ok && o.script && !o.stdin_script && is_subcommand(argv[o.script])) {
    int code = 1;
    ok = run_subcommand(L, argc, argv, o.script, &code);
    lua_pushinteger(L, ok ? code : 1);
    return 1;
  }
  if (ok && o.script) ok = run_script(L, argc, argv, &o);
  if (ok && (o.interactive || (!o.script && !o.first_e))) {
    int use_tty = tty && !o.stdin_script;
    if (use_tty && !o.quiet) banner();
    interactive_session = use_tty;
    /* replayed sessions (a pipe) report failure through the exit status */
    if (repl_run(L, use_tty) > 0 && !use_tty) ok = 0;
  }
  lua_pushinteger(L, ok ? 0 : 1);
  return 1;
}

/* Errors outside any protected call (there should be none) end here. */
static int panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  run_eprintf("%s: unprotected error: %s\n", run_progname, msg ? msg : "?");
  return 0;
}

/* Tensors of a few MB come and go at every layer of a training step, and
** glibc gave their pages back to the kernel (mmap, or trimming the heap
** top) only to fault them in again on the next allocation: 130 page faults
** a LeNet-5 forward.  Freed memory up to 64 MB now stays for reuse, and
** only tensors past 32 MB get pages of their own. */
static void tune_malloc(void) {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
#endif
}

int main(int argc, char **argv) {
  lua_State *L;
  int status, code;
  tune_malloc();
  L = lua_newstate(lalloc, NULL);
  if (argv[0] && argv[0][0]) run_progname = "nncalc";
  if (L == NULL) {
    run_eprintf("%s: cannot create the Lua state: not enough memory\n", run_progname);
    return EXIT_FAILURE;
  }
  lua_atpanic(L, panic);
  if (!nn_max_elements_env_ok())
    run_eprintf("%s: NNCALC_MAX_ELEMENTS=%s is not a positive whole number; using %lld\n",
            run_progname, getenv("NNCALC_MAX_ELEMENTS"), (long long)nn_max_elements());
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  status = lua_pcall(L, 2, 1, 0);
  code = status == LUA_OK ? (int)lua_tointeger(L, -1) : EXIT_FAILURE;
  run_report(L, status);
  lua_close(L);
  return code;
}
