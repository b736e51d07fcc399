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

local function zero_cost()
  return { weights = 0, biases = 0, mults = 0, adds = 0, bias_adds = 0, macs = 0, comps = 0,
    acts = 0, conns = 0, bwd_input = 0, bwd_weight = 0, saved = 0, buffers = 0 }
end

local function numel(shape)
  local n = 1
  for i = 1, #shape do n = n * shape[i] end
  return n
end

local function spatial(shape)
  local n = #shape
  if n >= 3 then return shape[n - 1], shape[n] end
end

local walk

local function add_into(total, c)
  for k, v in pairs(c) do if type(v) == "number" then total[k] = (total[k] or 0) + v end end
end

-- A leaf layer: one row.
local function leaf(m, shape, rf, ctx, index, depth)
  local ok, out = pcall(m.out_shape, m, shape)
  if not ok then
    local what = m:repr(""):gsub("\n.*", " ...")
    local msg = tostring(out):gsub("^[^:]*:%d+: ", ""):gsub("^" .. what:gsub("%p", "%%%0") .. ": ", "")
    error(index == "" and ("summary: %s: %s"):format(what, msg) or ("summary: layer %s (%s): %s"):format(index, what, msg), 0)
  end
  local c = zero_cost()
  if m.cost then add_into(c, m:cost(shape, out)) end
  -- a reshape (Flatten) or an identity in evaluation (Dropout) makes no new neurons
  local row = { index = index, depth = depth, name = m:repr(""):gsub("\n.*", " ..."), module = m,
    in_shape = shape, out_shape = out, neurons = m.no_new_values and 0 or numel(out) }
  for k, v in pairs(c) do row[k] = v end
  local new = {}
  for axis = 1, 2 do
    if rf[axis] then
      local w = m.window and m:window(axis, shape)
      new[axis] = rf_apply(rf[axis], w)
    end
  end
  row.rf = new
  ctx.rows[#ctx.rows + 1] = row
  return out, new
end

-- Containers: a header row, then their children indented one level.
local function container(m, shape, rf, ctx, index, depth)
  local cls = m.class_name
  local header = { index = index, depth = depth, name = cls .. (cls == "Residual" and " (x + block(x))" or ""),
    module = m, in_shape = shape, container = true }
  ctx.rows[#ctx.rows + 1] = header
  local prefix = index ~= "" and (index .. ".") or ""
  local out, state
  if cls == "Sequential" then
    out, state = shape, rf
    for i, child in ipairs(m:children()) do out, state = walk(child, out, state, ctx, prefix .. i, depth + 1) end
  else
    local outs, states = {}, {}
    for i, child in ipairs(m:children()) do
      outs[i], states[i] = walk(child, shape, rf, ctx, prefix .. i, depth + 1)
    end
    if cls == "Residual" and not rawget(m, 2) then outs[2], states[2] = shape, rf end   -- identity shortcut
    local ok, r = pcall(m.out_shape, m, shape)
    if not ok then error(("summary: %s %s: %s"):format(cls, index, tostring(r):gsub("^[^:]*:%d+: ", "")), 0) end
    out = r
    state = {}
    for axis = 1, 2 do
      if rf[axis] then
        local list = {}
        for i = 1, #states do list[i] = states[i][axis] end
        local merged, aligned = rf_merge(list)
        state[axis] = merged
        if not aligned then header.note = "branches are not aligned (different jump or start): the field shown is the largest branch's" end
      end
    end
    if cls == "Concat" then header.note = header.note or "receptive field: the largest branch's" end
    if cls == "Residual" then
      header.adds = numel(out)   -- the addition x + block(x)
    end
  end
  header.out_shape = out
  header.rf = state
  header.neurons = numel(out)
  return out, state
end

walk = function(m, shape, rf, ctx, index, depth)
  if not Module.is_module(m) then
    error(("summary: %s is a %s, not a module"):format(index ~= "" and ("layer " .. index) or "the model", type(m)), 0)
  end
  local cls = m.class_name
  if cls == "Sequential" or cls == "Residual" or cls == "Concat" then
    return container(m, shape, rf, ctx, index, depth)
  end
  return leaf(m, shape, rf, ctx, index, depth)
end

-- ---- conventions and totals ---------------------------------------------------------

local defaults = { bias = true, relu = true, flops = "mac", per_sample = false }

local function flops_of(row, conv)
  if conv.flops == "2mac" then return 2 * row.macs end
  if conv.flops == "2k-1" then return row.mults + row.adds + (conv.bias and row.bias_adds or 0) end
  return row.macs
end

-- per sample: a count divided by the batch, kept an integer when it is one
local function per(v, scale)
  v = v / scale
  return v == math.floor(v) and math.tointeger(v) or v
end

local function finish(row, conv, scale)
  if row.container then
    -- a residual's x + block(x): additions and no multiplications, so FLOPs
    -- only where additions count (2k-1), as for every other layer
    if row.adds then
      row.adds = per(row.adds, scale)
      row.adds_total = row.adds
      row.flops = conv.flops == "2k-1" and row.adds or 0
    end
    return
  end
  row.params = row.weights + row.biases
  row.adds_total = row.adds + (conv.bias and row.bias_adds or 0)
  if not conv.relu then row.acts = 0 end
  for _, k in ipairs({ "mults", "adds", "bias_adds", "adds_total", "macs", "comps", "acts", "conns",
    "bwd_input", "bwd_weight", "saved", "neurons" }) do
    if row[k] then row[k] = per(row[k], scale) end
  end
  row.flops = flops_of(row, conv)
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

local function rf_text(rf, field)
  local h, w = rf and rf[1], rf and rf[2]
  if not h then return "" end
  local function one(st)
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
  neurons = { "neurons", function(r) return group(r.neurons) end },
  mults = { "mults", function(r) return group(r.mults) end },
  adds = { "adds", function(r) return group(r.adds_total) end },
  macs = { "MACs", function(r) return group(r.macs) end },
  flops = { "FLOPs", function(r) return group(r.flops) end },
  acts = { "act evals", function(r) return group(r.acts) end },
  comps = { "compares", function(r) return group(r.comps) end },
  conns = { "connections", function(r) return group(r.conns) end },
  bwd_input = { "bwd mults dx", function(r) return group(r.bwd_input) end },
  bwd_weight = { "bwd mults dW", function(r) return group(r.bwd_weight) end },
  saved = { "saved for bwd", function(r) return group(r.saved) end },
  rf = { "RF", function(r) return rf_text(r.rf, "rf") end },
  jump = { "jump", function(r) return rf_text(r.rf, "jump") end },
  start = { "start", function(r) return rf_text(r.rf, "start") end },
}
local default_columns = { "out", "params", "mults", "adds", "acts", "rf", "jump", "start" }

-- The table's cells: the header, one row per layer (and its note), the total.
local function cells(s, cols)
  local head = { "layer" }
  for i, c in ipairs(cols) do head[i + 1] = columns_all[c][1] end
  local body = {}
  for _, r in ipairs(s) do
    local row = { ("  "):rep(r.depth) .. (r.index ~= "" and (r.index .. " ") or "") .. r.name }
    for i, c in ipairs(cols) do
      local shown = not r.container or c == "out" or c == "rf" or c == "jump" or c == "start"
        or (r.adds and (c == "adds" or c == "flops"))   -- a residual's own additions
      row[i + 1] = shown and columns_all[c][2](r) or ""
    end
    body[#body + 1] = { cells = row, note = r.note }
  end
  local total = { "total" }
  for i, c in ipairs(cols) do
    local v = s.total[c == "adds" and "adds_total" or c]
    total[i + 1] = (c == "out" or c == "rf" or c == "jump" or c == "start") and "" or group(v)
  end
  return head, body, total
end

local function conventions(s, conv)
  return ("conventions: mults and MACs count one per weight use; adds %s the bias "
    .. "(k·C − 1 within a window%s); act evals %s; compares are max-pooling comparisons; FLOPs = %s; "
    .. "counts are %s.  RF, jump and start per axis (h x w when they differ), start = centre of the "
    .. "first output's field in input pixels (1-based).  summary(..., {bias=, relu=, flops=\"mac\"|\"2mac\"|\"2k-1\", "
    .. "per_sample=, columns=, explain=, compare=}) changes them.")
    :format(conv.bias and "include" or "exclude", conv.bias and ", + 1 for the bias" or "",
      conv.relu and "count each activation function once per element" or "are not counted",
      conv.flops == "2mac" and "2·MACs" or (conv.flops == "2k-1" and "mults + adds" or "MACs"),
      s.per_sample and "per sample" or "for the whole input shape given")
end

local function render(s, conv, cols)
  local head, body, total = cells(s, cols)
  local widths, lines = {}, {}
  local function measure(row)
    for i, v in ipairs(row) do widths[i] = math.max(widths[i] or 0, utf8.len(v) or #v) end
  end
  measure(head)
  for _, b in ipairs(body) do measure(b.cells) end
  measure(total)
  local function line(cells)
    local parts = {}
    for i, v in ipairs(cells) do
      local pad = widths[i] - (utf8.len(v) or #v)
      parts[i] = i == 1 and (v .. (" "):rep(pad)) or ((" "):rep(pad) .. v)
    end
    return (table.concat(parts, "  "):gsub("%s+$", ""))
  end
  lines[1] = line(head)
  lines[2] = ("-"):rep(#lines[1])
  for _, b in ipairs(body) do
    lines[#lines + 1] = line(b.cells)
    if b.note then lines[#lines + 1] = "    note: " .. b.note end
  end
  lines[#lines + 1] = ("-"):rep(#lines[1])
  lines[#lines + 1] = line(total)
  if not conv.show_conventions then return table.concat(lines, "\n") end
  lines[#lines + 1] = ""
  -- wrapped to the table's width (at least 72 columns)
  local width, cur = math.max(72, #lines[1]), ""
  for word in conventions(s, conv):gmatch("%S+") do
    if #cur + #word + 1 > width then lines[#lines + 1] = cur; cur = word
    else cur = cur == "" and word or (cur .. " " .. word) end
  end
  lines[#lines + 1] = cur
  return table.concat(lines, "\n")
end

-- The same table in HTML, for notebooks (the Jupyter kernel).
local function html(s, conv, cols)
  local J = require("jupyter")
  local head, body, total = cells(s, cols)
  local rows = {}
  for _, b in ipairs(body) do
    rows[#rows + 1] = { cells = b.cells }
    if b.note then rows[#rows + 1] = { cells = b.cells, note = b.note } end
  end
  local t = J.table_html(head, rows, total, "nncalc-summary")
  if conv.show_conventions then t = t .. "\n<p><small>" .. J.escape(conventions(s, conv)) .. "</small></p>" end
  return t
end

-- explain=true: every count's formula with the numbers filled in.
local function explain(s)
  local out = {}
  for _, r in ipairs(s) do
    local m = r.module
    if not r.container then
      out[#out + 1] = r.index ~= "" and (r.index .. " " .. r.name) or r.name
      if m.class_name == "Conv2d" then
        local kh, kw = m.kernel_size[1], m.kernel_size[2]
        out[#out + 1] = ("  params = %d·(%d·%d·%d)%s = %s"):format(m.out_channels, m.in_channels // m.groups, kh, kw,
          m.has_bias and (" + " .. m.out_channels) or "", group(r.params))
        local n = #r.in_shape
        for axis = 1, 2 do
          local _, res = conv_out(r.in_shape[n - 2 + axis], m.kernel_size[axis], { stride = m.stride[axis],
            padding = m.padding[axis], dilation = m.dilation[axis] })
          out[#out + 1] = "  " .. (axis == 1 and "H: " or "W: ") .. res.formula
        end
        out[#out + 1] = ("  mults = outputs·(C_in/g·kh·kw) = %s·%d = %s"):format(group(r.neurons),
          (m.in_channels // m.groups) * kh * kw, group(r.mults))
      elseif m.class_name == "Linear" then
        out[#out + 1] = ("  params = %d·%d%s = %s"):format(m.out_features, m.in_features,
          m.has_bias and (" + " .. m.out_features) or "", group(r.params))
        out[#out + 1] = ("  mults = %s outputs · %d inputs = %s"):format(group(r.neurons), m.in_features, group(r.mults))
      elseif m.kernel_size then
        local n = #r.in_shape
        for axis = 1, 2 do
          local _, res = pool_out(r.in_shape[n - 2 + axis], m.kernel_size[axis], { stride = m.stride[axis],
            padding = m.padding[axis], ceil_mode = m.ceil_mode })
          out[#out + 1] = "  " .. (axis == 1 and "H: " or "W: ") .. res.formula
        end
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

-- What the usual counters report for the same model, each by its own
-- rules (read from their sources), for the whole input given:
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
--     (adaptive ones with its estimated kernel)
local scan_per_element = { ReLU = 1, LeakyReLU = 4, Sigmoid = 4, Tanh = 6 }

local function compare(s, scale)
  local t = { fv = 0, thop = 0, info = 0, pt = 0, fc = 0, scan = 0 }
  local function add(k, v) t[k] = t[k] + v end
  for _, r in ipairs(s) do
    if not r.container then
      local m, cls = r.module, r.module.class_name
      local out_n, in_n = numel(r.out_shape), numel(r.in_shape)
      local macs = (r.macs or 0) * scale   -- back to the whole input
      local batch = (#r.in_shape == 4 or #r.in_shape == 2) and r.in_shape[1] or 1
      if cls == "Conv2d" or cls == "ConvTranspose2d" then
        local kk = m.kernel_size[1] * m.kernel_size[2]
        local cin_g = m.in_channels // m.groups
        local bias = m.has_bias and out_n or 0
        local per_out = out_n * cin_g * kk
        local params = m.out_channels * cin_g * kk + (m.has_bias and m.out_channels or 0)
        add("fv", macs); add("fc", 2 * macs); add("thop", per_out); add("pt", per_out + bias)
        add("info", params * (out_n // m.out_channels))
        add("scan", out_n * (2 * cin_g * kk - 1) + bias + (cls == "ConvTranspose2d" and 16 or 0))
      elseif cls == "Linear" then
        local bias = m.has_bias and out_n or 0
        add("fv", macs); add("fc", 2 * macs); add("thop", macs); add("pt", macs + bias)
        add("info", batch * (m.in_features * m.out_features + (m.has_bias and m.out_features or 0)))
        add("scan", out_n * (2 * m.in_features - 1) + bias)
      elseif scan_per_element[cls] then
        if cls == "ReLU" or cls == "LeakyReLU" then add("pt", out_n) end
        add("scan", scan_per_element[cls] * in_n)
      elseif cls == "Dropout" then
        if m.p > 0 then add("scan", in_n) end
      elseif cls:match("Pool") then
        add("pt", in_n)
        local k
        if cls == "AdaptiveAvgPool2d" then
          add("fv", in_n)
          k = 1
          for axis = 1, 2 do
            local i, o = r.in_shape[#r.in_shape - 2 + axis], m.output_size[axis]
            k = k * (i % o == 0 and i // o or i - o * (i // o) + 1)
          end
        else
          k = m.kernel_size[1] * m.kernel_size[2]
        end
        add("scan", out_n * (k - 1 + (cls == "MaxPool2d" and 0 or 2)))
      elseif cls:match("BatchNorm") then
        add("pt", in_n * (m.affine and 2 or 1)); add("fv", in_n * (m.affine and 2 or 1))
        add("scan", 2 * m.num_features + in_n * (m.affine and 4 or 2))
        if m.affine then add("info", batch * 2 * m.num_features) end
      end
    end
  end
  local lines = {
    "what common counters report for this model (each by its own rules):",
    ("  fvcore FlopCountAnalysis    %s   (a \"flop\" is one multiply-add; + BatchNorm (eval) and adaptive pooling; bias, ReLU ignored)"):format(group(t.fv)),
    ("  thop                        %s   (k²·C_in/g per output element of a convolution; bias ignored)"):format(group(t.thop)),
    ("  torchinfo Mult-Adds         %s   (parameters x output positions: bias and BatchNorm included)"):format(group(t.info)),
    ("  ptflops MACs                %s   (as thop, +1 per output for bias, ReLU = numel, pooling = input numel, BN = numel (x2 affine))")
      :format(group(t.pt)),
    ("  PyTorch FlopCounterMode     %s   (2 x multiply-adds; bias ignored)"):format(group(t.fc)),
    ("  torchscan FLOPs             %s   (2k-1 per output, +1 with a bias; ReLU = numel, pooling and BN counted)"):format(group(t.scan)),
  }
  return table.concat(lines, "\n"), t
end

-- summary(model, input_shape [, opts]) -> table; prints unless quiet=true.
function M.summary(model, shape, opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("summary: options must be a table", 2) end
  local known = { bias = 1, relu = 1, flops = 1, per_sample = 1, columns = 1, explain = 1, compare = 1, quiet = 1,
    conventions = 1 }
  for k in pairs(opts) do if not known[k] then error(("summary: unknown option '%s'"):format(tostring(k)), 2) end end
  if not Module.is_module(model) then error("summary: the first argument must be a model (an nn module)", 2) end
  if type(shape) ~= "table" or #shape == 0 then error("summary: the input shape must be a table like {3, 224, 224}", 2) end
  for i, v in ipairs(shape) do
    if math.type(v) ~= "integer" or v < 1 then error(("summary: input shape entry %d is %s, not a positive whole number"):format(i, tostring(v)), 2) end
  end
  local conv = {}
  for k, v in pairs(defaults) do conv[k] = opts[k] == nil and v or opts[k] end
  if conv.flops ~= "mac" and conv.flops ~= "2mac" and conv.flops ~= "2k-1" then
    error('summary: flops must be "mac", "2mac" or "2k-1"', 2)
  end
  local ctx = { rows = {} }
  local h, w = spatial(shape)
  local rf = {}
  if h then rf[1], rf[2] = rf_start(h), rf_start(w) end
  local ok, err = pcall(walk, model, shape, rf, ctx, "", 0)
  if not ok then error(err, 2) end
  local s = ctx.rows
  -- s[1] is the model itself (the top container's header), so the printed
  -- layer numbered k is s[k + 1] for a flat Sequential
  -- a batch dimension leads a 4-D image batch {N, C, H, W} or a 2-D batch
  -- of vectors {N, F}; {C, H, W} and {F} are one sample already
  local scale = (conv.per_sample and (#shape == 4 or #shape == 2)) and shape[1] or 1
  s.per_sample = scale ~= 1
  local total = { params = 0, weights = 0, biases = 0, buffers = 0 }
  for _, r in ipairs(s) do
    finish(r, conv, scale)
    if not r.container then
      for _, k in ipairs({ "params", "weights", "biases", "neurons", "mults", "adds_total", "macs", "flops", "comps",
        "acts", "conns", "bwd_input", "bwd_weight", "saved", "buffers" }) do
        total[k] = (total[k] or 0) + (r[k] or 0)
      end
    elseif r.adds then   -- a residual's addition
      total.adds_total = (total.adds_total or 0) + r.adds_total
      total.flops = (total.flops or 0) + r.flops
    end
  end
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
    t.text = t.text or render(t, conv, cols)
    return t.text
  end, __mime = function(t) return { ["text/html"] = html(t, conv, cols) } end })
  local compared
  if opts.compare then
    local nums
    compared, nums = compare(s, scale)
    s.compare = { fvcore = nums.fv, thop = nums.thop, torchinfo = nums.info, ptflops = nums.pt,
      flop_counter = nums.fc, torchscan = nums.scan }
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
  return s
end

summary = M.summary
return M
