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
  if opts ~= nil and type(opts) ~= "table" then error("receptive_field: the third argument is {quiet = true}", 2) end
  for k in pairs(opts or {}) do
    if k ~= "quiet" then error(("receptive_field: unknown option '%s' (quiet)"):format(tostring(k)), 2) end
  end
  local s
  s, shape = final_state(model, shape, "receptive_field")
  local list, rows = {}, { { "layer", "size (HxW)", "jump", "start" } }
  for _, r in ipairs(s) do
    if r.rf and r.rf[1] and r.rf[1].unknown then
      list[#list + 1] = { index = r.index, name = r.name, unknown = true }
      rows[#rows + 1] = { ("  "):rep(r.depth) .. (r.index ~= "" and (r.index .. " ") or "") .. r.name, "?", "?", "?",
        note = not r.container and require("nncalc.summary").unknown_note(r.module, r.in_shape) or nil }
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

local walk = require("nncalc.region")
local range_text = walk.range_text

-- receptive_region(model, shape, {c, i, j}): the input channels, rows and
-- columns (1-based, clipped) that output element (c, i, j) depends on;
-- without the index, the general affine form of rows and columns.
function M.receptive_region(model, shape, idx)
  if idx == nil then
    local s, sizes = final_state(model, shape, "receptive_region")
    local top = s[1]
    if not top or not top.rf or not top.rf[1] then
      error("receptive_region: the model has no spatial output to trace back", 2)
    end
    local h, w = top.rf[1], top.rf[2]
    if h.uneven or w.uneven then
      error("receptive_region: an adaptive pooling's bins are uneven here (outputs see windows of different sizes), so no one formula; "
        .. "give the output index, receptive_region(model, shape, {c, i, j}), for one output's exact field", 2)
    end
    if h.unknown or w.unknown then
      error("receptive_region: a layer of this model defines no window() (its receptive-field rule), so the field is unknown", 2)
    end
    if h.global then   -- an answer, not an error: every output reads everything
      local H, W = sizes[#sizes - 1], sizes[#sizes]
      return setmetatable({ rows = { size = H, all = true }, cols = { size = W, all = true }, all = true,
        text = ("every output sees the whole input: rows 1..%d, columns 1..%d (past a Linear layer or global pooling)"):format(H, W) },
        { __tostring = function(t) return t.text end })
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
  local ok2, r = pcall(walk.back, model, sample, reg, ctx, "")
  if not ok2 then error(tostring(r):gsub("^[^:\n]*:%d+: ", ""), 2) end
  local region = { channels = r[1], rows = r[2], cols = r[3], notes = ctx.notes, padded = ctx.padded or false }
  -- the textbook (unclipped) window: the same walk without clipping
  local uc = walk.back(model, sample, reg, { notes = {}, batched = batched, noclip = true }, "")
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
