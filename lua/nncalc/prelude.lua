-- nncalc/prelude.lua — the Lua half of nncalc: gives the library's
-- environment its lookup rule, loads the printing policy, and defines
-- nncalc.globals(), the only code that writes the calculator's globals.
--
-- This file, like every nncalc module, runs in the library's environment
-- (l_loader.c): a bare name resolves to the standard library as it was at
-- start-up, then to nncalc's C functions, then to the Lua functions named in
-- exports.lua (loading their module on first use).  The user's globals are
-- never read or written by it, so `summary = 1` or a student's own check()
-- cannot break another nncalc function.

local env = _ENV
local G = _G                  -- the user's globals (set by l_loader.c)
local lib = nncalc            -- the C library's table

-- the standard library as it is now, before any user code runs
local std = {}
for k, v in G.next, G do std[k] = v end
std._G = G
local rawget, rawset, type, require, error = G.rawget, G.rawset, G.type, G.require, G.error

local exports, named

-- A public Lua function of the library table (std, var ... that Lua
-- modules put there): its raw Lua errors name it, like the lazy ones
local function public(k, v)
  if type(v) == "function" and named and exports and not exports.method_only[k] and k:sub(1, 1) ~= "_"
     and G.debug.getinfo(v, "S").what == "Lua" then
    return named.wrap(k, v)
  end
  return v
end

G.setmetatable(env, { __index = function(t, k)
  local v = std[k]
  if v == nil then v = public(k, rawget(lib, k)) end
  if v == nil and exports then
    -- (the packages nn, models, optim are lib's own fields, found above)
    local module = exports.module_of[k]
    if module then
      local m = require(module)
      v = type(m) == "table" and rawget(m, k) or rawget(t, k)
      if v == nil then error(("nncalc: module %s does not define %s"):format(module, k), 2) end
      -- a public Lua function: its raw Lua errors name it (nncalc/named.lua)
      if type(v) == "function" then v = named.wrap(k, v) end
    end
  end
  if v ~= nil then rawset(t, k, v) end
  return v
end })
named = require("nncalc.named")
exports = require("nncalc.exports")

local tensor_mt = getmetatable(lib.zeros(0))
function lib.is_tensor(v) return getmetatable(v) == tensor_mt end

require("nncalc.term")     -- before anything prints
require("nncalc.format")

-- The packages (nn, models, optim) load on their first use, as the lazy
-- functions do: loading them took a third of the start-up.  Until then
-- each is an empty table whose metatable loads the module into that very
-- table (lib._package), so nncalc.nn, the global nn and require's result
-- are one table; __pairs loads too (help's listings), and Tab completion
-- calls __load (src/complete.c).  What a user put into the table before
-- it loaded stays theirs.
local package_mt = {}
local function lazy_package(name, module)
  local t = {}
  local function load()
    if getmetatable(t) == package_mt[name] then
      local mine = {}
      for k, v in next, t do mine[k] = v end
      setmetatable(t, nil)
      require(module)
      for k, v in next, mine do t[k] = v end
    end
    return t
  end
  package_mt[name] = { __name = "nncalc.package", __load = load,
    __index = function(_, k) return load()[k] end,
    __pairs = function() return next, load(), nil end }
  return setmetatable(t, package_mt[name])
end
for name, module in pairs(exports.tables) do lib[name] = lazy_package(name, module) end

-- The table a package's module fills: its lazy placeholder, now plain.
function lib._package(name)
  local t = rawget(lib, name)
  if getmetatable(t) == package_mt[name] then setmetatable(t, nil) end
  return t
end

-- The library table is the whole API (require "nncalc" from stock Lua):
-- its Lua functions load with their module on first use.
G.setmetatable(lib, { __index = function(_, k)
  if exports.module_of[k] then return env[k] end
end })

-- Autograd methods and hooks defined in nncalc.autograd load it on first use.
function lib.Tensor.backward(...)
  require("nncalc.autograd")
  lib.Tensor.backward = named.wrap("backward", lib.Tensor.backward)
  return lib.Tensor.backward(...)
end
function lib.warn(...)
  require("nncalc.autograd")
  return lib.warn(...)
end
for module, names in pairs(exports.methods) do
  for _, name in ipairs(names) do
    lib.Tensor[name] = function(...)
      require(module)   -- replaces this placeholder with the method, whose raw errors name it
      lib.Tensor[name] = named.wrap(name, lib.Tensor[name])
      return lib.Tensor[name](...)
    end
  end
end

-- ---- how the REPL shows values ----------------------------------------

local function show(v, depth)
  local ty = type(v)
  if ty == "string" then return depth > 0 and ("%q"):format(v) or v end
  if ty == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return v == 0 and "0" or ("%.14g"):format(v)   -- never "-0"
  end
  if ty ~= "table" or getmetatable(v) ~= nil or depth > 1 then return tostring(v) end
  local parts, n = {}, #v
  for i = 1, n do parts[#parts + 1] = show(v[i], depth + 1) end
  local keys = {}
  for k in pairs(v) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    local key = type(k) == "string" and k:match("^[%a_][%w_]*$") and k or "[" .. show(k, 1) .. "]"
    parts[#parts + 1] = key .. " = " .. show(v[k], depth + 1)
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

-- Called by the REPL with the values of an expression line.  A result
-- that its function already printed (summary, receptive_field) is marked
-- _printed and shown only once.
function lib.display(...)
  local n = select("#", ...)
  local out = {}
  for i = 1, n do
    local v = (select(i, ...))
    if type(v) == "table" and rawget(v, "_printed") then
      rawset(v, "_printed", nil)
    else
      out[#out + 1] = show(v, 0)
    end
  end
  if #out > 0 then io.write(table.concat(out, "\t"), "\n") end
end

-- print shows numbers as a person writes them (10, not 10.0), and
-- everything else as Lua's print does.
local raw_print = std.print
local function calc_print(...)
  local n = select("#", ...)
  local out = {}
  for i = 1, n do
    local v = (select(i, ...))
    out[i] = type(v) == "number" and show(v, 0) or tostring(v)
  end
  io.write(table.concat(out, "\t"), "\n")
end
lib.raw_print = raw_print
std.print = calc_print   -- nncalc's own code prints the same way

-- debug_mode(true) shows a traceback with every error (like --debug).
local function debug_mode(on) lib.debug(on) end

-- ---- the calculator's globals ---------------------------------------------

-- A lazy global: the first call loads its module and, if the user has not
-- replaced the global meanwhile, puts the real function in its place.  It
-- calls the module's function, never the global, so it cannot recurse.
local function lazy_global(name)
  local first_call
  first_call = function(...)
    local f = named.wrap(name, env[name])
    if rawequal(rawget(G, name), first_call) then G[name] = f end
    return f(...)
  end
  return first_call
end

-- Writes every export into _G where the user has nothing of that name (the
-- binary calls this at start-up; from stock Lua, nc.globals() does).  print
-- is replaced only while it is still Lua's own.
function lib.globals()
  local function set(name, v) if rawget(G, name) == nil then G[name] = v end end
  for name, fn in pairs(lib) do
    if type(fn) == "function" and not exports.method_only[name] and name:sub(1, 1) ~= "_" then set(name, public(name, fn)) end
  end
  set("nncalc", lib)
  set("Tensor", lib.Tensor)
  for name in pairs(exports.tables) do set(name, lib[name]) end
  for name in pairs(exports.module_of) do set(name, lazy_global(name)) end
  set("debug_mode", debug_mode)
  if rawequal(G.print, raw_print) then G.print = calc_print end
  return lib
end
