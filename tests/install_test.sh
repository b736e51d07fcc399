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
# the rockspec, where LuaRocks is installed (its make backend runs make module / install-module)
if command -v luarocks >/dev/null 2>&1; then
  if (cd "$top" && luarocks --lua-version=5.4 make --tree="$tmp/rocks" nncalc-*.rockspec) >"$tmp/rock.log" 2>&1; then
    ok
    out=$(sh "$top/tests/stock_lua_test.sh" "$tmp/rocks/share/lua/5.4" "$tmp/rocks/lib/lua/5.4" 2>&1)
    case "$out" in *"stock: "*" 0 failed"*) ok ;; *) bad "stock lua5.4 after luarocks make: $out" ;; esac
  else bad "luarocks make failed: $(tail -n 3 "$tmp/rock.log")"; fi
else
  echo "install: luarocks is not installed; the rockspec is not tested"
fi
# the kernelspec, when nncalc has the Jupyter kernel: argv names the
# installed binary (/usr/bin/nncalc), not the staging root
if ! "$top/nncalc" --kernel /nonexistent/kernel.json 2>&1 | grep -q "built without the Jupyter kernel"; then
  spec="$tmp/usr/share/jupyter/kernels/nncalc/kernel.json"
  [ -f "$spec" ] && ok || bad "no kernel.json in share/jupyter/kernels/nncalc"
  grep -q '"argv":[[:space:]]*\["/usr/bin/nncalc", "--kernel", "{connection_file}"\]' "$spec" 2>/dev/null && ok ||
    bad "kernel.json argv is not /usr/bin/nncalc --kernel {connection_file}: $(cat "$spec" 2>/dev/null)"
  grep -q '"display_name":[[:space:]]*"nncalc"' "$spec" 2>/dev/null && grep -q '"language":[[:space:]]*"lua"' "$spec" &&
    ok || bad "kernel.json lacks display_name nncalc / language lua"
  out=$(env -u JUPYTER_DATA_DIR -u XDG_DATA_HOME HOME="$tmp/home" "$top/nncalc" --install-kernel --user 2>&1)
  [ -f "$tmp/home/.local/share/jupyter/kernels/nncalc/kernel.json" ] && ok || bad "--install-kernel --user: $out"
  out=$("$top/nncalc" --install-kernel --bogus 2>&1); rc=$?
  [ $rc -ne 0 ] && echo "$out" | grep -q "usage: nncalc --install-kernel" && ok || bad "a bad option is not refused: $out"
fi
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
