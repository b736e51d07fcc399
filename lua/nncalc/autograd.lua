-- autograd.lua — the Lua half of autograd: backward with its chain-rule
-- trace, the accumulation warning, graph pictures, gradcheck and
-- Jacobians.  The graph and the backward pass itself are C (autograd.c).

local Tensor = nncalc.Tensor
local settings = { accumulate = true }

local is_tensor = nncalc.is_tensor

-- Warnings go to stderr, after whatever stdout holds (so that they appear
-- where they happened); the lesson runner sends them to the lesson text.
function nncalc.warn(msg)
  io.stdout:flush()
  io.stderr:write(msg)
end

-- ---- names: x:name(), else the global holding it, else relu#3 --------------

-- A tensor in a global, or at a whole-number index of a plain global
-- table (a hand-written loop's h[t] = tanh(...) is h[1], h[2] ...).
local function global_names()
  local map = {}
  local function put(k, v)
    local id = nncalc._id(v)
    if map[id] == nil or #k < #map[id] then map[id] = k end
  end
  for k, v in pairs(_G) do
    if type(k) == "string" and k ~= "_" then
      if is_tensor(v) then put(k, v)
      elseif type(v) == "table" and getmetatable(v) == nil then
        for i, x in pairs(v) do
          if math.type(i) == "integer" and is_tensor(x) then put(k .. "[" .. i .. "]", x) end
        end
      end
    end
  end
  return map
end

-- Parameters of the modules held in globals, by path: net[1].weight,
-- block.fc.bias.  Only parameters already made are visited (a lazy one has
-- no tensor yet and cannot be in a graph).
local function module_paths()
  local map, seen = {}, {}
  local function walk(m, base)
    if seen[m] then return end
    seen[m] = true
    for _, name in ipairs(rawget(m, "_order") or {}) do
      local p = rawget(m, name)
      if is_tensor(p) then map[nncalc._id(p)] = { path = base .. "." .. name, field = name } end
    end
    for _, nc in ipairs(m:named_children()) do
      local k = nc[1]
      walk(nc[2], base .. (k:match("^%d+$") and ("[" .. k .. "]") or ("." .. k)))
    end
  end
  local names = {}
  for k, v in pairs(_G) do
    if type(k) == "string" and k ~= "_" and nn.is_module(v) then names[#names + 1] = k end
  end
  table.sort(names, function(a, b) return #a < #b or (#a == #b and a < b) end)   -- shortest name wins
  for _, k in ipairs(names) do walk(_G[k], k) end
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

-- A value inline when small, else its shape (and the tensor itself on the
-- lines below, collected in `blocks`).
local function value(t, label, blocks)
  if not t then return "?" end
  local s = inline(t)
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

local function print_step(k, step, name, root, out, paths)
  local ins = {}
  for i, x in ipairs(step.inputs) do ins[i] = name(x) end
  out(("step %d: %s = %s(%s)   [%s]"):format(k, name(step.out), step.op, table.concat(ins, ", "),
    step.out and (step.out:dim() == 0 and "scalar" or table.concat(step.out:shape(), "x")) or "?"))
  local mine = step.out and paths[nncalc._id(step.out)]
  if mine and mine.n > 1 then
    local blocks = {}
    out(("  d%s/d%s = the sum of its %d paths above = %s"):format(wrap(root), wrap(name(step.out)), mine.n,
      value(step.gout, "d" .. wrap(root) .. "/d" .. wrap(name(step.out)), blocks)))
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
      local gout = value(step.gout, "d" .. wrap(root) .. "/d" .. wrap(name(step.out)), blocks)
      local loc = step.locals[i] and value(step.locals[i], "local derivative", blocks)
      local res = value(g, "d" .. wrap(root) .. "/d" .. wrap(name(step.inputs[i])), blocks)
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
          :format(name(x), wrap(root), wrap(name(x)), value(p.sum, "sum so far", blocks), p.n))
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
  if is_tensor(arg) then o.grad = arg
  elseif type(arg) == "table" then o = arg
  elseif arg ~= nil then error("backward: expected a gradient tensor or an options table", 2) end
  for k in pairs(o) do
    if not ({ grad = 1, trace = 1, step = 1, retain_graph = 1, create_graph = 1, record = 1 })[k] then
      error(("backward: unknown option '%s' (grad, trace, step, retain_graph, create_graph, record)")
        :format(tostring(k)), 2)
    end
  end
  local record = (o.trace or o.step or o.record) and true or (o.create_graph and "names")
  local steps, nacc, first = nncalc._backward(self, o.grad, o.retain_graph, record, o.create_graph)
  local name = (o.trace or o.step or nacc > 0 or o.create_graph) and namer()
  if o.create_graph then name_gradients(steps, name, name(self)) end
  if nacc > 0 and settings.accumulate then
    nncalc.warn(("warning: %s.grad already held a gradient%s; backward adds to it "
      .. "(grad += ...). Call zero_grad() first, or warnings{accumulate=false}\n")
      :format(name(first), nacc > 1 and (" (and " .. (nacc - 1) .. " more)") or ""))
  end
  if o.trace or o.step then
    local root = name(self)
    local out = function(s) io.write(s, "\n") end
    out(("backward from %s = %s   (d%s/d%s = %s)"):format(root, inline(self) or ("[" .. table.concat(self:shape(), "x") .. "]"),
      wrap(root), wrap(root), o.grad and "the given gradient" or "1"))
    local interactive = o.step and nncalc.interactive and nncalc.interactive()
    local paths = { order = {} }
    for k, st in ipairs(steps) do
      print_step(k, st, name, root, out, paths)
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

-- warnings{accumulate=false} silences the gradient-accumulation warning.
function warnings(o)
  if o == nil then return { accumulate = settings.accumulate } end
  if type(o) ~= "table" then error("warnings: options table expected, e.g. warnings{accumulate=false}", 2) end
  for k, v in pairs(o) do
    if k ~= "accumulate" then error(("warnings: unknown warning '%s' (accumulate)"):format(tostring(k)), 2) end
    settings.accumulate = v and true or false
  end
  return { accumulate = settings.accumulate }
end

-- ---- the graph: a tree in text, Graphviz DOT, SVG ---------------------------

local Graph = {}
Graph.__index = Graph

local function shape_of(t)
  if not t then return "?" end
  return t:dim() == 0 and "scalar" or table.concat(t:shape(), "x")
end
local function short(t) return t and (inline(t) or "") or "" end

-- graph(L): the computation graph that produced L.
function graph(t)
  if not is_tensor(t) then error("graph: a tensor expected", 2) end
  return setmetatable({ root = t, nodes = nncalc._graph(t), name = namer() }, Graph)
end

function Graph.__tostring(g)
  local name, lines, seen = g.name, {}, {}
  local by_out = {}
  for _, n in ipairs(g.nodes) do if n.out then by_out[nncalc._id(n.out)] = n end end
  local function walk(t, depth)
    local n = by_out[nncalc._id(t)]
    local pad = ("  "):rep(depth)
    local grad = t.grad and ("  grad " .. (short(t.grad) ~= "" and short(t.grad) or shape_of(t.grad))) or ""
    if n == nil then
      lines[#lines + 1] = ("%s%s  [%s] %s%s"):format(pad, name(t), shape_of(t), short(t), grad)
      return
    end
    local id = nncalc._id(t)
    lines[#lines + 1] = ("%s%s = %s  [%s] %s%s%s"):format(pad, name(t), n.op, shape_of(t), short(t), grad,
      seen[id] and "  (shown above)" or "")
    if seen[id] then return end
    seen[id] = true
    for _, x in ipairs(n.inputs) do walk(x, depth + 1) end
  end
  walk(g.root, 0)
  return table.concat(lines, "\n")
end

-- Graphviz DOT: ops as ellipses, tensors as boxes with value and gradient.
function Graph.dot(g, path)
  local name, out, ids, next_id = g.name, {}, {}, 0
  local function id_of(t)
    local k = nncalc._id(t)
    if not ids[k] then next_id = next_id + 1; ids[k] = "t" .. next_id end
    return ids[k]
  end
  local function esc(s) return (s:gsub('"', '\\"')) end
  out[#out + 1] = "digraph nncalc {\n  rankdir=LR;\n  node [fontname=\"monospace\"];"
  local seen = {}
  local function tensor_node(t)
    local id = id_of(t)
    if seen[id] then return id end
    seen[id] = true
    local label = name(t) .. " [" .. shape_of(t) .. "]"
    local v = short(t)
    if v ~= "" then label = label .. "\\nvalue " .. v end
    if t.grad then label = label .. "\\ngrad " .. (short(t.grad) ~= "" and short(t.grad) or shape_of(t.grad)) end
    out[#out + 1] = ('  %s [shape=box, label="%s"];'):format(id, esc(label))
    return id
  end
  for _, n in ipairs(g.nodes) do
    local op = "op" .. n.id
    out[#out + 1] = ('  %s [shape=ellipse, label="%s#%d"];'):format(op, n.op, n.id)
    -- tensor_node appends the box first: call it before taking #out + 1,
    -- or the edge would overwrite the box's line
    for _, x in ipairs(n.inputs) do
      local t = tensor_node(x)
      out[#out + 1] = ("  %s -> %s;"):format(t, op)
    end
    if n.out then
      local t = tensor_node(n.out)
      out[#out + 1] = ("  %s -> %s;"):format(op, t)
    end
  end
  tensor_node(g.root)
  out[#out + 1] = "}"
  local text = table.concat(out, "\n") .. "\n"
  if path then
    local f, err = io.open(path, "w")
    if not f then error("graph:dot: " .. err, 2) end
    f:write(text)
    f:close()
  end
  return text
end

-- SVG through Graphviz's dot program, when it is installed.
function Graph.svg(g, path)
  if type(path) ~= "string" then error("graph:svg: a file name expected", 2) end
  local ok = os.execute("command -v dot >/dev/null 2>&1")
  if not ok then error("graph:svg: Graphviz 'dot' is not installed (apt-get install graphviz); graph(L):dot(path) writes the DOT text", 2) end
  local tmp = os.tmpname()
  g:dot(tmp)
  local done = os.execute(("dot -Tsvg %q -o %q"):format(tmp, path))
  os.remove(tmp)
  if not done then error("graph:svg: dot failed", 2) end
  return path
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

return { graph = graph, warnings = warnings, forward_trace = forward_trace, inline = inline, num = num,
  namer = namer, name_gradients = name_gradients, wrap = wrap }
