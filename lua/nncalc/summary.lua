-- summary.lua — summary(model, input_shape [, opts]): the counting half of
-- homework.  Works from layer settings alone (out_shape and cost of every
-- module), so no weight is allocated: summary(vgg16, {3, 224, 224}) is
-- instant.  Receptive fields follow Araujo et al. (Distill 2019), per axis:
--     r_out = r_in + (k_eff − 1)·j_in     j_out = j_in·s
--     start_out = start_in + ((k_eff − 1)/2 − p)·j_in     k_eff = d(k − 1) + 1
-- where start is the centre of the first output's field in input pixels
-- (1-based), and r = the field's size.

local Module = nn.Module
local M = {}

-- ---- receptive-field state, one per spatial axis -----------------------------

local function rf_start(size) return { r = 1, j = 1, start = 1, size = size } end

local function rf_copy(st) return { r = st.r, j = st.j, start = st.start, size = st.size, global = st.global } end

-- Applies one layer's window (nil: elementwise, false: sees everything).
local function rf_apply(st, w)
  if w == nil then return rf_copy(st) end
  if w == false or st.global then
    return { r = st.size, j = st.j, start = st.start, size = st.size, global = true }
  end
  local keff = w.d * (w.k - 1) + 1
  return { r = st.r + (keff - 1) * st.j, j = st.j * w.s,
    start = st.start + ((keff - 1) / 2 - w.p) * st.j, size = st.size, keff = keff, w = w, prev = st }
end

-- Several branches: the largest field; they must share jump and start
-- (be aligned) for one affine formula to describe the union.
local function rf_merge(states)
  local best, aligned = states[1], true
  for _, s in ipairs(states) do
    if s.r > best.r then best = s end
    if not s.global and not best.global and (s.j ~= states[1].j or s.start ~= states[1].start) then aligned = false end
  end
  local out = rf_copy(best)
  out.aligned = aligned
  return out, aligned
end

-- ---- walking the model -----------------------------------------------------------
--
-- Everything here reads the module contract (nn/Module.lua), never class
-- names: a container composes its children through analyse(shape, visit),
-- a leaf states out_shape, cost and window.  What a module does not state is
-- shown as not counted, and the totals are marked partial.

local function zero_cost()
  return { weights = 0, biases = 0, mults = 0, adds = 0, bias_adds = 0, macs = 0, comps = 0,
    acts = 0, conns = 0, bwd_input = 0, bwd_weight = 0, saved = 0, saved_index = 0, buffers = 0, lookups = 0 }
end

local numel = require("nncalc.nn.Module").numel

local function spatial(shape)
  local n = #shape
  if n >= 3 then return shape[n - 1], shape[n] end
end

-- A model whose first layer reads sequences (its class says input_layout =
-- "sequence": {T, C}, {N, T, C}, token indices) has no image axes, whatever
-- the rank of its input.
local function reads_sequence(m)
  while Module.is_module(m) do
    if m.input_layout == "sequence" then return true end
    m = m:children()[1]
  end
  return false
end

local walk

local function add_into(total, c)
  for k, v in pairs(c) do if type(v) == "number" then total[k] = (total[k] or 0) + v end end
end

local function what(m) return (m:repr(""):gsub("\n.*", " ...")) end

