-- region.lua — the exact input region one output element reads, walked
-- back through a model layer by layer (receptive_region's engine).
-- A region is one {lo, hi} range per dim of a sample (no batch), e.g.
-- {channels, rows, columns}.  Each layer maps the range of its output to
-- the range of its input it reads, clipped to that input (zero padding is
-- no input): so a row a strided layer drops is never counted.
-- A module may define input_region(region, in_shape) itself; otherwise
-- window() gives rows and columns (false: everything), input_channels(lo,
-- hi, in_shape) the channels (default: channel k sees channel k), and a
-- layer without a window is elementwise (or a reshape, as Flatten).

local back

local function axis_word(d, n, one)
  local w = n >= 3 and ({ [n - 2] = "channel", [n - 1] = "row", [n] = "column" })[d] or ("dim " .. d .. " index")
  return one and w or (w .. "s")
end

local function range_text(r)
  return r[1] == r[2] and tostring(r[1]) or (r[1] .. ".." .. r[2])
end

local function full(shape)
  local r = {}
  for d = 1, #shape do r[d] = { 1, shape[d] } end
  return r
end

local function clip(r, shape, ctx)
  if ctx.noclip then return r end
  for d = 1, #shape do
    if r[d][1] < 1 or r[d][2] > shape[d] then ctx.padded = ctx.padded or (#shape >= 3 and d > #shape - 2) end
    r[d] = { math.max(1, math.min(shape[d], r[d][1])), math.min(shape[d], math.max(1, r[d][2])) }
  end
  return r
end

local function hull(a, b)
  if not a then return b end
  local r = {}
  for d = 1, #a do r[d] = { math.min(a[d][1], b[d][1]), math.max(a[d][2], b[d][2]) } end
  return r
end

-- flat indices lo..hi of a row-major shape, as the box of positions they touch
local function unflatten(lo, hi, shape)
  local r, span = {}, 1
  for d = #shape, 1, -1 do
    local inner = span
    span = span * shape[d]
    local a, b = (lo - 1) // inner, (hi - 1) // inner
    if b - a + 1 >= shape[d] or (a // shape[d]) ~= (b // shape[d]) then r[d] = { 1, shape[d] }
    else r[d] = { a % shape[d] + 1, b % shape[d] + 1 } end
  end
  return r
end

local function leaf_back(m, shape, out, reg, ctx)
  if m.input_region then return clip(m:input_region(reg, shape, ctx.batched), shape, ctx) end
  local w = {}
  for axis = 1, 2 do
    w[axis] = m:window(axis, shape)
    if w[axis] == false then return full(shape) end
    if w[axis] == "unknown" then
      error(("receptive_region: %s defines no window() (its receptive-field rule) and no input_region()"):format(m.class_name), 0)
    end
  end
  if w[1] and #shape >= 3 and #out == #shape then
    local r, n = {}, #shape
    for d = 1, n - 2 do r[d] = reg[d] end
    if m.input_channels then r[n - 2] = { m:input_channels(reg[n - 2][1], reg[n - 2][2], shape) } end
    for axis = 1, 2 do
      local t, o = w[axis], reg[n - 2 + axis]
      r[n - 2 + axis] = { (o[1] - 1) * t.s - t.p + 1, (o[2] - 1) * t.s - t.p + t.d * (t.k - 1) + 1 }
    end
    return clip(r, shape, ctx)
  end
  if table.concat(out, "x") == table.concat(shape, "x") then return reg end   -- elementwise
  local n_in, n_out = 1, 1
  for _, v in ipairs(shape) do n_in = n_in * v end
  for _, v in ipairs(out) do n_out = n_out * v end
  if n_in == n_out then   -- a reshape (Flatten): the same values in another order
    local lo, hi, stride = 1, 1, 1
    for d = #out, 1, -1 do lo = lo + (reg[d][1] - 1) * stride; hi = hi + (reg[d][2] - 1) * stride; stride = stride * out[d] end
    return unflatten(lo, hi, shape)
  end
  error(("receptive_region: %s changes the shape {%s} to {%s} but declares no window() or input_region()")
    :format(m.class_name, table.concat(shape, ", "), table.concat(out, ", ")), 0)
end

-- The part of a joined output that branch `part` (shape ps) made: the same
-- region when the branches are added (Residual), the branch's slice of the
-- joined dim when they are concatenated; nil when it made none of it.
local function split(reg, out, parts, k)
  local ps = parts[k]
  if table.concat(ps, "x") == table.concat(out, "x") then return reg end
  local d
  for i = 1, #out do if ps[i] ~= out[i] then d = i end end
  local offset = 0
  for i = 1, k - 1 do offset = offset + parts[i][d] end
  local lo, hi = math.max(reg[d][1], offset + 1), math.min(reg[d][2], offset + ps[d])
  if lo > hi then return nil end
  local sub = {}
  for i = 1, #reg do sub[i] = reg[i] end
  sub[d] = { lo - offset, hi - offset }
  return sub, d
end

-- A container is walked through its analyse(shape, visit): every visit is a
-- node; a node's input is the container's input or an earlier node's output
-- (by the identity of the shape table passed), and the container's output
-- is one node's output or the join of several (analyse's second result).
-- Regions flow back from the output through the nodes in reverse order.
back = function(m, shape, reg, ctx, index)
  if not m.analyse then return leaf_back(m, shape, m:out_shape(shape), reg, ctx) end
  local prefix = index == "" and "" or (index .. ".")
  local nodes, made = {}, {}
  local function source(t)
    if t == shape then return 0 end
    local k = made[t]
    if not k then
      error(("receptive_region: %s's analyse passes a shape that is neither its input nor a child's output")
        :format(m.class_name), 0)
    end
    return k
  end
  local input = { table.unpack(shape) }
  local function visit(child, s, name)
    local k = #nodes + 1
    local from = source(s)
    local o = { table.unpack(child:out_shape(s)) }   -- a table of its own: identity names the node
    nodes[k] = { child = child, from = from, shape = from == 0 and input or nodes[from].out, out = o,
      name = name or tostring(k) }
    made[o] = k
    return o
  end
  local out, joined = m:analyse(shape, visit)
  local at = {}   -- the region asked of each node's output (hull over its consumers)
  local reached
  local function ask(k, r)
    if k == 0 then reached = hull(reached, r) else at[k] = hull(at[k], r) end
  end
  if joined then
    local used, dim = {}, nil
    for i, part in ipairs(joined) do
      local sub, d = split(reg, out, joined, i)
      if sub then
        ask(source(part), sub)
        if d then
          dim = d
          used[#used + 1] = ("branch %s's %s %s"):format(source(part) == 0 and "input" or nodes[source(part)].name,
            axis_word(d, #shape, sub[d][1] == sub[d][2]), range_text(sub[d]))
        end
      end
    end
    if dim and not ctx.noclip then
      ctx.notes[#ctx.notes + 1] = ("%s%s %s %s = %s"):format(m.class_name, index ~= "" and (" (layer " .. index .. ")") or "",
        axis_word(dim, #shape, reg[dim][1] == reg[dim][2]), range_text(reg[dim]), table.concat(used, ", "))
    end
  else
    ask(source(out), reg)
  end
  for k = #nodes, 1, -1 do
    local nd = nodes[k]
    if at[k] then ask(nd.from, back(nd.child, nd.shape, at[k], ctx, prefix .. nd.name)) end
  end
  return reached or full(shape)
end

return { back = back, range_text = range_text }
