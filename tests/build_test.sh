#!/bin/sh
# build_test.sh — the build on other machines and for other users, and the
# man page against --help:
#   sh tests/build_test.sh path/to/nncalc
# - x86-only flags only on x86: the C core cross-compiled for aarch64 with
#   Debian's gcc-aarch64-linux-gnu (skipped when it is not installed)
# - make prints one line per file unless V=1
# - make needs Lua and Readline, make test also Check; a missing one without
#   root is named exactly (pkg-config answers through a stand-in that hides it)
# - every command-line form and environment variable is in the man page
# Prints one line per failure and a closing "build: N passed, N failed".
NN=${1:-./nncalc}
top=$(cd "$(dirname "$0")/.." && pwd)
pass=0; fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL build: $1"; [ -n "${2:-}" ] && printf '  got: %s\n' "$2"; }

# ---- cross compiler: no x86-only flags for aarch64 --------------------------
if command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
  out=$(cd "$top" && nice make --no-print-directory -j2 core CC=aarch64-linux-gnu-gcc BUILD="$tmp/arm" 2>&1); rc=$?
  if [ $rc -ne 0 ]; then bad "the core cross-compiles for aarch64" "$out"
  else
    case "$out" in *warning*|*error*) bad "aarch64 build is warning-free" "$out" ;; *) ok ;; esac
    # ELF e_machine (bytes 18-19, little-endian) is 183 for AArch64
    m=$(od -An -tu2 -j18 -N2 "$tmp/arm/gemm.o" | tr -d ' ')
    [ "$m" = 183 ] && ok || bad "gemm.o is an AArch64 object (e_machine $m)"
  fi
  out=$(cd "$top" && make --no-print-directory -n V=1 -W src/gemm.c -W src/optim.c CC=aarch64-linux-gnu-gcc BUILD="$tmp/arm" "$tmp/arm/gemm.o" "$tmp/arm/optim.o" 2>&1)
  case "$out" in *-mprefer-vector-width*|*-march=native*|*-mtune=*) bad "aarch64: no x86 flags" "$out" ;;
    *aarch64-linux-gnu-gcc*) ok ;; *) bad "aarch64: the commands" "$out" ;; esac
else
  echo "build: no aarch64-linux-gnu-gcc (apt-get install gcc-aarch64-linux-gnu); cross-build test skipped"
fi
case "$(cc -dumpmachine)" in x86_64*)
  out=$(cd "$top" && make --no-print-directory -n V=1 -W src/gemm.c BUILD="$tmp/x86" "$tmp/x86/gemm.o" 2>&1)
  case "$out" in *-mprefer-vector-width=512*) ok ;; *) bad "x86: the wide-vector flag stays" "$out" ;; esac ;;
esac

# ---- the vector kernels at the widths this machine lacks ---------------------
# NNCALC_VL=n (simd.h) builds the generic vector code at n doubles a vector:
# the blocking, the split rows and the overlapping groups of AVX-512's
# width (8) and SSE2's or NEON's (2) run through the kernels' Check suites
# here, whatever the CPU.
for vl in 8 2; do
  out=$(cd "$top" && nice make --no-print-directory -j2 BUILD="$tmp/vl$vl" \
        CFLAGS="-DNNCALC_VL=$vl -Wno-psabi" "$tmp/vl$vl/check_runner" 2>&1); rc=$?
  if [ $rc -ne 0 ]; then bad "the kernels build at VL=$vl" "$out"; continue; fi
  case "$out" in *warning*) bad "the VL=$vl build is warning-free" "$out" ;; *) ok ;; esac
  for suite in conv pool gemm; do
    out=$(CK_RUN_SUITE=$suite CK_VERBOSITY=silent "$tmp/vl$vl/check_runner" 2>&1); rc=$?
    [ $rc -eq 0 ] && ok || bad "the $suite suite at VL=$vl" "$(printf '%s\n' "$out" | tail -5)"
  done
done

# ---- one line per file unless V=1 -------------------------------------------
out=$(cd "$top" && make --no-print-directory BUILD="$tmp/q" "$tmp/q/status.o" 2>&1)
[ "$out" = "CC src/status.c" ] && ok || bad "make prints 'CC src/status.c'" "$out"
out=$(cd "$top" && make --no-print-directory V=1 -W src/status.c BUILD="$tmp/q" "$tmp/q/status.o" 2>&1)
case "$out" in *"-std=c11"*"-c -o $tmp/q/status.o src/status.c"*) ok ;; *) bad "V=1 shows the compiler line" "$out" ;; esac

