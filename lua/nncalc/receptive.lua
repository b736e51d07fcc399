-- receptive.lua — receptive fields per layer and axis, and the exact input
-- region one output element depends on.  The numbers come from summary()'s
-- walk (r, jump, start per axis, merged over branches); the region of
-- output position i along an axis is centred at start + (i − 1)·jump and
-- spans r pixels, clipped to the image where zero padding lies outside it.

local Module = require("nncalc.nn.Module")
local M = {}

local function final_state(model, shape, fname)
  if type(shape) ~= "table" or #shape < 3 then
    error(fname .. ": the input shape must be an image {C, H, W} or a batch {N, C, H, W}", 3)
  end
  local ok, s = pcall(summary, model, shape, { quiet = true })   -- checks the shape
  if not ok then error(fname .. ": " .. tostring(s):gsub("^summary: ", ""), 3) end
  local whole = {}   -- summary took {3, 32.0, 2^5}; so do the sizes here
  for i, v in ipairs(shape) do whole[i] = math.tointeger(v) end
  return s, whole
end

local function num(v)
  return v == math.floor(v) and tostring(math.tointeger(v)) or ("%.1f"):format(v)
end

-- receptive_field(model, shape): a list of {index, name, h = {size, jump,
-- start}, w = {...}} per layer, printed as a table unless quiet.
function M.receptive_field(model, shape, opts)
  local s
  s, shape = final_state(model, shape, "receptive_field")
  local list, rows = {}, { { "layer", "size (HxW)", "jump", "start" } }
  for _, r in ipairs(s) do
    if r.rf and r.rf[1] and r.rf[1].unknown then
      list[#list + 1] = { index = r.index, name = r.name, unknown = true }
      rows[#rows + 1] = { ("  "):rep(r.depth) .. (r.index ~= "" and (r.index .. " ") or "") .. r.name, "?", "?", "?",
        note = not r.container and r.module:window(1, r.in_shape) == "unknown" and (r.module.class_name .. " defines no window(): the field is unknown from here on") or nil }
    elseif r.rf and r.rf[1] and not r.part then
      local h, w = r.rf[1], r.rf[2]
      local e = { index = r.index, name = r.name,
        h = { size = h.global and shape[#shape - 1] or h.r, jump = h.j, start = h.start, all = h.global },
        w = { size = w.global and shape[#shape] or w.r, jump = w.j, start = w.start, all = w.global },
        aligned = h.aligned ~= false and w.aligned ~= false, note = r.note }
      list[#list + 1] = e
      local function pair(a, b) return a == b and a or (a .. "x" .. b) end
      rows[#rows + 1] = { ("  "):rep(r.depth) .. (r.index ~= "" and (r.index .. " ") or "") .. r.name,
        h.global and "all" or pair(num(h.r), num(w.r)), h.global and "-" or pair(num(h.j), num(w.j)),
        h.global and "-" or pair(num(h.start), num(w.start)), note = r.note }
    end
  end
  -- the layer column as wide as its longest name: settings are never cut
  local width = 0
  for _, row in ipairs(rows) do width = math.max(width, utf8.len(row[1]) or #row[1]) end
  local lines = {}
  for _, row in ipairs(rows) do
    lines[#lines + 1] = row[1] .. (" "):rep(width - (utf8.len(row[1]) or #row[1]))
      .. ("  %12s %10s %12s"):format(row[2], row[3], row[4])
    if row.note then lines[#lines + 1] = "    note: " .. row.note end
  end
  if not (opts and opts.quiet) then
    print(table.concat(lines, "\n"))
    list._printed = true
  end
  return list
end

-- The rows (or columns) output position i sees: [lo, hi] before clipping.
local function span(st, i)
  local c = st.start + (i - 1) * st.j
  return c - (st.r - 1) / 2, c + (st.r - 1) / 2
end

local function affine(name, st)
  local half = (st.r - 1) / 2
  local a, b = st.start - st.j - half, st.start - st.j + half
  local function term(k)
    if k == 0 then return "" end
    return (k > 0 and "+" or "-") .. num(math.abs(k))
  end
  local coef = st.j == 1 and "" or num(st.j)
  return ("%s %s%s%s .. %s%s%s"):format(name, coef, "i", term(a), coef, "i", term(b))
end

-- ---- the exact region of one output element, walked back layer by layer ----
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

-- receptive_region(model, shape, {c, i, j}): the input channels, rows and
-- columns (1-based, clipped) that output element (c, i, j) depends on;
-- without the index, the general affine form of rows and columns.
function M.receptive_region(model, shape, idx)
  if idx == nil then
    local s = final_state(model, shape, "receptive_region")
    local top = s[1]
    if not top or not top.rf or not top.rf[1] then
      error("receptive_region: the model has no spatial output to trace back", 2)
    end
    local h, w = top.rf[1], top.rf[2]
    if h.unknown or w.unknown then
      error("receptive_region: a layer of this model defines no window() (its receptive-field rule), so the field is unknown", 2)
    end
    if h.global then
      error("receptive_region: every output depends on the whole input past a Linear layer or global pooling (and an adaptive pool with uneven bins has no single window)", 2)
    end
    if h.aligned == false or w.aligned == false then
      error("receptive_region: the branches are not aligned, so no single window describes the field", 2)
    end
    local text = affine("rows", h) .. ",  " .. affine("columns", w):gsub("i", "j")
    return setmetatable({ rows = { jump = h.j, start = h.start, size = h.r }, cols = { jump = w.j, start = w.start, size = w.r },
      text = text }, { __tostring = function(t) return t.text end })
  end
  if type(shape) ~= "table" or #shape < 3 then
    error("receptive_region: the input shape must be an image {C, H, W} or a batch {N, C, H, W}", 2)
  end
  if not Module.is_module(model) then error("receptive_region: the first argument must be a model", 2) end
  local whole = {}   -- {3, 32.0, 2^5} is {3, 32, 32}, as summary takes it
  for i, v in ipairs(shape) do
    whole[i] = type(v) == "number" and math.tointeger(v)
    if not whole[i] or whole[i] < 1 then
      error(("receptive_region: input size %d is %s, not a positive whole number"):format(i, tostring(v)), 2)
    end
  end
  shape = whole
  local ok, out = pcall(model.out_shape, model, shape)
  if not ok then error("receptive_region: " .. tostring(out):gsub("^[^:\n]*:%d+: ", ""), 2) end
  -- the walk is per sample: a batch {N, C, H, W} is traced as one C x H x W
  local batched = #shape == 4
  local sample = batched and { table.unpack(shape, 2) } or shape
  local sout = batched and { table.unpack(out, 2) } or out
  if type(idx) ~= "table" or #idx ~= #sout then
    error(("receptive_region: the output index must have one entry per output dim, %s for output shape {%s} (1-based)")
      :format(#sout == 3 and "{c, i, j}" or #sout == 1 and "{k}" or ("{" .. #sout .. " numbers}"), table.concat(sout, ", ")), 2)
  end
  local names = #sout == 3 and { "channel", "row", "column" } or {}
  local reg = {}
  for d = 1, #sout do
    local v = idx[d]
    if math.type(v) == "float" and v == math.floor(v) then v = math.tointeger(v) end
    if math.type(v) ~= "integer" or v < 1 or v > sout[d] then
      error(("receptive_region: %s %s is out of range 1..%d (output shape {%s})"):format(names[d] or ("index " .. d),
        tostring(idx[d]), sout[d], table.concat(sout, ", ")), 2)
    end
    reg[d] = { v, v }
  end
  local ctx = { notes = {}, batched = batched }
  local ok2, r = pcall(back, model, sample, reg, ctx, "")
  if not ok2 then error(tostring(r):gsub("^[^:\n]*:%d+: ", ""), 2) end
  local region = { channels = r[1], rows = r[2], cols = r[3], notes = ctx.notes, padded = ctx.padded or false }
  -- the textbook (unclipped) window: the same walk without clipping
  local uc = back(model, sample, reg, { notes = {}, batched = batched, noclip = true }, "")
  region.unclipped = { channels = uc[1], rows = uc[2], cols = uc[3] }
  return setmetatable(region, { __tostring = function(t)
    local C = sample[1]
    local text = ("channels %s, rows %s, columns %s%s"):format(range_text(t.channels), range_text(t.rows),
      range_text(t.cols), (t.channels[1] == 1 and t.channels[2] == C) and " (all input channels)" or "")
    if t.padded then
      local u = t.unclipped
      text = text .. ("; unclipped rows %s, columns %s reach past the edge (zero padding)"):format(
        range_text(u.rows), range_text(u.cols))
    end
    for _, n in ipairs(t.notes) do text = text .. "\nnote: " .. n end
    return text
  end })
end

return M
