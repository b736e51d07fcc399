#!/bin/sh
# stock_lua_test.sh [LUA_DIR SO_DIR] — tests/stock_lua_test.lua under a
# stock lua5.4 with require "nncalc" (default: the build tree's lua/ and
# build/nncalc.so).  Skips when lua5.4 is not installed.
top=$(cd "$(dirname "$0")/.." && pwd)
luadir=${1:-$top/lua}; sodir=${2:-$top/build}
if ! command -v lua5.4 >/dev/null 2>&1; then
  echo "stock: 0 passed, 0 failed, 1 skipped (lua5.4 is not installed)"; exit 0
fi
cd "$(mktemp -d)" || exit 1
# a student's own modules first on the path change nothing
for m in check format summary nn; do echo 'return {}' > "$m.lua"; done
LUA_PATH="./?.lua;$luadir/?.lua;;" LUA_CPATH="$sodir/?.so;;" lua5.4 "$top/tests/stock_lua_test.lua"