# ---- dependencies: what each goal needs, named exactly without root ------------
real_pc=$(command -v pkg-config)
mkdir -p "$tmp/bin"
fake_pc() {   # a pkg-config that cannot find the modules named in $hide
  cat > "$tmp/bin/pkg-config" <<SH
#!/bin/sh
if [ "\$1" = --exists ]; then
  for m in $1; do [ "\$2" = "\$m" ] && exit 1; done
fi
exec "$real_pc" "\$@"
SH
  chmod 755 "$tmp/bin/pkg-config"
}
as_user() {   # runs without root (as nobody) when we are root
  if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
    setpriv --reuid=65534 --regid=65534 --clear-groups env NNCALC_NO_SUDO=1 HOME="$tmp" "$@"
  else env NNCALC_NO_SUDO=1 "$@"; fi
}
chmod 755 "$tmp"
fake_pc "check"
out=$(cd "$top" && as_user make -n --no-print-directory PKG_CONFIG="$tmp/bin/pkg-config" BUILD="$tmp/nb" 2>&1); rc=$?
case "$out" in *"missing build dependencies"*) bad "make without Check still builds (Check is for make test)" "$out" ;; *) [ $rc -eq 0 ] && ok || bad "make -n without Check: status $rc" "$out" ;; esac
out=$(cd "$top" && as_user make -n --no-print-directory PKG_CONFIG="$tmp/bin/pkg-config" BUILD="$tmp/nb" test 2>&1); rc=$?
case "$out" in *"nncalc: missing: check"*"sudo apt-get install check"*) [ $rc -ne 0 ] && ok || bad "make test without Check fails" ;;
  *) bad "make test without Check names the package 'check'" "$out" ;; esac
fake_pc "readline"
out=$(cd "$top" && as_user make -n --no-print-directory PKG_CONFIG="$tmp/bin/pkg-config" BUILD="$tmp/nb" 2>&1); rc=$?
case "$out" in *"nncalc: missing: libreadline-dev"*) ok ;; *) bad "make without Readline names libreadline-dev" "$out" ;; esac
case "$out" in *liblua5.4-dev*|*"missing: libreadline-dev check"*) bad "only the missing package is named" "$out" ;; *) ok ;; esac
[ $rc -ne 0 ] && ok || bad "make without Readline fails"
fake_pc "lua5.4 readline"
out=$(cd "$top" && as_user make -n --no-print-directory PKG_CONFIG="$tmp/bin/pkg-config" BUILD="$tmp/nb" 2>&1)
case "$out" in *"nncalc: missing: liblua5.4-dev libreadline-dev"*) ok ;; *) bad "make names both missing packages" "$out" ;; esac

# ---- the man page covers --help: options, subcommands, environment ---------------
man="$top/doc/nncalc.1"
page=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$man")
help=$("$NN" --help)
for w in $(printf '%s\n' "$help" | grep -oE '(^|[ [|])--?[a-z][a-z-]*' | tr -d ' [|' | sort -u) check lesson; do
  case "$page" in *"$w"*) ok ;; *) bad "the man page lacks '$w' (from --help)" ;; esac
done
for w in $(printf '%s\n' "$page" | grep -oE '^\.(B|BR|BI|TP) +--?[a-z][a-z-]*' | grep -oE -- '--?[a-z][a-z-]*' | sort -u); do
  case "$help" in *"$w"*) ok ;; *) bad "--help lacks '$w' (from the man page)" ;; esac
done
# every environment variable the code reads; NNCALC_* also in --help
for v in $(grep -rhoE 'getenv\("[A-Z_]+"\)' "$top/src" "$top/lua" | sed -E 's/.*"(.*)".*/\1/' | sort -u); do
  case "$page" in *"$v"*) ok ;; *) bad "the man page lacks the environment variable $v" ;; esac
  case "$v" in NNCALC_*) case "$help" in *"$v"*) ok ;; *) bad "--help lacks the environment variable $v" ;; esac ;; esac
done

echo "build: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
