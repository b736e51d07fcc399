-- graph_dot.lua — the computation graph as Graphviz DOT, drawn the way a
-- student reads it on paper (after micrograd's draw_dot): every tensor a
-- box with its value and, after a backward, its gradient (intermediate ones
-- too); ops as ellipses with the formula they compute, constants shown
-- (L = (yhat - 10)^2 reads "sub#1: yhat − 10", "pow#2: sub#1 ^ 2");
-- parameters, inputs and the output in their own colours; the nodes of a
-- module grouped in a cluster labelled with the module.

local M = {}

local colours = { param = "#cfe2ff", input = "#fff3cd", output = "#f8d7da", op = "#eeeeee", value = "white" }

-- a number as a formula shows it
local function num(v)
  if v == math.floor(v) and math.abs(v) < 1e15 then return ("%.0f"):format(v) end
  return ("%.6g"):format(v)
end

local symbols = { add = "+", sub = "−", mul = "·", div = "/", pow = "^", maximum = "max", minimum = "min" }

-- The formula of an op with a number: "a − 10", "10 − a", "a ^ 2".  Which
-- side the number was on shows in the op's chain rule (-dL/d... for c − a).
local function scalar_formula(n, a)
  local sym = symbols[n.op]
  if not sym or #n.inputs ~= 1 then return nil end
  local c = num(n.scalar)
  local rule = n.rules and n.rules[1] or ""
  local first = (n.op == "sub" and rule:find("= %-dL")) or (n.op == "div" and rule:find("%-%%c/"))
    or (n.op == "pow" and rule:find("%%c%^%%0"))
  if sym == "max" or sym == "min" then return ("%s(%s, %s)"):format(sym, a, c), c end
  if first then return ("%s %s %s"):format(c, sym, a), c end
  return ("%s %s %s"):format(a, sym, c), c
end

-- ctx: name(t), inline(t), shape_of(t), grad_of(t), and optionally
-- modules() -> list of {module = m, path = "net[1]"} (default: the
-- globals', autograd.lua's _global_modules); opts: rankdir ("LR", "TB" ...), clusters (default true).
function M.render(g, ctx, opts)
  opts = opts or {}
  local rankdir = opts.rankdir or "LR"
  if rankdir ~= "LR" and rankdir ~= "TB" and rankdir ~= "RL" and rankdir ~= "BT" then
    error(("graph:dot: rankdir must be \"LR\", \"TB\", \"RL\" or \"BT\", got %s"):format(tostring(rankdir)), 3)
  end
  local ids, next_id = {}, 0
  local function id_of(t)
    local k = nncalc._id(t)
    if not ids[k] then next_id = next_id + 1; ids[k] = "t" .. next_id end
    return ids[k]
  end
  -- labels carry DOT's own \n line breaks; only quotes need escaping
  local function esc(s) return (s:gsub('"', '\\"')) end

  -- which op made each tensor, and which tensors are whose ancestors
  local maker, root_id = {}, nncalc._id(g.root)
  for _, n in ipairs(g.nodes) do if n.out then maker[nncalc._id(n.out)] = n end end
  local function ancestors(t, set)
    set = set or {}
    local n = maker[nncalc._id(t)]
    if not n or set[n.id] then return set end
    set[n.id] = true
    for _, x in ipairs(n.inputs) do ancestors(x, set) end
    return set
  end

  -- clusters: a module whose last output is in this graph owns the ops
  -- between its input and its output, and its parameters
  local clusters, owner_of_op, owner_of_param, input_label = {}, {}, {}, {}
  if opts.clusters ~= false then
    for _, e in ipairs((ctx.modules or nncalc._global_modules)()) do
      local m = e.module
      local out = rawget(m, "output")
      if nncalc.is_tensor(out) and maker[nncalc._id(out)] then
        local input_id = rawget(m, "_input_id")
        -- a module whose input is not known (a loss's own forward) owns its last op only
        local ops = input_id and ancestors(out) or { [maker[nncalc._id(out)].id] = true }
        for _, n in ipairs(g.nodes) do
          if n.out and nncalc._id(n.out) == input_id then
            for k in pairs(ancestors(n.out)) do ops[k] = nil end
          end
        end
        local cl = { path = e.path, label = e.path .. ": " .. m.class_name .. "(" .. m:extra_repr() .. ")",
          ops = ops, size = 0, children = {} }
        for _ in pairs(ops) do cl.size = cl.size + 1 end
        clusters[#clusters + 1] = cl
        for _, pname in ipairs(rawget(m, "_order") or {}) do
          local p = rawget(m, pname)
          if nncalc.is_tensor(p) then owner_of_param[nncalc._id(p)] = cl end
        end
        if input_id and not input_label[input_id] then input_label[input_id] = e.path .. " input" end
      end
    end
    -- innermost first: an op belongs to the smallest cluster holding it
    table.sort(clusters, function(a, b) return a.size < b.size end)
    for _, cl in ipairs(clusters) do
      for id in pairs(cl.ops) do owner_of_op[id] = owner_of_op[id] or cl end
    end
    -- nesting: the smallest larger cluster holding all of a cluster's ops
    for i, cl in ipairs(clusters) do
      for j = i + 1, #clusters do
        local big, inside = clusters[j], next(cl.ops) ~= nil
        for id in pairs(cl.ops) do if not big.ops[id] then inside = false; break end end
        if inside and big.size > cl.size then cl.parent = big; break end
      end
    end
    for _, cl in ipairs(clusters) do
      if cl.parent then local c = cl.parent.children; c[#c + 1] = cl end
    end
  end

  -- a loss's target and a module's unnamed input read as what they are
  local role = {}
  for _, n in ipairs(g.nodes) do
    if (n.op:find("loss") or n.op:find("entropy")) and n.inputs[2] then role[nncalc._id(n.inputs[2])] = "target" end
  end
  local function label_name(t)
    local name = ctx.name(t)
    if name:match("^leaf#") then
      local k = nncalc._id(t)
      return role[k] or input_label[k] or name
    end
    return name
  end

  local lines_of = { [false] = {} }   -- cluster -> its node lines
  local function add_node(cl, line)
    local key = cl or false
    lines_of[key] = lines_of[key] or {}
    local l = lines_of[key]
    l[#l + 1] = line
  end
  local edges, seen = {}, {}
  local function tensor_node(t, cl)
    local id = id_of(t)
    if seen[id] then return id end
    seen[id] = true
    local k = nncalc._id(t)
    local label = label_name(t) .. " [" .. ctx.shape_of(t) .. "]"
    local v = ctx.inline(t)
    if v ~= "" then label = label .. "\\nvalue " .. v end
    local gr = ctx.grad_of(t)
    if gr then label = label .. "\\ngrad " .. (ctx.inline(gr) ~= "" and ctx.inline(gr) or ctx.shape_of(gr)) end
    local kind = k == root_id and "output" or (maker[k] and "value" or (nncalc._wants_grad(t) and "param" or "input"))
    add_node(maker[k] and cl or owner_of_param[k],
      ('  %s [shape=box, style="filled", fillcolor="%s", label="%s"];'):format(id, colours[kind], esc(label)))
    return id
  end
  for _, n in ipairs(g.nodes) do
    local op, cl = "op" .. n.id, owner_of_op[n.id]
    local names = {}
    for i, x in ipairs(n.inputs) do names[i] = label_name(x) end
    local formula, const = scalar_formula(n, names[1])
    local label = n.op .. "#" .. n.id .. (formula and ("\\n" .. formula) or "")
    add_node(cl, ('  %s [shape=ellipse, style="filled", fillcolor="%s", label="%s"];'):format(op, colours.op, esc(label)))
    for _, x in ipairs(n.inputs) do edges[#edges + 1] = ("  %s -> %s;"):format(tensor_node(x, cl), op) end
    if const then   -- the number as its own small box, feeding the op
      next_id = next_id + 1
      add_node(cl, ('  t%d [shape=box, style="dashed", label="%s"];'):format(next_id, esc(const)))
      edges[#edges + 1] = ("  t%d -> %s;"):format(next_id, op)
    end
    if n.out then edges[#edges + 1] = ("  %s -> %s;"):format(op, tensor_node(n.out, cl)) end
  end
  tensor_node(g.root, owner_of_op[maker[root_id] and maker[root_id].id or -1])

  local out = { "digraph nncalc {", ("  rankdir=%s;"):format(rankdir), '  node [fontname="monospace"];' }
  for _, l in ipairs(lines_of[false]) do out[#out + 1] = l end
  local k = 0
  local function emit(cl)
    k = k + 1
    out[#out + 1] = ('  subgraph cluster_%d { label="%s"; style="rounded"; color="#6c757d";'):format(k, esc(cl.label))
    for _, l in ipairs(lines_of[cl] or {}) do out[#out + 1] = l end
    for _, c in ipairs(cl.children) do emit(c) end
    out[#out + 1] = "  }"
  end
  for i = #clusters, 1, -1 do if not clusters[i].parent then emit(clusters[i]) end end
  for _, e in ipairs(edges) do out[#out + 1] = e end
  out[#out + 1] = "}"
  return table.concat(out, "\n") .. "\n"
end

return M
