-- receptive.lua — receptive fields per layer and axis, and the exact input
-- region one output element depends on.  The numbers come from summary()'s
-- walk (r, jump, start per axis, merged over branches); the region of
-- output position i along an axis is centred at start + (i − 1)·jump and
-- spans r pixels, clipped to the image where zero padding lies outside it.

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

-- receptive_region(model, shape, {c, i, j}): the input rows and columns
-- (1-based, clipped to the image) that output element (c, i, j) depends
-- on; without the index, the general affine form per axis.
function M.receptive_region(model, shape, idx)
  local s
  s, shape = final_state(model, shape, "receptive_region")
  -- the model's own row (the top container, or the only layer) holds the final state
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
  if top.rf[1].aligned == false or top.rf[2].aligned == false then
    error("receptive_region: the branches are not aligned, so no single window describes the field", 2)
  end
  local H, W = shape[#shape - 1], shape[#shape]
  if idx == nil then
    local text = affine("rows", h) .. ",  " .. affine("columns", w):gsub("i", "j")
    return setmetatable({ rows = { jump = h.j, start = h.start, size = h.r }, cols = { jump = w.j, start = w.start, size = w.r },
      text = text }, { __tostring = function(t) return t.text end })
  end
  if type(idx) ~= "table" or #idx ~= 3 then
    error("receptive_region: the output index must be {c, i, j} (1-based)", 2)
  end
  local out = top.out_shape
  local oh, ow, oc = out[#out - 1], out[#out], out[#out - 2]
  for _, v in ipairs({ { idx[1], oc, "channel" }, { idx[2], oh, "row" }, { idx[3], ow, "column" } }) do
    local n = type(v[1]) == "number" and math.tointeger(v[1])
    if not n or n < 1 or n > v[2] then
      error(("receptive_region: %s %s is out of range 1..%d (output shape {%s})"):format(v[3], tostring(v[1]), v[2],
        table.concat(out, ", ")), 2)
    end
  end
  idx = { math.tointeger(idx[1]), math.tointeger(idx[2]), math.tointeger(idx[3]) }
  local r0, r1 = span(h, idx[2])
  local c0, c1 = span(w, idx[3])
  local region = {
    rows = { math.max(1, math.floor(r0)), math.min(H, math.ceil(r1)) },
    cols = { math.max(1, math.floor(c0)), math.min(W, math.ceil(c1)) },
    unclipped = { rows = { r0, r1 }, cols = { c0, c1 } },
  }
  return setmetatable(region, { __tostring = function(t)
    return ("rows %d..%d, columns %d..%d (all input channels)%s"):format(t.rows[1], t.rows[2], t.cols[1], t.cols[2],
      (r0 < 1 or c0 < 1 or r1 > H or c1 > W) and ("; unclipped rows " .. num(r0) .. ".." .. num(r1) ..
        ", columns " .. num(c0) .. ".." .. num(c1) .. " reach into the zero padding") or "")
  end })
end

return M
