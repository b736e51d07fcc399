-- autograd.lua — the Lua half of autograd: backward with its chain-rule
-- trace, the accumulation warning, graph pictures, gradcheck and
-- Jacobians.  The graph and the backward pass itself are C (autograd.c).

local Tensor = nncalc.Tensor
local settings = { accumulate = true, nonleaf_grad = true }

local is_tensor = nncalc.is_tensor

-- Warnings go to stderr, after whatever stdout holds (so that they appear
-- where they happened); the lesson runner sends them to the lesson text.
function nncalc.warn(msg)
  io.stdout:flush()
  io.stderr:write(msg)
end

-- ---- names: x:name(), else the global holding it, else relu#3 --------------

-- Where names live: a running lesson's own environment first, then the
-- user's globals.
local function scopes()
  local lesson = package.loaded["nncalc.lesson"]
  local env = type(lesson) == "table" and rawget(lesson, "env")
  return env and { env, _G } or { _G }
end
nncalc._name_scopes = scopes

-- A tensor in a global, or at a whole-number index of a plain global
-- table (a hand-written loop's h[t] = tanh(...) is h[1], h[2] ...).
local function global_names()
  local map = {}
  for _, scope in ipairs(scopes()) do
    local here = {}
    local function put(k, v)
      local id = nncalc._id(v)
      if map[id] == nil and (here[id] == nil or #k < #here[id]) then here[id] = k end
    end
    for k, v in pairs(scope) do
      if type(k) == "string" and k ~= "_" then
        if is_tensor(v) then put(k, v)
        elseif type(v) == "table" and getmetatable(v) == nil then
          for i, x in pairs(v) do
            if math.type(i) == "integer" and is_tensor(x) then put(k .. "[" .. i .. "]", x) end
          end
        end
      end
    end
    for id, k in pairs(here) do map[id] = k end
  end
  return map
end

-- The modules held in globals (a running lesson's first), each once, by
-- its shortest path: {module = m, path = "net[1]"} (graph pictures too).
local function global_modules()
  local list, seen = {}, {}
  local function walk(m, path)
    if seen[m] then return end
    seen[m] = true
    list[#list + 1] = { module = m, path = path }
    for _, nc in ipairs(m:named_children()) do
      local k = nc[1]
      walk(nc[2], path .. (k:match("^%d+$") and ("[" .. k .. "]") or ("." .. k)))
    end
  end
  for _, scope in ipairs(scopes()) do
    local names = {}
    for k, v in pairs(scope) do
      if type(k) == "string" and k ~= "_" and nn.is_module(v) then names[#names + 1] = k end
    end
    table.sort(names, function(a, b) return #a < #b or (#a == #b and a < b) end)   -- shortest name wins
    for _, k in ipairs(names) do walk(scope[k], k) end
  end
  return list
end
nncalc._global_modules = global_modules

-- Parameters of those modules, by path: net[1].weight, block.fc.bias.
-- Only parameters already made are visited (a lazy one has no tensor yet
-- and cannot be in a graph).
local function module_paths()
  local map = {}
  for _, e in ipairs(global_modules()) do
    for _, name in ipairs(rawget(e.module, "_order") or {}) do
      local p = rawget(e.module, name)
      if is_tensor(p) then map[nncalc._id(p)] = { path = e.path .. "." .. name, field = name } end
    end
  end
  return map
end

local function namer()
  local globals, leaves, nleaf = global_names(), {}, 0
  local params
  return function(t)
    if not t then return "?" end
    local n = t:name()
    -- a parameter still called by its field name reads better by its path
    params = params or module_paths()
    local p = params[nncalc._id(t)]
    if p and (n == nil or n == p.field) then return p.path end
    if n then return n end
    n = globals[nncalc._id(t)]
    if n then return n end
    n = t:grad_fn()
    if n then return n end
    local id = nncalc._id(t)
    if not leaves[id] then nleaf = nleaf + 1; leaves[id] = "leaf#" .. nleaf end
    return leaves[id]
  end
end

-- ---- showing values ----------------------------------------------------

-- the one printer of values (format.lua): 16, (16, 12, -4), [32 16; 24 12]
local num, inline = require("nncalc.format").num, require("nncalc.format").inline

-- f(t) remembered per tensor for one trace or one printing: a trace names
-- each tensor and shows each gradient several times (as an op's output,
-- then as its inputs' rule), and formatted each anew, which was most of
-- its cost per op.
local function memo(f)
  local cache = {}
  return function(t)
    if not t then return f(t) end
    local id = nncalc._id(t)
    local v = cache[id]
    if v == nil then
      v = f(t)
      cache[id] = v == nil and false or v
    end
    return v or nil
  end
end

-- A value inline when small, else its shape (and the tensor itself on the
-- lines below, collected in `blocks`); fmt: inline, or a memo of it.
local function value(t, label, blocks, fmt)
  if not t then return "?" end
  local s = (fmt or inline)(t)
  if s then return s end
  blocks[#blocks + 1] = { label, t }
  return "[" .. table.concat(t:shape(), "x") .. "]"
end

-- A name that is itself a derivative reads as one: d(dL/dw)/dw.
local function wrap(root) return root:find("/", 1, true) and "(" .. root .. ")" or root end

local function fill_rule(rule, step, name, root)
  local ins = step.inputs
  -- the root first, so that a name holding "dL/" (a gradient's) stays as it is
  if root ~= "L" then rule = rule:gsub("dL/", "d" .. wrap(root) .. "/") end
  local s = rule:gsub("%%(%d+)", function(c) return wrap(name(ins[tonumber(c) + 1])) end)
  s = s:gsub("%%([oc])", function(c)
    if c == "o" then return wrap(name(step.out)) end
    return num(step.scalar)
  end)
  return s
end

local broadcasting_ops = { add = true, sub = true, mul = true, cmul = true, div = true, cdiv = true,
  pow = true, maximum = true, minimum = true }

-- paths[id] counts the gradients a tensor has received so far in this pass
-- and holds their sum: a tensor used by several ops gets one per op, and
-- the chain rule adds them (the multivariate chain rule students miss).
local function add_path(paths, t, g)
  local id = nncalc._id(t)
  local p = paths[id]
  if p then p.n = p.n + 1; p.sum = p.sum + g
  else
    p = { n = 1, sum = g:clone(), t = t }; paths[id] = p
    paths.order[#paths.order + 1] = p
  end
  return p
end

local function print_step(k, step, name, root, out, paths, fmt)
  local ins = {}
  for i, x in ipairs(step.inputs) do ins[i] = name(x) end
  out(("step %d: %s = %s(%s)   [%s]"):format(k, name(step.out), step.op, table.concat(ins, ", "),
    step.out and (step.out:dim() == 0 and "scalar" or table.concat(step.out:shape(), "x")) or "?"))
  local mine = step.out and paths[nncalc._id(step.out)]
  if mine and mine.n > 1 then
    local blocks = {}
    out(("  d%s/d%s = the sum of its %d paths above = %s"):format(wrap(root), wrap(name(step.out)), mine.n,
      value(step.gout, "d" .. wrap(root) .. "/d" .. wrap(name(step.out)), blocks, fmt)))
    for _, b in ipairs(blocks) do
      out("    " .. b[1] .. " =")
      for l in tostring(b[2]):gmatch("[^\n]+") do out("      " .. l) end
    end
  end
  for i, g in ipairs(step.gin) do
    if g then
      local blocks = {}
      local rule = step.rules[i]
      -- ops with more inputs than rules (cat, stack): input i follows the
      -- second input's rule, with its own name
      if not rule and i > 2 and step.rules[2] then rule = step.rules[2]:gsub("%%1", "%%" .. (i - 1)) end
      rule = rule or step.rules[1] or ("dL/d%" .. (i - 1) .. " = ?")
      local line = "  " .. fill_rule(rule, step, name, root)
      -- a broadcast input (a bias added to every row of a batch) gets the
      -- sum of the gradients of all the places it was copied to
      if broadcasting_ops[step.op] and step.gout and g:numel() < step.gout:numel() then
        line = line .. ", summed over the broadcast " .. table.concat(step.gout:shape(), "x")
          .. " -> " .. (g:dim() == 0 and "scalar" or table.concat(g:shape(), "x"))
      end
      local gout = value(step.gout, "d" .. wrap(root) .. "/d" .. wrap(name(step.out)), blocks, fmt)
      local loc = step.locals[i] and value(step.locals[i], "local derivative", blocks, fmt)
      local res = value(g, "d" .. wrap(root) .. "/d" .. wrap(name(step.inputs[i])), blocks, fmt)
      -- the numbers in the order of the rule: dL/dz · f'(a), or Wᵀ · dL/dz
      local gout_first = rule:match("= (.*)$"):sub(1, 4) == "dL/d"
      if loc and gout_first then line = line .. " = " .. gout .. " · " .. loc .. " = " .. res
      elseif loc then line = line .. " = " .. loc .. " · " .. gout .. " = " .. res
      else line = line .. " = " .. res end
      out(line)
      for _, b in ipairs(blocks) do
        out("    " .. b[1] .. " =")
        for l in tostring(b[2]):gmatch("[^\n]+") do out("      " .. l) end
      end
      local x = step.inputs[i]
      local p = add_path(paths, x, g)
      if p.n > 1 then
        local blocks = {}
        out(("  (%s is used by more than one op and the chain rule adds the paths: d%s/d%s so far = %s, from %d paths)")
          :format(name(x), wrap(root), wrap(name(x)), value(p.sum, "sum so far", blocks, fmt), p.n))
        for _, b in ipairs(blocks) do
          out("    " .. b[1] .. " =")
          for l in tostring(b[2]):gmatch("[^\n]+") do out("      " .. l) end
        end
      end
      if step.accumulated[i] then
        out(("  %s.grad += d%s/d%s   (it already held a gradient: accumulating)")
          :format(name(x), wrap(root), wrap(name(x))))
      elseif x:is_leaf() then
        -- an op named for a time step (hh[2] = linear(h[1], W_hh)) gives that
        -- step's share; else an indexed input names the path (mul(W, h[1]))
        local t, share = name(step.out):match("%[(%-?%d+)%]$"), ""
        if t then share = "   (the share from step " .. t .. ")"
        else
          for _, y in ipairs(step.inputs) do
            local n = y ~= x and name(y)
            if n and n:match("%[%-?%d+%]$") then share = "   (the share through " .. n .. ")"; break end
          end
        end
        out(("  %s.grad %s d%s/d%s%s"):format(name(x), p.n > 1 and "+=" or "=", wrap(root), wrap(name(x)), share))
      end
    end
  end
end

local function wait_enter()
  io.write("  [Enter for the next step] ")
  io.flush()
  io.read("l")
end

-- Under create_graph the gradients are tensors of a graph, and a later
-- trace of them shows them by name: the gradient that reached x is dL/dx
-- (for the root L), unless it already has a name (a gradient passed
-- through unchanged keeps the first one, dL/dz).
local function name_gradients(steps, name, root)
  for _, st in ipairs(steps) do
    if st.gout and st.out and not st.gout:name() then st.gout:name("d" .. wrap(root) .. "/d" .. wrap(name(st.out))) end
    for i, g in ipairs(st.gin) do
      local x = st.inputs[i]
      if g and not g:name() then g:name("d" .. wrap(root) .. "/d" .. wrap(name(x))) end
      -- dL/dx = mul(dL/dy, dy/dx): the local derivative beside the upstream one
      local f = g and g:grad_fn()
      if f and f:match("^mul#") and st.out then
        local ins = nncalc._inputs(g)
        local up = st.gout and nncalc._id(st.gout)
        for k, t in ipairs(ins) do
          local other = ins[3 - k]
          if other and nncalc._id(t) == up and not other:name() and other:grad_fn() then
            other:name("d" .. wrap(name(st.out)) .. "/d" .. wrap(name(x)))
          end
        end
      end
    end
  end
end

-- L:backward() | L:backward(g) | L:backward{grad=g, trace=true, step=true,
-- retain_graph=true, create_graph=true, record=true}
function Tensor.backward(self, arg)
  local o = {}
  if is_tensor(arg) or type(arg) == "number" then o.grad = arg
  elseif type(arg) == "table" then
    for k, v in pairs(arg) do o[k] = v end
  elseif arg ~= nil then error("backward: expected a gradient (a tensor, or a number for a single value) or an options table", 2) end
  for k in pairs(o) do
    if not ({ grad = 1, trace = 1, step = 1, retain_graph = 1, create_graph = 1, record = 1 })[k] then
      error(("backward: unknown option '%s' (grad, trace, step, retain_graph, create_graph, record)")
        :format(tostring(k)), 2)
    end
  end
  -- z:backward(0.01): the upstream gradient dL/dz of a single value, as a number
  if type(o.grad) == "number" then
    if self:numel() ~= 1 then
      error(("backward: a number as the upstream gradient needs a single value, but this tensor has shape %s: "
        .. "give a tensor of that shape"):format(table.concat(self:shape(), "x")), 2)
    end
    o.grad = full(self:shape(), o.grad)
  elseif o.grad ~= nil and not is_tensor(o.grad) then
    error("backward: grad must be a tensor shaped like z (or a number for a single value), got a " .. type(o.grad), 2)
  end
  local record = (o.trace or o.step or o.record) and true or (o.create_graph and "names")
  local steps, nacc, first = nncalc._backward(self, o.grad, o.retain_graph, record, o.create_graph)
  -- the namer reads every global: only for what prints names (a silenced
  -- accumulate warning made each backward 50 times slower with it)
  local warn_acc = nacc > 0 and settings.accumulate
  local name = (o.trace or o.step or warn_acc or o.create_graph) and namer()
  -- with an upstream gradient g = dL/dz the pass computes dL/d..., for a
  -- loss L beyond z: the labels say L, not z.  When z's own name already
  -- uses L (z is a gradient dL/dw, seeded for a Hessian-vector product),
  -- L is taken and the labels keep z's name: d(dL/dw)/dw.
  local root = name and ((o.grad and not name(self):find("L", 1, true)) and "L" or name(self))
  if o.create_graph then name_gradients(steps, name, root) end
  if o.trace or o.step then name = memo(name) end   -- names are settled by now
  if warn_acc then
    nncalc.warn(("warning: %s.grad already held a gradient%s; backward adds to it "
      .. "(grad += ...). Call zero_grad() first, or warnings{accumulate=false}\n")
      :format(name(first), nacc > 1 and (" (and " .. (nacc - 1) .. " more)") or ""))
  end
  if o.trace or o.step then
    local out = function(s) io.write(s, "\n") end
    local z = name(self)
    out(("backward from %s = %s   (d%s/d%s = %s)"):format(z, inline(self) or ("[" .. table.concat(self:shape(), "x") .. "]"),
      wrap(root), wrap(z), o.grad and ("the given gradient" .. (inline(o.grad) and (" " .. inline(o.grad)) or "")) or "1"))
    local interactive = o.step and nncalc.interactive and nncalc.interactive()
    local paths, fmt = { order = {} }, memo(inline)
    for k, st in ipairs(steps) do
      print_step(k, st, name, root, out, paths, fmt)
      if interactive and k < #steps then wait_enter() end
    end
    -- a shared weight (W_hh of every time step) gets one share per use
    for _, p in ipairs(paths.order) do
      if p.n > 1 and p.t:is_leaf() then
        local blocks = {}
        out(("total: d%s/d%s = the sum of its %d shares = %s"):format(root, name(p.t), p.n,
          value(p.sum, "d" .. root .. "/d" .. name(p.t), blocks)))
        if blocks[1] then out("    " .. blocks[1][1] .. " =\n" .. tostring(blocks[1][2]):gsub("[^\n]+", "      %0")) end
      end
    end
  end
  if o.record then return steps end
end

-- Reading .grad of an intermediate (non-leaf) tensor gives nil: backward
-- keeps only the leaves' gradients.  Said once, as PyTorch's UserWarning;
-- nncalc's own readers (graph printing) are `quiet`.
local nonleaf = { said = false, quiet = 0 }
function Tensor._nonleaf_grad(t)
  if nonleaf.said or nonleaf.quiet > 0 or not settings.nonleaf_grad then return end
  nonleaf.said = true
  local name, op = namer()(t), t:grad_fn()
  local what = name == op and ("the result of " .. op) or (name .. (op and (" (computed by " .. op .. ")") or ""))
  local call = name == op and "retain_grad() on it" or (name .. ":retain_grad()")
  nncalc.warn(("warning: %s.grad is nil: %s is not a leaf, and backward keeps only the gradients of "
    .. "leaves, as in PyTorch. Call %s before backward to keep it, or backward{trace=true} to see "
    .. "every intermediate gradient. (said once; warnings{nonleaf_grad=false})\n"):format(name, what, call))
end
-- A tensor's gradient for pictures: its .grad (read without the non-leaf
-- warning), or for a computed one what the last backward left on its node
-- (small graphs only, autograd.h).
local function grad_of(t)
  nonleaf.quiet = nonleaf.quiet + 1
  local g = t.grad
  nonleaf.quiet = nonleaf.quiet - 1
  return g or nncalc._kept_grad(t)
end

-- warnings{accumulate=false, nonleaf_grad=false} silences the
-- gradient-accumulation warning and the one about a non-leaf's .grad.
local known_warnings = { accumulate = true, nonleaf_grad = true }
function warnings(o)
  local function state() return { accumulate = settings.accumulate, nonleaf_grad = settings.nonleaf_grad } end
  if o == nil then return state() end
  if type(o) ~= "table" then error("warnings: options table expected, e.g. warnings{accumulate=false}", 2) end
  for k, v in pairs(o) do
    if not known_warnings[k] then
      error(("warnings: unknown warning '%s' (accumulate, nonleaf_grad)"):format(tostring(k)), 2)
    end
    settings[k] = v and true or false
    if k == "nonleaf_grad" and v then nonleaf.said = false end   -- armed again
  end
  return state()
end

-- ---- the graph: a tree in text, Graphviz DOT, SVG ---------------------------

local Graph = {}
Graph.__index = Graph

local function shape_of(t)
  if not t then return "?" end
  return t:dim() == 0 and "scalar" or table.concat(t:shape(), "x")
end
local function short(t) return t and (inline(t) or "") or "" end

-- graph(L [, {rankdir=, clusters=}]): the computation graph that produced L.
function graph(t, opts)
  if not is_tensor(t) then error("graph: a tensor expected", 2) end
  if opts ~= nil and type(opts) ~= "table" then error("graph: options must be a table, e.g. {rankdir = \"TB\"}", 2) end
  return setmetatable({ root = t, nodes = nncalc._graph(t), name = namer(), opts = opts }, Graph)
end

-- Indentation shows depth up to MAX_INDENT levels; deeper lines stay at
-- that column and say their depth, so a 10,000-op chain prints in 10,000
-- lines of bounded length instead of 100 MB of leading spaces.
local MAX_INDENT = 16

function Graph.__tostring(g)
  local name, lines, chunks = g.name, {}, {}
  local by_out = {}
  local deep = ("  "):rep(MAX_INDENT)
  for _, n in ipairs(g.nodes) do
    n.shown = nil   -- (a printing before this one marked them)
    if n.out then by_out[nncalc._id(n.out)] = n end
  end
  -- one line per visit, depth first in input order, from an explicit
  -- stack: a recursion as deep as the graph made every collection walk a
  -- Lua stack of that depth, and printing quadratic in the chain's length.
  -- For the same reason no big table grows while printing (the collector
  -- walks a changed old table whole): lines go out in chunks of 256, and
  -- a node shown is marked in its own small table.
  local function emit(l)
    lines[#lines + 1] = l
    if #lines == 256 then chunks[#chunks + 1] = table.concat(lines, "\n"); lines = {} end
  end
  local function line(t, depth)
    local n = by_out[nncalc._id(t)]
    local pad = depth <= MAX_INDENT and ("  "):rep(depth) or (deep .. "(depth " .. depth .. ") ")
    local g = grad_of(t)
    local grad = g and ("  grad " .. (short(g) ~= "" and short(g) or shape_of(g))) or ""
    if n == nil then
      emit(("%s%s  [%s] %s%s"):format(pad, name(t), shape_of(t), short(t), grad))
      return nil
    end
    emit(("%s%s = %s  [%s] %s%s%s"):format(pad, name(t), n.op, shape_of(t), short(t), grad,
      n.shown and "  (shown above)" or ""))
    if n.shown then return nil end
    n.shown = true
    return n.inputs
  end
  local stack, depths = { g.root }, { 0 }
  while #stack > 0 do
    local t, depth = stack[#stack], depths[#depths]
    stack[#stack], depths[#depths] = nil, nil
    local inputs = line(t, depth)
    if inputs then   -- pushed last first, so that the first is shown first
      for i = #inputs, 1, -1 do
        stack[#stack + 1], depths[#depths + 1] = inputs[i], depth + 1
      end
    end
  end
  if #lines > 0 then chunks[#chunks + 1] = table.concat(lines, "\n") end
  return table.concat(chunks, "\n")
end

-- Graphviz DOT (graph_dot.lua): ops with their formulas, tensors with value
-- and gradient, modules as clusters; opts {rankdir = "TB"} as graph(L, opts).
function Graph.dot(g, path, opts)
  if type(path) == "table" then path, opts = nil, path end
  local ctx = { name = g.name, inline = short, shape_of = shape_of, grad_of = grad_of }
  local text = require("nncalc.graph_dot").render(g, ctx, opts or g.opts)
  if path then
    local f, err = io.open(path, "w")
    if not f then error("graph:dot: " .. err, 2) end
    f:write(text)
    f:close()
  end
  return text
end

-- SVG through Graphviz's dot program, when it is installed.
function Graph.svg(g, path, opts)
  if type(path) ~= "string" then error("graph:svg: a file name expected", 2) end
  local ok = os.execute("command -v dot >/dev/null 2>&1")
  if not ok then error("graph:svg: Graphviz 'dot' is not installed (apt-get install graphviz); graph(L):dot(path) writes the DOT text", 2) end
  local tmp = os.tmpname()
  g:dot(tmp, opts)
  local done = os.execute(("dot -Tsvg %q -o %q"):format(tmp, path))
  os.remove(tmp)
  if not done then error("graph:svg: dot failed", 2) end
  return path
end

-- In a notebook (the Jupyter kernel) graph(L) shows as this picture.
function Graph.__mime(g)
  return { ["image/svg+xml"] = require("nncalc.jupyter").graph_svg(g) }
end

-- forward_trace(L): every intermediate value in the order it was computed.
function forward_trace(t, opts)
  if not is_tensor(t) then error("forward_trace: a tensor expected", 2) end
  local name = namer()
  local list = {}
  for _, n in ipairs(nncalc._graph(t)) do
    if n.out then
      local ins = {}
      for i, x in ipairs(n.inputs) do ins[i] = name(x) end
      list[#list + 1] = { name = name(n.out), op = n.op, inputs = ins, value = n.out,
        shape = shape_of(n.out) }
    end
  end
  if not (opts and opts.quiet) then
    for k, e in ipairs(list) do
      local v = inline(e.value) or ""
      io.write(("%2d. %s = %s(%s)   [%s]  %s\n"):format(k, e.name, e.op, table.concat(e.inputs, ", "), e.shape, v))
      if v == "" then
        for l in tostring(e.value):gmatch("[^\n]+") do io.write("      ", l, "\n") end
      end
    end
  end
  return list
end

-- x:backward's raw Lua errors name it, however this module was loaded
Tensor.backward = require("nncalc.named").wrap("backward", Tensor.backward)

return { graph = graph, warnings = warnings, forward_trace = forward_trace, namer = namer,
  name_gradients = name_gradients, wrap = wrap }
