#!/bin/sh
# install_test.sh — `make install` into a scratch root, then the installed
# binary finds its Lua library, lessons and man page without help.
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL install: $1"; }

if make -s -C "$top" install DESTDIR="$tmp" PREFIX=/usr >"$tmp/log" 2>&1; then ok; else bad "make install failed: $(tail -n 3 "$tmp/log")"; fi
[ -x "$tmp/usr/bin/nncalc" ] && ok || bad "no binary in bin/"
[ -f "$tmp/usr/share/lua/5.4/nncalc/prelude.lua" ] && ok || bad "no Lua library where stock Lua looks (share/lua/5.4/nncalc)"
cmod=$(pkg-config --variable=INSTALL_CMOD lua5.4)
[ -f "$tmp$cmod/nncalc.so" ] && ok || bad "no nncalc.so in $cmod"
[ -d "$tmp/usr/share/nncalc/lessons" ] && ok || bad "no lessons/"
[ -f "$tmp/usr/share/man/man1/nncalc.1" ] && ok || bad "no man page"
out=$(cd "$tmp" && env -u NNCALC_LUA_DIR "$tmp/usr/bin/nncalc" -e 'print(tensor{{1,2},{3,4}}:sum())' 2>&1)
[ "$out" = "10" ] && ok || bad "the installed binary does not run: $out"
# stock lua5.4 through require "nncalc", from the installed files
out=$(sh "$top/tests/stock_lua_test.sh" "$tmp/usr/share/lua/5.4" "$tmp$cmod" 2>&1)
case "$out" in *"stock: "*" 0 failed"*) ok ;; *) bad "stock lua5.4 after make install: $out" ;; esac
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