-- An error from a module's hook, said at the layer it came from.
local function fail_at(m, index, msg)
  local w = what(m)
  msg = tostring(msg):gsub("^[^:]*:%-?%d+: ", ""):gsub("^" .. w:gsub("%p", "%%%0") .. ": ", "")
  local parts = {}
  for p in index:gmatch("[^.]+") do parts[#parts + 1] = p end
  if #parts > 12 then   -- a deep nest: the first and last levels say where
    index = table.concat(parts, ".", 1, 4) .. ". ... ." .. table.concat(parts, ".", #parts - 3)
      .. (" (%d levels deep)"):format(#parts)
  end
  error(index == "" and ("summary: %s: %s"):format(w, msg) or ("summary: layer %s (%s): %s"):format(index, w, msg), 0)
end

-- The shape rule, which every module must state (nothing is run to find
-- it: summary allocates no weights).
local function shape_of(m, shape, index)
  local ok, out = pcall(m.out_shape, m, shape)
  if not ok then fail_at(m, index, out) end
  return out
end

-- Why a layer's field is unknown, said at the layer that makes it so.
function M.unknown_note(m, shape)
  local w1, w2 = m:window(1, shape), m:window(2, shape)
  if w1 == "uneven" or w2 == "uneven" then
    return ("%s's bins are uneven on %s: outputs see windows of different sizes, so no one field (not the whole input); "
      .. "receptive_region(model, shape, {c, i, j}) gives each output's exact one"):format(m.class_name, table.concat(shape, "x"))
  end
  if w1 == "unknown" then return m.class_name .. " defines no window(): the field is unknown from here on" end
end

-- Receptive-field state per axis: known for the identity and stated
-- windows; a module that states none makes the field unknown from there on.
local function rf_step(m, rf, shape)
  local new = {}
  for axis = 1, 2 do
    if rf[axis] then
      local w = m:window(axis, shape)
      -- a layer that sees everything (Linear, global pooling) does so whatever came before
      if w == false then new[axis] = rf_apply(rf[axis], w)
      elseif w == "unknown" or w == "uneven" or rf[axis].unknown then
        new[axis] = { unknown = true, uneven = rf[axis].uneven or w == "uneven", size = rf[axis].size }
      else new[axis] = rf_apply(rf[axis], w) end
    end
  end
  return new
end

-- A module that computes (a leaf): one row, plus its cost's parts as sub-rows.
local function leaf(m, shape, rf, ctx, index, depth)
  local out = shape_of(m, shape, index)
  local row = { index = index, depth = depth, name = what(m), module = m, in_shape = shape, out_shape = out,
    neurons = m:makes_neurons() and numel(out) or 0, same_neurons = not m:makes_neurons() }
  local c = zero_cost()
  if m.cost then
    local ok, given = pcall(m.cost, m, shape, out)
    if not ok then fail_at(m, index, given) end
    add_into(c, given)
    if given.weights == nil and given.biases == nil then c.weights = m:count_parameters() end
    row.parts, row.note = given.parts, given.note
  else
    c.weights = m:count_parameters()
    row.not_counted = m.class_name .. " defines no cost"
    ctx.partial = (ctx.partial or 0) + 1
  end
  for k, v in pairs(c) do row[k] = v end
  row.rf = rf_step(m, rf, shape)
  if row.rf[1] and row.rf[1].uneven and not (rf[1] and rf[1].uneven) and not row.note then
    row.note, row.rf_note = M.unknown_note(m, shape), true
  end
  ctx.rows[#ctx.rows + 1] = row
  for _, p in ipairs(row.parts or {}) do
    local sub = zero_cost()
    add_into(sub, p)
    sub.index, sub.depth, sub.name, sub.part, sub.module, sub.kind = "", depth + 1, p.name, true, m, p.kind
    ctx.rows[#ctx.rows + 1] = sub
  end
  return out, row.rf
end

-- A container: a header row, its children's rows one level in, walked in
-- the order its analyse() feeds them.  Each shape visit() returns carries
-- its receptive-field state, so branches and sequences compose alike.
local function container(m, shape, rf, ctx, index, depth)
  local header = { index = index, depth = depth, name = m.summary_name and m:summary_name() or m.class_name,
    module = m, in_shape = shape, container = true }
  ctx.rows[#ctx.rows + 1] = header
  local prefix = index ~= "" and (index .. ".") or ""
  local state_of, consumed, produced = setmetatable({}, { __mode = "k" }), {}, {}
  state_of[shape] = rf
  local n = 0
  local function visit(child, s, name)
    n = n + 1
    local st = state_of[s]
    if st == nil then st = rf end
    consumed[s] = true
    local o, ost = walk(child, s, st, ctx, prefix .. (name or tostring(n)), depth + 1)
    o = { table.unpack(o) }
    state_of[o] = ost
    produced[#produced + 1] = o
    return o
  end
  -- no protected call per level (Lua's C-stack limit would stop a deep
  -- nest near 200): the open containers are listed, and summary() itself
  -- says an error at the innermost one
  if ctx.active[m] then
    error(("summary: layer %s (%s) contains itself (it is %s): a module cannot hold itself"):format(
      index, what(m), ctx.active[m] ~= "" and ("layer " .. ctx.active[m]) or "the whole model"), 0)
  end
  ctx.active[m] = index
  ctx.open[#ctx.open + 1] = { m = m, index = index }
  local out, joined = m.analyse(m, shape, visit)
  ctx.open[#ctx.open] = nil
  ctx.active[m] = nil
  local state = state_of[out]
  if state == nil then   -- branches joined into a new shape: the largest field
    local list = joined or {}
    if not joined then for _, o in ipairs(produced) do if not consumed[o] then list[#list + 1] = o end end end
    state = {}
    for axis = 1, 2 do
      if rf[axis] then
        local states = {}
        for i, o in ipairs(list) do states[i] = (state_of[o] or rf)[axis] end
        if #states == 0 then states[1] = rf[axis] end
        local unknown, uneven = false, false
        for _, st in ipairs(states) do unknown, uneven = unknown or st.unknown, uneven or st.uneven end
        if unknown then state[axis] = { unknown = true, uneven = uneven, size = rf[axis].size }
        else
          local merged, aligned = rf_merge(states)
          state[axis] = merged
          if not aligned then header.note = "branches are not aligned (different jump or start): the field shown is the largest branch's" end
        end
      end
    end
  end
  if m.rf_note and rf[1] and not header.note then header.note, header.rf_note = m.rf_note, true end
  if m.cost then   -- what the container adds itself (a residual's additions)
    local given = m:cost(shape, out)
    local c = zero_cost()
    add_into(c, given)
    for k, v in pairs(c) do if v ~= 0 then header[k] = v end end
    header.own = true
    if given.note then header.note = given.note end
  end
  header.out_shape = out
  header.rf = state
  header.neurons = 0
  return out, state
end

walk = function(m, shape, rf, ctx, index, depth)
  if not Module.is_module(m) then
    error(("summary: %s is a %s, not a module"):format(index ~= "" and ("layer " .. index) or "the model", type(m)), 0)
  end
  if m.analyse then return container(m, shape, rf, ctx, index, depth) end
  return leaf(m, shape, rf, ctx, index, depth)
end

-- ---- conventions and totals ---------------------------------------------------------

local defaults = { bias = true, relu = true, flops = "mac", per_sample = false, neurons = "layers", dtype = "fp32" }
local value_bytes = { fp32 = 4, fp64 = 8, bf16 = 2, fp16 = 2 }

local function flops_of(row, conv)
  if conv.flops == "2mac" then return 2 * row.macs end
  if conv.flops == "2k-1" then return row.mults + row.adds end
  return row.macs
end

-- per sample: a count divided by the batch, kept an integer when it is one
local function per(v, scale)
  v = v / scale
  return v == math.floor(v) and math.tointeger(v) or v
end

-- The counts a row carries, under the names of the printed columns: adds
-- is what the adds column shows (the bias included unless bias=false).
local counted = { "params", "weights", "biases", "neurons", "mults", "adds", "bias_adds", "macs", "flops", "comps",
  "acts", "conns", "bwd_input", "bwd_weight", "saved", "saved_index", "buffers", "lookups", "bytes" }

local function finish(row, conv, scale)
  if row.container and not row.own then return end
  row.weights, row.biases = row.weights or 0, row.biases or 0
  row.params = row.weights + row.biases
  row.adds = (row.adds or 0) + (conv.bias and (row.bias_adds or 0) or 0)
  if not conv.relu then row.acts = 0 end
  if conv.neurons == "all" and not row.container and not row.part then row.neurons = numel(row.out_shape) end
  for _, k in ipairs(counted) do
    if row[k] and k ~= "params" and k ~= "weights" and k ~= "biases" and k ~= "buffers" then row[k] = per(row[k], scale) end
  end
  row.macs, row.mults = row.macs or 0, row.mults or 0
  row.flops = flops_of(row, conv)
  -- parameters and the values saved for the backward, in bytes (max-pooling
  -- argmax indices are int64)
  row.bytes = (row.params + (row.saved or 0)) * conv.bytes_per_value + (row.saved_index or 0) * 8
end

-- ---- printing -----------------------------------------------------------------------

local function group(n)
  if n == nil then return "" end
  if type(n) ~= "number" then return tostring(n) end
  local s = math.type(n) == "integer" and tostring(n) or ("%.1f"):format(n)
  local int, frac = s:match("^(-?%d+)(.*)$")
  int = int:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^(-?),", "%1")
  return int .. frac
end
M.group = group

local function rf_text(rf, field)
  local h, w = rf and rf[1], rf and rf[2]
  if not h then return "" end
  local function one(st)
    if st.unknown then return "?" end
    if field == "rf" then return st.global and "all" or tostring(st.r) end
    if st.global then return "-" end
    local v = st[field == "jump" and "j" or "start"]
    return v == math.floor(v) and tostring(math.tointeger(v)) or ("%.1f"):format(v)
  end
  local a, b = one(h), w and one(w)
  if b == nil or a == b then return a end
  return a .. "x" .. b
end

local columns_all = {
  out = { "output", function(r) return "{" .. table.concat(r.out_shape or {}, ", ") .. "}" end },
  params = { "params", function(r) return group(r.params) end },
  weights = { "weights", function(r) return group(r.weights) end },
  biases = { "biases", function(r) return group(r.biases) end },
  neurons = { "neurons", function(r) return r.same_neurons and r.neurons == 0 and "(same)" or group(r.neurons) end },
  mults = { "mults", function(r) return group(r.mults) end },
  adds = { "adds", function(r) return group(r.adds) end },
  macs = { "MACs", function(r) return group(r.macs) end },
  flops = { "FLOPs", function(r) return group(r.flops) end },
  acts = { "act evals", function(r) return group(r.acts) end },
  comps = { "compares", function(r) return group(r.comps) end },
  conns = { "connections", function(r) return group(r.conns) end },
  bwd_input = { "bwd mults dx", function(r) return group(r.bwd_input) end },
  bwd_weight = { "bwd mults dW", function(r) return group(r.bwd_weight) end },
  saved = { "saved for bwd", function(r) return group(r.saved) end },
  bytes = { "bytes", function(r) return group(r.bytes) end },
  rf = { "RF", function(r) return rf_text(r.rf, "rf") end },
  jump = { "jump", function(r) return rf_text(r.rf, "jump") end },
  start = { "start", function(r) return rf_text(r.rf, "start") end },
}
local default_columns = { "out", "params", "mults", "adds", "acts", "rf", "jump", "start" }

local rf_columns = { rf = true, jump = true, start = true }

-- The table's cells: the header, one row per module (with its notes), the
-- total; names longer than name_max (when given) are cut.
local function cells(s, cols, name_max)
  local head, shows_rf = { "layer" }, false
  for i, c in ipairs(cols) do
    head[i + 1] = columns_all[c][1]
    shows_rf = shows_rf or rf_columns[c]
  end
  local body = {}
  for _, r in ipairs(s) do
    local label = r.part and ("· " .. r.name) or ((r.index ~= "" and (r.index .. " ") or "") .. r.name)
    local row = { ("  "):rep(r.depth) .. label }
    if name_max and (utf8.len(row[1]) or #row[1]) > name_max then   -- cut to fit a narrow terminal
      row[1] = row[1]:sub(1, utf8.offset(row[1], name_max) - 1) .. "…"
    end
    for i, c in ipairs(cols) do
      local shown
      if r.part then shown = c ~= "out" and not rf_columns[c]
      elseif r.container then shown = c == "out" or rf_columns[c] or (r.own and (r[c] or 0) ~= 0)
      elseif r.not_counted then shown = c == "out" or c == "params" or c == "weights" or c == "biases" or rf_columns[c]
      else shown = true end
      row[i + 1] = shown and columns_all[c][2](r) or (r.not_counted and "—" or "")
    end
    local notes = {}
    if r.not_counted then notes[#notes + 1] = "not counted: " .. r.not_counted .. " (parameters are counted; give it cost(shape, out) for the rest)" end
    if r.note and (shows_rf or not r.rf_note) then notes[#notes + 1] = "note: " .. r.note end
    body[#body + 1] = { cells = row, notes = notes }
  end
  local total = { s.total.partial and "total (partial)" or "total" }
  for i, c in ipairs(cols) do
    total[i + 1] = (c == "out" or rf_columns[c]) and "" or group(s.total[c])
  end
  return head, body, total
end

local function partial_text(s)
  return s.total.partial and
    ("partial: %d module(s) define no cost, so only their parameters are in the totals"):format(s.total.partial)
end

local function conventions(s, conv, cols)
  local shows_neurons, shows_bytes = false, false
  for _, c in ipairs(cols) do shows_neurons = shows_neurons or c == "neurons"; shows_bytes = shows_bytes or c == "bytes" end
  return ("conventions: mults and MACs count one per weight use, a window over zero padding in full "
    .. "(as im2col computes it; so do connections and compares); adds %s the bias "
    .. "(k·C − 1 within a window%s); act evals %s; compares are max-pooling comparisons; FLOPs = %s; "
    .. "counts are %s.%s  RF, jump and start per axis (h x w when they differ), start = centre of the "
    .. "first output's field in input pixels (1-based).  summary(..., {bias=, relu=, flops=\"mac\"|\"2mac\"|\"2k-1\", "
    .. "neurons=\"layers\"|\"all\", dtype=, per_sample=, columns=, explain=, compare=}) changes them.")
    :format(conv.bias and "include" or "exclude", conv.bias and ", + 1 for the bias" or "",
      conv.relu and "count each activation function once per element" or "are not counted",
      conv.flops == "2mac" and "2·MACs" or (conv.flops == "2k-1" and "mults + adds" or "MACs"),
      s.per_sample and "per sample" or "for the whole input shape given",
      (not shows_neurons and "" or (conv.neurons == "all"
        and "  Neurons: every module's outputs (an activation's outputs counted again)."
        or "  Neurons: the outputs of layers that compute new values (conv, linear, pooling); an activation, dropout, normalisation or reshape transforms the same neurons, shown as (same) and counted once."))
      .. (shows_bytes and ("  Bytes: parameters and the values saved for the backward, " .. conv.bytes_per_value
        .. " B each (dtype=" .. conv.dtype .. "), + 8 B per max-pooling argmax index.") or ""))
end

local function render(s, conv, cols, max_width, name_max)
  local head, body, total = cells(s, cols, name_max)
  local widths, lines = {}, {}
  local function measure(row)
    for i, v in ipairs(row) do widths[i] = math.max(widths[i] or 0, utf8.len(v) or #v) end
  end
  measure(head)
  for _, b in ipairs(body) do measure(b.cells) end
  measure(total)
  local function line(row)
    local parts = {}
    for i, v in ipairs(row) do
      local pad = widths[i] - (utf8.len(v) or #v)
      parts[i] = i == 1 and (v .. (" "):rep(pad)) or ((" "):rep(pad) .. v)
    end
    return (table.concat(parts, "  "):gsub("%s+$", ""))
  end
  lines[1] = line(head)
  lines[2] = ("-"):rep(#lines[1])
  for _, b in ipairs(body) do
    lines[#lines + 1] = line(b.cells)
    for _, n in ipairs(b.notes) do lines[#lines + 1] = "    " .. n end
  end
  lines[#lines + 1] = ("-"):rep(#lines[1])
  lines[#lines + 1] = line(total)
  lines[#lines + 1] = partial_text(s)
  lines[#lines + 1] = ""
  local conv_text = conventions(s, conv, cols)
  if not conv.show_conventions then
    lines[#lines] = nil   -- the blank line before them
    return table.concat(lines, "\n"), widths[1]
  end
  -- wrapped to the table's width (at least 72 columns)
  local width, cur = math.max(72, #lines[1]), ""
  if max_width then width = math.min(width, max_width) end
  for word in conv_text:gmatch("%S+") do
    if #cur + #word + 1 > width then lines[#lines + 1] = cur; cur = word
    else cur = cur == "" and word or (cur .. " " .. word) end
  end
  lines[#lines + 1] = cur
  return table.concat(lines, "\n"), widths[1]
end

-- At a terminal narrower than the table, long layer names are cut (to 28
-- columns at first), then columns are left out by priority (start, jump,
-- acts, rf, adds, mults ...; out and params stay), then names cut further,
-- with a note saying which; columns= given by the user are kept as asked.
local drop_order = { "start", "jump", "acts", "rf", "adds", "mults", "flops", "macs", "comps", "conns",
  "bwd_input", "bwd_weight", "saved", "weights", "biases", "neurons" }
local function fit(s, conv, cols, explicit)
  local width = require("nncalc.term").size()
  if not width or explicit then return render(s, conv, cols) end
  local avail = width - 1
  local function first_len(t) return utf8.len(t:match("^[^\n]*")) or 0 end
  local kept, dropped, name_max = { table.unpack(cols) }, {}, nil
  local text, name_w = render(s, conv, kept, avail)
  local function cut_names(floor)
    local over = first_len(text) - avail
    if over <= 0 then return end
    name_max = math.max(floor, name_w - over - 1)
    if name_max < name_w then text, name_w = render(s, conv, kept, avail, name_max) end
  end
  cut_names(28)
  for _, c in ipairs(drop_order) do
    if first_len(text) <= avail then break end
    for i, k in ipairs(kept) do
      if k == c then
        table.remove(kept, i)
        dropped[#dropped + 1] = c
        text, name_w = render(s, conv, kept, avail, name_max)
        break
      end
    end
  end
  cut_names(12)
  if #dropped == 0 and not name_max then return text end
  local note = ("note: to fit the %d-column terminal%s%s; summary(..., {columns = {...}}) chooses the columns.")
    :format(width, #dropped > 0 and (", left out: " .. table.concat(dropped, ", ")) or "",
      name_max and ", layer names cut" or "")
  local lines, cur = {}, ""
  for word in note:gmatch("%S+") do
    if #cur + #word + 1 > avail and cur ~= "" then lines[#lines + 1] = cur; cur = word
    else cur = cur == "" and word or (cur .. " " .. word) end
  end
  lines[#lines + 1] = cur
  return text .. "\n" .. table.concat(lines, "\n")
end

-- The same table in HTML, for notebooks (the Jupyter kernel).
local function html(s, conv, cols)
  local J = require("nncalc.jupyter")
  local head, body, total = cells(s, cols)
  local rows = {}
  for _, b in ipairs(body) do
    rows[#rows + 1] = { cells = b.cells }
    for _, n in ipairs(b.notes) do rows[#rows + 1] = { cells = b.cells, note = n } end
  end
  local t = J.table_html(head, rows, total, "nncalc-summary")
  if partial_text(s) then t = t .. "\n<p>" .. J.escape(partial_text(s)) .. "</p>" end
  if conv.show_conventions then t = t .. "\n<p><small>" .. J.escape(conventions(s, conv, cols)) .. "</small></p>" end
  return t
end

-- explain=true: every count's formula with the numbers filled in, from each
-- module's explain(row, group) hook, and the receptive-field steps.
local function explain(s)
  local out = {}
  for _, r in ipairs(s) do
    local m = r.module
    if not r.container and not r.part then
      out[#out + 1] = r.index ~= "" and (r.index .. " " .. r.name) or r.name
      if m.explain then
        for _, l in ipairs(m:explain(r, group)) do out[#out + 1] = "  " .. l end
      end
      for axis = 1, 2 do
        local st = r.rf and r.rf[axis]
        if st and st.prev and st.w then
          out[#out + 1] = ("  %s: r = %d + (%d − 1)·%d = %d,  jump = %d·%d = %d"):format(axis == 1 and "H" or "W",
            st.prev.r, st.keff, st.prev.j, st.r, st.prev.j, st.w.s, st.j)
        end
      end
    end
  end
  return table.concat(out, "\n")
end

-- What the usual counters report for the same model, each by its own rules
-- (read from their sources), for the whole input given.  Each module states
-- its share in counters(row) (nn/Conv.lua, Linear.lua, Pool.lua ...):
--   fvcore: one multiply-add per weight use; BatchNorm (eval) numel x2 with
--     affine, adaptive average pooling its input numel; bias, ReLU ignored
--   thop / ptflops: k²·C_in/g per output element of any convolution (which
--     overcounts a transposed one); ptflops adds bias, ReLU, pooling, BN
--   torchinfo: parameters x output positions (batch x H x W; batch for
--     Linear and BatchNorm)
--   FlopCounterMode: 2 x multiply-adds
--   torchscan: (2k−1) per output for a window of k, + 1 with a bias, + 16
--     for a transposed convolution's padding logic; per element ReLU 1,
--     LeakyReLU 4, Sigmoid 4, Tanh 6, Dropout 1; BatchNorm (eval) 2C + 2
--     (+2 affine) per element; pools (k−1) per output, + 2 for averages
local counter_keys = { "fvcore", "thop", "torchinfo", "ptflops", "flop_counter", "torchscan" }

local function compare(s, scale)
  local t = {}
  for _, k in ipairs(counter_keys) do t[k] = 0 end
  for _, r in ipairs(s) do
    local m = r.module
    if not r.part and (not r.container or r.own) and m.counters then
      local whole = { in_shape = r.in_shape, out_shape = r.out_shape, macs = (r.macs or 0) * scale,
        in_n = numel(r.in_shape), out_n = numel(r.out_shape or {}) }
      for k, v in pairs(m:counters(whole)) do t[k] = (t[k] or 0) + v end
    end
  end
  local lines = {
    "what common counters report for this model (each by its own rules):",
    ("  fvcore FlopCountAnalysis    %s   (a \"flop\" is one multiply-add; + BatchNorm (eval) and adaptive pooling; bias, ReLU ignored)"):format(group(t.fvcore)),
    ("  thop                        %s   (k²·C_in/g per output element of a convolution; bias ignored)"):format(group(t.thop)),
    ("  torchinfo Mult-Adds         %s   (parameters x output positions: bias and BatchNorm included)"):format(group(t.torchinfo)),
    ("  ptflops MACs                %s   (as thop, +1 per output for bias, ReLU = numel, pooling = input numel, BN = numel (x2 affine))")
      :format(group(t.ptflops)),
    ("  PyTorch FlopCounterMode     %s   (2 x multiply-adds; bias ignored)"):format(group(t.flop_counter)),
    ("  torchscan FLOPs             %s   (2k-1 per output, +1 with a bias; ReLU = numel, pooling and BN counted)"):format(group(t.torchscan)),
  }
  -- ---- attention (nncalc.nn.Attention's counters): the versions that differ
  if (t.thop_attention or 0) > 0 then
    lines[#lines + 1] = ("  thop ≤ 2.1.2                %s   (nn.MultiheadAttention was never hooked: 0, until PR #157, July 2026)")
      :format(group(t.thop - t.thop_attention))
    lines[#lines + 1] = ("  FlopCounterMode on CPU      %s   (CPU scaled_dot_product_attention unregistered: 0, pytorch#195460)")
      :format(group(t.flop_counter - t.flop_counter_sdpa))
    lines[#lines + 1] = ("  DeepSpeed flops profiler    %s   (2·MACs of F.linear, conv, matmul and SDPA, bias ignored; layer_norm 5·numel, gelu numel)")
      :format(group(t.deepspeed or 0))
  end
  -- ---- end attention
  return table.concat(lines, "\n"), t
end

-- summary(model, input_shape [, opts]) -> table; prints unless quiet=true.
function M.summary(model, shape, opts)
  opts = require("nncalc.named").options("summary", opts)
  if type(opts) ~= "table" then error("summary: options must be a table", 2) end
  local known = { bias = 1, relu = 1, flops = 1, per_sample = 1, columns = 1, explain = 1, compare = 1, quiet = 1,
    conventions = 1, neurons = 1, dtype = 1, compare_params = 1 }
  for k in pairs(opts) do if not known[k] then error(("summary: unknown option '%s'"):format(tostring(k)), 2) end end
  if not Module.is_module(model) then error("summary: the first argument must be a model (an nn module)", 2) end
  if type(shape) ~= "table" or #shape == 0 then error("summary: the input shape must be a table like {3, 224, 224}", 2) end
  local whole = {}   -- {3.0, 2^5, 32}: whole numbers computed as floats are those integers
  for i, v in ipairs(shape) do
    whole[i] = type(v) == "number" and math.tointeger(v)
    if not whole[i] or v < 1 then error(("summary: input shape entry %d is %s, not a positive whole number"):format(i, tostring(v)), 2) end
  end
  shape = whole
  local conv = {}
  for k, v in pairs(defaults) do conv[k] = opts[k] == nil and v or opts[k] end
  if conv.flops ~= "mac" and conv.flops ~= "2mac" and conv.flops ~= "2k-1" then
    error('summary: flops must be "mac", "2mac" or "2k-1"', 2)
  end
  if conv.neurons ~= "layers" and conv.neurons ~= "all" then error('summary: neurons must be "layers" or "all"', 2) end
  conv.bytes_per_value = value_bytes[conv.dtype]
  if not conv.bytes_per_value then error('summary: dtype must be "fp32", "fp64", "bf16" or "fp16"', 2) end
  local ctx = { rows = {} }
  local h, w = spatial(shape)
  local rf = {}
  if h and not reads_sequence(model) then rf[1], rf[2] = rf_start(h), rf_start(w) end
  ctx.open, ctx.active = {}, {}
  local ok, err = pcall(walk, model, shape, rf, ctx, "", 0)
  if not ok then
    local inner = ctx.open[#ctx.open]
    if inner and not tostring(err):find("^summary: ") then
      local _, said = pcall(fail_at, inner.m, inner.index, err)
      err = said
    end
    error(err, 2)
  end
  local s = ctx.rows
  -- s[1] is the model itself (the top container's header), so the printed
  -- layer numbered k is s[k + 1] for a flat Sequential
  -- a batch dimension leads a 4-D image batch {N, C, H, W} or a 2-D batch
  -- of vectors {N, F}; {C, H, W} and {F} are one sample already
  local scale = (conv.per_sample and (#shape == 4 or #shape == 2)) and shape[1] or 1
  s.per_sample = scale ~= 1
  local total = {}
  for _, k in ipairs(counted) do total[k] = 0 end
  local seen = {}   -- a module used twice does its work twice, its parameters are one set
  local own_params = { params = true, weights = true, biases = true, buffers = true }
  for _, r in ipairs(s) do
    finish(r, conv, scale)
    if not r.part and (not r.container or r.own) then
      local again = seen[r.module] and not r.container
      if again then r.note = r.note or "the same module as before: its parameters are counted once" end
      seen[r.module] = true
      for _, k in ipairs(counted) do
        if not (again and own_params[k]) then total[k] = total[k] + (r[k] or 0) end
      end
    end
  end
  total.partial = ctx.partial
  total.out_shape = s[1] and s[1].out_shape
  s.total = total
  s.conventions = conv
  local cols = opts.columns or default_columns
  for _, c in ipairs(cols) do
    if not columns_all[c] then
      local names = {}
      for k in pairs(columns_all) do names[#names + 1] = k end
      table.sort(names)
      error(("summary: unknown column '%s' (%s)"):format(tostring(c), table.concat(names, ", ")), 2)
    end
  end
  -- the text is made when it is shown: scripts that only read numbers
  -- (quiet=true) skip the formatting, which is most of the work
  conv.show_conventions = opts.conventions ~= false
  setmetatable(s, { __tostring = function(t)
    t.text = t.text or fit(t, conv, cols, opts.columns ~= nil)
    return t.text
  end, __mime = function(t) return { ["text/html"] = html(t, conv, cols) } end })
  local compared
  if opts.compare then
    compared, s.compare = compare(s, scale)
  end
  if not opts.quiet then
    if nncalc.present then   -- a notebook: the text and an HTML table
      nncalc.present(tostring(s), getmetatable(s).__mime(s))
    else
      print(tostring(s))
    end
    rawset(s, "_printed", true)
    if opts.explain then print("\n" .. explain(s)) end
    if compared then print("\n" .. compared) end
  end
  -- ---- compare_params=true: the model's parameter count under every
  -- convention, from its param_conventions() hook (models_transformer.lua)
  if opts.compare_params then
    local list = model.param_conventions and model:param_conventions()
    s.param_conventions = list
    if not opts.quiet then
      print("\n" .. (list and tostring(list) or (model.class_name .. " lists no parameter conventions (param_conventions)")))
    end
  end
  -- ---- end compare_params
  return s
end

return M
