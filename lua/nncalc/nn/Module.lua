-- nn/Module.lua — the contract every layer keeps, and the class helper.
--
-- A layer class defines
--   init(self, ...)          settings; parameters declared with self:param()
--   compute(self, x)         the forward computation (autograd ops only)
--   out_shape(self, shape)   the output shape for an input shape, no data
--   extra_repr(self)         the settings, for printing
-- and inherits forward / __call, parameters, named_parameters, zero_grad,
-- train / eval, trace and printing from Module.
--
-- Parameters are created lazily, on first use, from a seed the module draws
-- from the global generator when it is built: seed(1) then building a net
-- gives the same numbers every time, and a net that is only analysed
-- (summary, shapes) never allocates its weights.

local named = require("nncalc.named")
local Module = { __name = "nn.Module" }

-- Methods a user calls on a module directly: their raw Lua errors name
-- them ("Conv2d:out_shape: ..."); a container calls its children's forward
-- unwrapped (no protected call per level: see forward_child).
local public = { out_shape = true, cost = true, window = true, parameters = true, named_parameters = true,
  zero_grad = true, train = true, eval = true, count_parameters = true, extra_repr = true,
  named_modules = true, repr = true, forward = true }

-- Instances look up methods in their class chain, then materialize a lazy
-- parameter the first time it is read.
local function instance_index(class)
  local wrapped = {}
  return function(self, k)
    local v = class[k]
    if v ~= nil then
      -- (Module.forward protects and names itself: only overriding ones)
      if public[k] and type(v) == "function" and v ~= Module.forward then
        local w = wrapped[k]
        if w == nil or w[1] ~= v then
          w = { v, named.wrap(class.class_name .. ":" .. k, v) }
          wrapped[k] = w
        end
        return w[2]
      end
      return v
    end
    local lazy = rawget(self, "_lazy")
    local make = lazy and lazy[k]
    if make then
      local p = make()
      lazy[k] = nil
      rawset(self, k, p)
      return p
    end
  end
end

