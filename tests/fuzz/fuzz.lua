-- tests/fuzz/fuzz.lua — a random-API fuzzer run by the real binary:
--   nncalc tests/fuzz/fuzz.lua [--seed N] [--calls N] [--seconds S] [--verbose]
-- It enumerates what nncalc exports (every global of nncalc/exports.lua,
-- every Tensor method, nn class, module method, optimizer and scheduler)
-- and calls each with hostile arguments: NaN, infinities, 2^31, 2^53, 2^62,
-- math.maxinteger, 2.5, negative and empty sizes, strings, self-referential
-- and huge-__len tables, closed, expanded, transposed and graph tensors,
-- modules, functions that raise.  It also builds random autograd op chains
-- and runs backward through them.
--
-- Everything is drawn from one seeded generator: the same seed makes the
-- same calls, and the report names the seed and the call count, so
-- `--seed S --calls N` replays a run up to call N.  A crash or a sanitizer
-- report kills the process (the caller sees the status); a call that runs
-- too long is cut by an instruction budget and counted; the report goes to
-- stderr (the calls' own printing goes to stdout, which callers discard):
-- the seed, calls, time, errors raised, messages that do not name the
-- function called (a failure), then "fuzz: 1 passed, 0 failed (...)".

local E = require("nncalc.exports")

local opts = { seed = 1, calls = math.huge, seconds = 10, verbose = false }
do
  local i = 1
  while arg[i] do
    local a = arg[i]
    if a == "--seed" then opts.seed = math.tointeger(tonumber(arg[i + 1])); i = i + 1
    elseif a == "--calls" then opts.calls = tonumber(arg[i + 1]); i = i + 1
    elseif a == "--seconds" then opts.seconds = tonumber(arg[i + 1]); i = i + 1
    elseif a == "--verbose" then opts.verbose = true
    else io.stderr:write("fuzz: unknown argument ", a, "\n"); os.exit(2) end
    i = i + 1
  end
end

local rng = math.random
math.randomseed(opts.seed)
seed(opts.seed)
local CAP = 1 << 16   -- small tensors: many calls a second, none of them slow
limits{ max_elements = CAP }
warnings{ accumulate = false }

-- ---- hostile values ---------------------------------------------------------

local function pick(list) return list[rng(#list)] end

local numbers = { 0, 1, -1, 2, 3, 2.5, -2.5, 0.5, 1e-300, 1e300, -1e300, 0 / 0, math.huge, -math.huge,
  2 ^ 31, 2 ^ 31 - 1, -2 ^ 31, 2 ^ 53, 2 ^ 62, 2.0 ^ 63, math.maxinteger, math.mininteger, 64.0, 1 << 40,
  -0.0, 7, 16, 100 }
local strings = { "", "x", "mean", "sum", "none", "relu", "W1", "\0", ("a"):rep(300), "%s%d", "fuzz.out" }

local closed = zeros(2)
do local c <close> = closed end   -- a tensor whose userdata has been closed

local self_ref = {}
self_ref[1] = self_ref
local huge_len = setmetatable({}, { __len = function() return 2 ^ 62 end })
local raising_len = setmetatable({}, { __len = function() error("fuzzlen") end })
local raising_index = setmetatable({}, { __index = function() error("fuzzindex") end })

local function raiser() error("fuzzfn") end

local tensor_makers = {
  function() return tensor(rng() * 4 - 2) end,
  function() return zeros(0) end,
  function() return zeros(2, 0, 3) end,
  function() return randn(rng(4)) end,
  function() return randn(rng(3), rng(3)) end,
  function() return randn(rng(2), rng(3), rng(3)) end,
  function() return randn(1, rng(3), rng(6) + 1, rng(6) + 1) end,
  function() return randn(3, 3):t() end,
  function() return ones(1):expand(rng(5)) end,
  function() return randn(2, 2):requires_grad() end,
  function() return randn(3):requires_grad() * 2 end,
  function() return tensor{ 0 / 0, math.huge, -math.huge } end,
  function() return arange(1, 6) end,
  function() return closed end,
}

local function small_int() return rng(4) end

local module_makers = {
  function() return nn.Linear(small_int(), small_int()) end,
  function() return nn.ReLU() end,
  function() return nn.Conv2d(small_int(), small_int(), small_int()) end,
  function() return nn.MaxPool2d(small_int()) end,
  function() return nn.Sequential{ nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1) } end,
  function() return nn.Flatten() end,
  function() return nn.BatchNorm1d(small_int()) end,
}

local value   -- forward declaration: tables hold values
local function random_table(depth)
  local t = {}
  for i = 1, rng(0, 4) do t[i] = value(depth + 1) end
  if rng(3) == 1 then t[pick(strings)] = value(depth + 1) end
  if rng(4) == 1 then t[pick({ "stride", "padding", "dilation", "groups", "dim", "lr", "bias", "reduction",
    "keepdim", "trace", "momentum", "quiet", "eps", "epochs", "batch_size" })] = value(depth + 1) end
  return t
end

value = function(depth)
  depth = depth or 0
  local k = rng(depth > 2 and 6 or 11)
  if k <= 3 then return pick(numbers)
  elseif k == 4 then return pick(tensor_makers)()
  elseif k == 5 then return nil
  elseif k == 6 then return pick(strings)
  elseif k == 7 then return random_table(depth)
  elseif k == 8 then return pick({ true, false, raiser, self_ref, huge_len, raising_len, raising_index })
  elseif k == 9 then return pick(module_makers)()
  elseif k == 10 then return { small_int(), small_int(), small_int() }
  else return pick(tensor_makers)() end
end

-- ---- the API ----------------------------------------------------------------

-- name -> function, for every global nncalc exports (lazy ones resolve on
-- first touch); these need a terminal or end the process, so they are left out
local skip = { exit = true, pause = true, ask = true, lesson = true, print = true, debug_mode = true }
local targets = {}
for _, name in ipairs(E.names(nncalc)) do
  local v = _G[name]
  if type(v) == "function" and not skip[name] then targets[#targets + 1] = { name = name, fn = v } end
end
for name, v in pairs(nncalc.Tensor) do
  if type(v) == "function" and name:sub(1, 1) ~= "_" then
    targets[#targets + 1] = { name = name, fn = v, method = true }
  end
end
local function callable(v)
  local mt = getmetatable(v)
  return type(v) == "function" or (type(mt) == "table" and mt.__call ~= nil)
end
for name, v in pairs(nn) do
  if callable(v) and name ~= "Module" then targets[#targets + 1] = { name = name, fn = v } end
end
for name, v in pairs(optim) do
  if callable(v) then targets[#targets + 1] = { name = name, fn = v } end
end
for name, v in pairs(models) do
  if type(v) == "function" then targets[#targets + 1] = { name = name, fn = v } end
end
table.sort(targets, function(a, b) return a.name < b.name end)   -- pairs order is not reproducible

local module_methods = { "forward", "parameters", "zero_grad", "train", "eval", "out_shape", "cost",
  "extra_repr", "named_parameters", "repr", "apply", "children", "modules", "add", "window" }

-- ---- running calls ----------------------------------------------------------

local stats = { calls = 0, raised = 0, unnamed = 0, budget = 0, chains = 0 }
local unnamed_seen, unnamed_list = {}, {}
local BUDGET = 2000000   -- Lua instructions a call may run (a fit of 2^31 epochs stops here)

local function budget_hook() error("fuzz: instruction budget", 0) end

-- An error must say which function it came from: the name called (or the
-- class of the module or optimizer called, or, for a forward, the layer
-- that failed), or, for an error raised by a callback the fuzzer passed
-- in, that callback's text.
local function check_message(name, err, also)
  local msg = tostring(err)
  if msg:find("fuzz", 1, true) then return end   -- our raiser, budget or __len/__index
  if msg:find(name, 1, true) or (also and msg:find(also, 1, true)) then return end
  if msg:find("^[^:]*:?%d*:? ?layer [%d.]+ %(") then return end
  local key = name .. ": " .. msg:gsub("%d+", "N"):sub(1, 160)
  stats.unnamed = stats.unnamed + 1
  if not unnamed_seen[key] then
    unnamed_seen[key] = true
    unnamed_list[#unnamed_list + 1] = key
  end
end

local also_name
local function call(name, fn, ...)
  stats.calls = stats.calls + 1
  debug.sethook(budget_hook, "", BUDGET)
  local ok, err = pcall(fn, ...)
  debug.sethook()
  limits{ max_elements = CAP }   -- what a call may have changed for all the others
  detect_anomaly(false)
  if not ok then
    stats.raised = stats.raised + 1
    if err == "fuzz: instruction budget" then stats.budget = stats.budget + 1 else check_message(name, err, also_name) end
  end
  return ok, err
end

local function args(n)
  local a = {}
  for i = 1, n do a[i] = value() end
  return a, n
end

local function call_target(t)
  local a, n = args(rng(0, 4))
  if t.method then
    -- x:method(...) on a tensor, or the method's function on anything
    local self = rng(4) > 1 and pick(tensor_makers)() or value()
    return call(t.name, t.fn, self, table.unpack(a, 1, n))
  end
  also_name = type(t.fn) == "table" and rawget(t.fn, "name") or nil   -- optim.RMSprop is optim.RMSProp
  local ok, obj = call(t.name, t.fn, table.unpack(a, 1, n))
  also_name = nil
  -- a module or optimizer that was built: call its methods too (a hostile
  -- table handed back may raise on any look at it)
  local probe_ok, is_mod, has_step = pcall(function()
    return type(obj) == "table" and nn.is_module(obj), type(obj) == "table" and type(obj.step) == "function"
  end)
  if not probe_ok then return end
  if ok and is_mod then
    local m = pick(module_methods)
    also_name = obj.class_name
    if type(obj[m]) == "function" then
      local b, nb = args(rng(0, 2))
      call(m, obj[m], obj, table.unpack(b, 1, nb))
    end
    call(t.name, obj, pick(tensor_makers)())   -- forward
    call("tostring", tostring, obj)
    also_name = nil
  elseif ok and has_step then
    call("step", obj.step, obj, value())
  end
end

-- ---- random autograd chains -------------------------------------------------

local unary = { "exp", "tanh", "sigmoid", "relu", "abs", "neg", "sqrt", "log", "sin", "cos" }
local function chain()
  stats.chains = stats.chains + 1
  local n = rng(3)
  local leaf = randn(n, n):requires_grad()
  local x = leaf
  for _ = 1, rng(6) do
    local k = rng(9)
    local ok, y = call("chain", function()
      if k == 1 then return x[pick(unary)](x)
      elseif k == 2 then return x + randn(n, n)
      elseif k == 3 then return x:cmul(x)
      elseif k == 4 then return x * randn(n, n)
      elseif k == 5 then return x:t()
      elseif k == 6 then return x:sum(1, true):expand(n, n)
      elseif k == 7 then return softmax(x, 2)
      elseif k == 8 then return x ^ 2
      else return x / (x:abs() + 1) end
    end)
    if ok and nncalc.is_tensor(y) then x = y end
  end
  call("backward", function() local L = x:sum(); L:backward() end)
  if leaf.grad ~= nil and tostring(leaf.grad:shape()) ~= tostring(leaf:shape()) then
    error(("fuzz: seed %d: a gradient of shape %s for a leaf of shape %s"):format(opts.seed,
      tostring(leaf.grad:shape()), tostring(leaf:shape())))
  end
end

-- ---- the run ----------------------------------------------------------------

-- seconds are wall-clock seconds (a loaded machine makes fewer calls, but
-- the run ends when its caller's watchdog expects it to); the calls made
-- are what the report counts
local start = os.time()
local last_report = start
while stats.calls < opts.calls and os.difftime(os.time(), start) < opts.seconds do
  if rng(10) == 1 then chain() else call_target(pick(targets)) end
  if opts.verbose and os.difftime(os.time(), last_report) >= 10 then
    last_report = os.time()
    io.stderr:write(("fuzz: %d calls, %.0f s\n"):format(stats.calls, os.difftime(last_report, start)))
  end
  if stats.calls % 2000 == 0 then collectgarbage() end
end

local elapsed = os.difftime(os.time(), start)
io.stderr:write(("fuzz: seed %d, %d calls (%d autograd chains) in %.1f s, %d raised an error, %d cut by the "
  .. "instruction budget, %d messages do not name the function called (%d distinct)\n"):format(
  opts.seed, stats.calls, stats.chains, elapsed, stats.raised, stats.budget, stats.unnamed, #unnamed_list))
for i = 1, math.min(#unnamed_list, opts.verbose and 200 or 20) do io.stderr:write("  unnamed: ", unnamed_list[i], "\n") end
-- reaching this line means no crash, no sanitizer report and no hang; the
-- run counts as one test in the suite's tally
io.stderr:write(("fuzz: %d passed, %d failed (one run of %d calls)\n"):format(stats.unnamed > 0 and 0 or 1,
  stats.unnamed > 0 and 1 or 0, stats.calls))
os.exit(stats.unnamed > 0 and 1 or 0)
