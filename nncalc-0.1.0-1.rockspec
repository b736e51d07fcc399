-- LuaRocks: `luarocks make` builds nncalc's Lua C module and installs it
-- with its Lua files (the Makefile's module / install-module targets).
rockspec_format = "3.0"
package = "nncalc"
version = "0.1.0-1"
source = { url = "git+file:///nncalc" }   -- luarocks make builds the checkout it is run in
description = {
  summary = "Tensors, autograd with readable chain-rule traces, and layer counting for deep-learning homework",
  detailed = [[
The nncalc calculator as a Lua library: float64 tensors, autograd whose
backward traces print each chain-rule step, nn modules, summary() counts and
receptive fields from layer settings alone.  local nc = require "nncalc"
gives the API as a table; nc.globals() the calculator's globals.]],
  license = "GPL-3.0-or-later",
}
dependencies = { "lua >= 5.4, < 5.5" }
build = {
  type = "make",
  build_target = "module",
  install_target = "install-module",
  build_variables = { CFLAGS = "$(CFLAGS)" },
  install_variables = { LUA_LMOD = "$(LUADIR)", LUA_CMOD = "$(LIBDIR)" },
}