-- A module stored in a field (self.fc = nn.Linear(2, 2) in a user's layer)
-- is a child, as in PyTorch: its parameters, train/eval and printing follow
-- the parent's.  Fields are remembered in the order they were first set.
local function record_field(self, k, v)
  if type(k) == "string" and getmetatable(v) and rawget(getmetatable(v), "class_name") then
    local fields = rawget(self, "_fields")
    if not fields then fields = {}; rawset(self, "_fields", fields) end
    fields[#fields + 1] = k
  end
  rawset(self, k, v)
end

-- nn.class("Linear", parent): a class table; calling it builds an instance.
function Module.class(name, parent)
  parent = parent or Module
  local class = setmetatable({}, { __index = parent })
  class.__name = "nn." .. name
  class.__index = instance_index(class)
  class.__methods = class   -- for Tab completion, which never calls __index
  class.__fields = "_lazy"   -- ... and parameters not yet made complete too
  class.__call = function(self, ...) return self:forward(...) end
  class.__tostring = function(self) return self:repr("") end
  class.__len = function(self) return rawlen(self) end
  class.__newindex = record_field
  class.class_name = name
  -- building an instance: init's raw Lua errors name the class
  local build = named.wrap(name, function(cls, ...)
    local self = setmetatable({ _lazy = {}, _order = {}, training = true }, cls)
    self._seed = nncalc._draw_seed()
    self:init(...)
    return self
  end)
  getmetatable(class).__call = build
  return class
end

function Module.is_module(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and type(mt.class_name) == "string"
end

function Module:init() end

-- ---- settings: PyTorch's positional order, or an option table --------------

-- An option table has only named keys; {2, 3} is an {h, w} setting.
local function is_options(v)
  return type(v) == "table" and not getmetatable(v) and rawlen(v) == 0
end

-- Module.settings(cls, order, forms, ...): the settings after a layer's
-- required arguments as one table, from PyTorch's positional order
-- (nn.Conv2d(3, 64, 3, 1, 1): stride 1, padding 1), an option table
-- ({stride = 1, padding = 1}) or positional ones followed by a table.
-- `order` is PyTorch's signature; forms = {positional example, table example}
-- for the error when neither fits.
function Module.settings(cls, order, forms, ...)
  local n, args, opts = select("#", ...), { ... }, {}
  if n > 0 and is_options(args[n]) then
    for k, v in pairs(args[n]) do opts[k] = v end
    n = n - 1
  end
  local function refuse(what)
    if #order == 0 then error(("%s: %s; it takes no settings: %s"):format(cls, what, forms[1]), 5) end
    error(("%s: %s. Settings go in PyTorch's order (%s), e.g. %s, or in a table, e.g. %s")
      :format(cls, what, table.concat(order, ", "), forms[1], forms[2]), 5)   -- refuse, settings, init, new, caller
  end
  if n > #order then
    refuse(("%d positional setting%s, but PyTorch's %s takes %s"):format(n, n == 1 and "" or "s", cls,
      #order == 0 and "none" or ("at most " .. #order)))
  end
  for i = 1, n do
    local v = args[i]
    if v ~= nil then
      if is_options(v) then refuse("the option table must come last") end
      local t = type(v)
      if t ~= "number" and t ~= "boolean" and t ~= "table" and t ~= "string" then
        refuse(("setting %d (%s) is a %s"):format(i, order[i], nncalc.is_tensor(v) and "tensor" or t))
      end
      if opts[order[i]] ~= nil then refuse(("%s is given twice (setting %d and in the table)"):format(order[i], i)) end
      opts[order[i]] = v
    end
  end
  return opts
end

-- PyTorch settings nncalc takes only at their default value: refused by
-- name otherwise, never silently ignored.
function Module.only_default(cls, opts, defaults)
  for k, d in pairs(defaults) do
    local v = opts[k]
    if v ~= nil and v ~= d then
      error(("%s: %s=%s is not supported (only %s)"):format(cls, k, tostring(v), tostring(d)), 4)
    end
    opts[k] = nil
  end
  return opts
end

-- Declares a parameter: `make()` builds its tensor when first needed;
-- a given tensor is taken as it is (copied, marked requires_grad).
function Module:param(name, shape, bound, given)
  self._order[#self._order + 1] = name
  self._shapes = self._shapes or {}
  self._shapes[name] = shape
  if given ~= nil then
    if not nncalc.is_tensor(given) then
      error(("%s: %s must be a tensor"):format(self.class_name, name), 3)
    end
    if table.concat(given:shape(), "x") ~= table.concat(shape, "x") then
      error(("%s: %s must have shape %s, got %s"):format(self.class_name, name,
        table.concat(shape, "x"), table.concat(given:shape(), "x")), 3)
    end
    rawset(self, name, given:detach():clone():requires_grad():name(name))
    return
  end
  local seed = self._seed + #self._order   -- one stream per parameter
  self._lazy[name] = function()
    local t
    if bound == "ones" then t = ones(table.unpack(shape))
    elseif bound == "zeros" then t = zeros(table.unpack(shape))
    elseif bound == "normal" then t = nncalc._normal_seeded(seed, table.unpack(shape))
    else t = nncalc._uniform_seeded(seed, -bound, bound, table.unpack(shape)) end
    return t:requires_grad():name(name)
  end
end

-- A buffer: state that is not trained (BatchNorm's running statistics).
function Module:buffer(name, t)
  rawset(self, name, t)
end

-- Children in order, with their names: containers keep theirs in the
-- array part ("1", "2" ...), a user's layer may hold more in fields.
function Module:named_children()
  local c = {}
  for i = 1, rawlen(self) do c[i] = { tostring(i), rawget(self, i) } end
  for _, name in ipairs(rawget(self, "_fields") or {}) do
    local m = rawget(self, name)
    if Module.is_module(m) then c[#c + 1] = { name, m } end
  end
  return c
end

function Module:children()
  local c = {}
  for i, nc in ipairs(self:named_children()) do c[i] = nc[2] end
  return c
end

-- Every module reachable from self, each once (a module shared by two
-- parents, or one that reaches itself through a field like self.owner, is
-- not visited again), in order, with its path: {"", self}, {"1", ...},
-- {"1.fc", ...}, as PyTorch's named_modules.  A worklist, not recursion, so
-- depth costs nothing.
function Module:named_modules()
  local out, seen, stack = {}, {}, { { "", self } }
  while #stack > 0 do
    local e = table.remove(stack)
    if not seen[e[2]] then   -- the first path to reach a module is its name
      seen[e[2]] = true
      out[#out + 1] = e
      local kids = e[2]:named_children()
      for k = #kids, 1, -1 do   -- pushed in reverse: visited in order
        if not seen[kids[k][2]] then
          stack[#stack + 1] = { e[1] == "" and kids[k][1] or (e[1] .. "." .. kids[k][1]), kids[k][2] }
        end
      end
    end
  end
  return out
end

-- ---- the forward pass ------------------------------------------------------

-- The forward in progress, outermost first: {module, index, input} per
-- level.  An error leaves the levels it passed through in place, and the
-- outermost forward turns them into one line, "layer 2.1 (Linear(...))
-- (input 3): <message>", the path abbreviated past 12 levels.
local path = {}
local on_path = {}   -- module -> its level in path, to find a cycle at once
local entries = {}   -- path entries of forward_child, one per depth
local outermost, run_child

local function what(m) return (m:repr(""):gsub("\n.*", " ...")) end

local function path_message(first, err)
  -- "file:12: " (or "?:-1: " from stripped bytecode) is the raise site, not news
  local msg = tostring(err):gsub("^[^:\n]*:%-?%d+: ", "")
  local last = path[#path]
  local leaf = last.module
  if not Module.is_module(leaf) then return msg end
  -- name the failing layer and its settings, and the input it was given
  if not msg:find(leaf.class_name .. "(", 1, true) then
    local ok, s = pcall(function() return table.concat(last.input:shape(), "x") end)   -- (a closed tensor has none)
    local shape = ok and (" (input " .. s .. ")") or ""
    msg = what(leaf) .. shape .. ": " .. msg
  end
  if #path == first then return msg end
  local idx = {}
  for k = first + 1, #path do idx[#idx + 1] = tostring(path[k].index) end
  local dotted = #idx <= 12 and table.concat(idx, ".")
    or (table.concat(idx, ".", 1, 4) .. ". ... ." .. table.concat(idx, ".", #idx - 3) .. (" (%d levels deep)"):format(#idx))
  local lead = what(leaf)
  if msg:sub(1, #lead) == lead then msg = msg:sub(#lead + 1) else msg = ": " .. msg end
  return ("layer %s (%s)%s"):format(dotted, lead, msg)
end

-- A child's forward, its path entry e marked as entered (a compute that
-- calls forward again is then a new, outermost forward).
run_child = function(e, m, x)
  e.entered = true
  local y = m:compute(x)
  m.output = y
  return y
end

function Module:forward(x, opts)
  if opts ~= nil then
    if type(opts) ~= "table" then error(self.class_name .. ": forward options must be a table, e.g. {trace=true}", 2) end
    for k in pairs(opts) do
      if k ~= "trace" then error(("%s:forward: unknown option '%s' (trace)"):format(self.class_name, tostring(k)), 2) end
    end
    if opts.trace then
      local list = outermost(self, x, self.trace, self, x)
      nncalc._print_trace(list)
      return list[#list] and list[#list].output
    end
  end
  local top = path[#path]
  if top and top.module == self and not top.entered then   -- a child, called by its container
    return run_child(top, self, x)
  end
  local y = outermost(self, x, self.compute, self, x)
  self.output = y
  -- graph pictures group the ops between this input and output (graph_dot)
  -- (a closed tensor has no identity left: an identity forward passes it through)
  local has_id, id = false, nil
  if nncalc.is_tensor(x) then has_id, id = pcall(nncalc._id, x) end
  rawset(self, "_input_id", has_id and id or nil)
  return y
end

-- The outermost forward: the one protected call, however deep the net (a
-- pcall per level would reach Lua's C-stack limit at ~100 levels).  Runs
-- fn(...) with self as the first level of the path, and leaves the path as
-- it found it whatever happens.
outermost = function(self, x, fn, ...)
  local base = #path
  path[base + 1] = { module = self, input = x, entered = true }
  local outer = on_path[self]
  on_path[self] = base + 1
  local ok, y = pcall(fn, ...)
  local failed = not ok and path_message(base + 1, y)
  for i = #path, base + 2, -1 do
    on_path[path[i].module] = nil
    path[i] = nil
    if entries[i] then entries[i].input = nil end
  end
  path[base + 1] = nil
  on_path[self] = outer
  if not ok then error(failed, 3) end
  return y
end

-- The container's call of child m (its number or name i) on x; a child
-- already on the forward path means the forward goes round a cycle.
function Module.forward_child(parent, i, m, x)
  local top = path[#path]
  if not (top and top.module == parent) then   -- a container's compute called directly
    return outermost(parent, x, Module.forward_child, parent, i, m, x)
  end
  local k = on_path[m]
  if k then
    local names = {}
    for j = k + 1, #path do names[#names + 1] = "[" .. path[j].index .. "]" end
    names[#names + 1] = "[" .. i .. "]"
    error(("%s: the forward goes round a cycle: %s%s is %s itself (a module cannot contain itself)"):format(
      parent.class_name, m.class_name, table.concat(names), m.class_name), 0)
  end
  local n = #path + 1
  -- one entry table per depth, reused: a forward of a small net made more
  -- garbage in these than in its tensors
  local e = entries[n]
  if e == nil then e = {}; entries[n] = e end
  e.module, e.index, e.input, e.entered = m, i, x, nil
  path[n] = e
  on_path[m] = n
  -- the class's own forward, not the named wrapper users get: no
  -- protected call per level; for the common one, its child branch inline
  local fwd = getmetatable(m).forward
  local y
  if fwd == Module.forward then y = run_child(e, m, x) else y = fwd(m, x) end
  path[n] = nil
  on_path[m] = nil
  e.input = nil   -- (the entry must not keep the tensor alive)
  return y
end

-- The message of a forward that raised err: the layer, its settings and
-- the input it was given, then what went wrong.
function Module.forward_error(self, x, err)
  local msg = tostring(err):gsub("^[^:\n]*:%d+: ", "")
  if not msg:find("^layer ") and not msg:find(self.class_name .. "(", 1, true) then
    local shape = nncalc.is_tensor(x) and (" (input " .. table.concat(x:shape(), "x") .. ")") or ""
    msg = self:repr(""):gsub("\n.*", " ...") .. shape .. ": " .. msg
  end
  return msg
end

-- Every module's output as a list of {index, name, module, output}.
function Module:trace(x, prefix, list)
  list = list or {}
  local y = self:compute_traced(x, prefix or "", list)
  return list, y
end

-- A module records its output after those of the children it ran:
-- while its compute runs, each child's forward is traced under the child's
-- name (net.fc, block.q ...), so a user's block shows its inside too.
-- Containers override this to walk their children in order.
function Module:compute_traced(x, prefix, list)
  local kids = self:named_children()
  local p = prefix .. (prefix ~= "" and "." or "")
  for _, nc in ipairs(kids) do
    rawset(nc[2], "forward", function(child, input) return child:compute_traced(input, p .. nc[1], list) end)
  end
  local ok, y = pcall(self.compute, self, x)
  for _, nc in ipairs(kids) do rawset(nc[2], "forward", nil) end
  if not ok then error(y, 0) end
  self.output = y
  list[#list + 1] = { index = prefix, name = self.class_name, module = self, output = y }
  return y
end

-- ---- parameters ---------------------------------------------------------------

-- Each parameter once: a module shared by two parents, or reached again
-- through a field, gives its parameters at its first path only (as
-- PyTorch's named_parameters), so an optimizer updates each one once.
function Module:named_parameters(prefix, out)
  out = out or {}
  prefix = prefix or ""
  local seen = {}
  for _, nm in ipairs(self:named_modules()) do
    local m, base = nm[2], nm[1] == "" and prefix or (prefix .. nm[1] .. ".")
    for _, name in ipairs(m._order) do
      local p = m[name]
      if not seen[p] then
        seen[p] = true
        out[#out + 1] = { base .. name, p }
      end
    end
  end
  return out
end

function Module:parameters()
  local list = {}
  for i, np in ipairs(self:named_parameters()) do list[i] = np[2] end
  return list
end

-- Returns nothing, as PyTorch's, so net:zero_grad() in the REPL prints no network.
function Module:zero_grad()
  for _, p in ipairs(self:parameters()) do p:zero_grad() end
end

function Module:train(on)
  if on == nil then on = true end
  for _, nm in ipairs(self:named_modules()) do nm[2].training = on and true or false end
  return self
end

function Module:eval() return self:train(false) end

-- ---- shapes without data ---------------------------------------------------

-- A layer states its shape rule; elementwise layers take same_shape.  A
-- user's class without one is reported, rather than guessed.
function Module:out_shape()
  error(("%s has no shape rule: define %s:out_shape(shape) for summary and shapes"):format(
    self.class_name, self.class_name), 2)
end

function Module.same_shape(_, shape) return { table.unpack(shape) } end

-- A setting that must be a whole number >= 1, as an integer: one computed as
-- a float (64 * 2^i, 50176.0) counts; 2.5 or 0 is refused and named.  level
-- is where the error points, counted from the caller (default: its caller).
function Module.whole(cls, what, v, level)
  local n = type(v) == "number" and math.tointeger(v)
  if not n or n < 1 then
    error(("%s: %s must be a positive whole number, got %s"):format(cls, what, tostring(v)), (level or 2) + 1)
  end
  return n
end

-- The number of elements of a shape {2, 3, 4}: 24 (1 for {}).
function Module.numel(shape)
  local n = 1
  for i = 1, #shape do n = n * shape[i] end
  return n
end

-- ---- what analysis reads (summary, receptive fields) --------------------------
--
-- A layer states, besides out_shape:
--   cost(shape, out)   its counts for one forward: weights, biases, mults, adds,
--                      bias_adds, macs, conns, acts, comps, saved, bwd_input,
--                      bwd_weight, lookups; optional parts = {{name=, ...}} shown
--                      as sub-rows (they sum to the row), note = "..."
--   window(axis, shape) its receptive-field rule per axis: {k=, s=, p=, d=},
--                      nil for the identity, false when each output sees the
--                      whole input, "uneven" when outputs see windows of
--                      different sizes or strides (adaptive pooling's uneven
--                      bins: no one affine field); the default says "unknown"
--   explain(row, group) lines of formulas for summary{explain=true}
--   counters(row)      what fvcore, thop ... report for it (summary{compare=true})
-- A container states analyse(shape, visit) instead: it calls
-- visit(child, input_shape [, name]) in the order data flows (each call
-- returns the child's output shape) and returns its own output shape (and,
-- when it joins branches into a new shape, the list of the joined ones);
-- its own cost(shape, out), if any, counts only what it adds itself.
-- Elementwise layers (activations, dropout, normalisation) set
-- elementwise = true, and reshapes no_new_values = true: they make no new
-- neurons and keep the receptive field.

function Module:makes_neurons() return not (self.elementwise or self.no_new_values) end

function Module:window()
  if self.elementwise or self.no_new_values then return nil end
  return "unknown"
end

-- The number of parameter values, from the declared shapes (nothing is
-- allocated), children included; a module reached twice counts once.
function Module:count_parameters()
  local n = 0
  for _, nm in ipairs(self:named_modules()) do
    local m = nm[2]
    for _, name in ipairs(m._order) do
      local t = rawget(m, name)
      local k = 1
      if t ~= nil then k = t:numel()
      else for _, d in ipairs(m._shapes[name]) do k = k * d end end
      n = n + k
    end
  end
  return n
end

-- ---- printing, as PyTorch's repr ------------------------------------------------

function Module:extra_repr() return "" end

-- A module met again (shared, or reached through a field such as
-- self.owner = parent) is named by the path where it was printed first,
-- so a cycle prints once and a shared block does not print twice.
-- Past 32 levels a container prints as Name(...): the text of a deep
-- chain grows with the square of its depth (each level indents the rest).
local REPR_DEPTH = 32

function Module:repr(indent, shown, at)
  local children = self:named_children()
  if #children == 0 then return self.class_name .. "(" .. self:extra_repr() .. ")" end
  if #indent >= 2 * REPR_DEPTH then
    return self.class_name .. "(... " .. #children .. (#children == 1 and " child" or " children")
      .. ", not shown past " .. REPR_DEPTH .. " levels)"
  end
  shown = shown or {}
  shown[self] = at or "the top"
  local lines = { self.class_name .. "(" }
  for _, nc in ipairs(children) do
    local m, path_here = nc[2], (at and (at .. ".") or "") .. nc[1]
    local text = shown[m] and (m.class_name .. " (the same module as " .. shown[m] .. ")")
      or m:repr(indent .. "  ", shown, path_here)
    lines[#lines + 1] = indent .. "  (" .. nc[1] .. "): " .. text
  end
  lines[#lines + 1] = indent .. ")"
  return table.concat(lines, "\n")
end

-- "2" or {2, 3} as "2" or "(2, 3)", for reprs
function Module.pair_repr(v)
  if type(v) == "table" then
    if v[1] == v[2] then return tostring(v[1]) end
    return "(" .. v[1] .. ", " .. v[2] .. ")"
  end
  return tostring(v)
end

return Module
