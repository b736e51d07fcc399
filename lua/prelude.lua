-- prelude.lua — the Lua half of nncalc, loaded at start-up: puts the
-- library in the global namespace and loads the printing policy.

local nncalc = nncalc

-- Functions a homework sheet uses are globals, as in a calculator:
-- tensor{...}, zeros(2, 3), exp(x), softmax(x), inv(A) ...  Methods that
-- only make sense on a tensor (x:t(), x:item() ...) stay methods, so that
-- short names like t remain free for the user; math.* is untouched.
local method_only = {
  t = true, item = true, shape = true, size = true, dim = true, numel = true,
  stride = true, is_contiguous = true, fill = true, copy = true, view = true,
  contiguous = true, totable = true, expand = true, narrow = true,
  Tensor = true, debug = true, interactive = true, complete = true, stdin_tty = true,
}
for name, fn in pairs(nncalc) do
  if type(fn) == "function" and not method_only[name] and rawget(_G, name) == nil then
    _G[name] = fn
  end
end
Tensor = nncalc.Tensor

local tensor_mt = getmetatable(zeros(0))
function nncalc.is_tensor(v) return getmetatable(v) == tensor_mt end

require("term")     -- before anything prints
require("format")
nn = require("nn")
models = require("models")
optim = require("optim")

-- The rest loads on first use, which keeps start-up short: each of these
-- globals first requires its module, which replaces it with the real
-- function, and then calls through.
local lazy = {
  help = { "help", "apropos", "exit" },
  autograd = { "graph", "forward_trace", "gradcheck", "jacobian", "numjacobian", "warnings" },
  convmath = { "conv_out", "pool_out", "convT_out", "conv_solve" },
  summary = { "summary" },
  receptive = { "receptive_field", "receptive_region" },
  check = { "check", "check_summary" },
  train = { "fit" },
  plot = { "plot" },
  hyper = { "grid_search", "random_trials" },
  lesson = { "lesson", "title", "say", "show", "pause", "ask" },
}
for module, names in pairs(lazy) do
  for _, name in ipairs(names) do
    _G[name] = function(...)
      require(module)
      return _G[name](...)
    end
  end
end
-- the same for the autograd methods and hooks
for _, name in ipairs({ "backward" }) do
  Tensor[name] = function(...)
    require("autograd")
    return Tensor[name](...)
  end
end
function nncalc.warn(...)
  require("autograd")
  return nncalc.warn(...)
end

-- debug_mode(true) shows a traceback with every error (like --debug).
function debug_mode(on)
  nncalc.debug(on)
end

-- ---- how the REPL shows values ----------------------------------------

local function show(v, depth)
  local ty = type(v)
  if ty == "string" then return depth > 0 and ("%q"):format(v) or v end
  if ty == "number" then return math.type(v) == "integer" and tostring(v) or ("%.14g"):format(v) end
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
function nncalc.display(...)
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
local raw_print = print
function print(...)
  local n = select("#", ...)
  local out = {}
  for i = 1, n do
    local v = (select(i, ...))
    out[i] = type(v) == "number" and show(v, 0) or tostring(v)
  end
  io.write(table.concat(out, "\t"), "\n")
end
nncalc.raw_print = raw_print
