#!/bin/sh
# boundary_test.sh BUILD_DIR — the layering the build promises: the C core
# and its Check runner know neither Lua nor Readline, and every source file
# compiles warning-free under the Makefile's WARN (which carries Lua's own
# set: -Wshadow -Wundef -Wwrite-strings -Wmissing-prototypes ...).
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

core=$(make -s print-CORE)
warn=$(make -s print-WARN)
cc=${CC:-cc}

# 1. the Check runner's link: no Lua, no Readline among the libraries it needs
if [ -x "$build/check_runner" ]; then
  needed=$(readelf -d "$build/check_runner" | grep NEEDED)
  if printf '%s\n' "$needed" | grep -Eiq 'lua|readline'; then
    bad "check_runner needs Lua or Readline: $needed"
  else ok; fi
  # nor a single Lua or Readline symbol inside it
  if nm -u "$build/check_runner" | grep -Eq ' (lua_|luaL_|luaopen_|rl_|readline|add_history)'; then
    bad "check_runner has undefined Lua/Readline symbols"
  else ok; fi
else
  bad "$build/check_runner is missing"
fi

# 2. the core compiles without the Lua and Readline include paths, and
#    nothing in it refers to them
for f in $core; do
  if grep -Eq '#include *[<"](lua|lauxlib|lualib|readline)' "src/$f.c"; then
    bad "src/$f.c includes a Lua or Readline header"
  else ok; fi
done

# 3. every source, warning-free under WARN (-Werror makes a warning fail)
base="-std=c11 -D_POSIX_C_SOURCE=200809L $warn -Werror -fsyntax-only -DHAVE_CBLAS \
  -DNNCALC_BLAS_LIB=\"x\" -DNNCALC_VERSION=\"0\" -DNNCALC_DATADIR=\"x\" $(pkg-config --cflags openblas 2>/dev/null)"
for f in $core; do
  if out=$($cc $base -c "src/$f.c" 2>&1); then ok; else bad "src/$f.c: $out"; fi
done
for f in src/*.c; do
  n=$(basename "$f" .c)
  case " $core " in *" $n "*) continue ;; esac
  extra=""
  case "$n" in kernel*)   # the Jupyter kernel: only where its libraries are
    extra=$(pkg-config --cflags libzmq libcjson libcrypto 2>/dev/null) || continue ;;
  esac
  if out=$($cc $base $(pkg-config --cflags lua5.4 readline) $extra -c "$f" 2>&1); then ok; else bad "$f: $out"; fi
done
for f in tests/check_*.c; do
  if out=$($cc $base -Isrc $(pkg-config --cflags check) -c "$f" 2>&1); then ok; else bad "$f: $out"; fi
done

echo "boundary: $pass passed, $fail failed"
[ $fail -eq 0 ]
