-- format.lua — how tensors print.  Kept in Lua so that the policy is easy
-- to read and change: numbers the way a person writes them (integers
-- without decimals), aligned columns, a shape footer, large tensors cut
-- down to their edges with "...", and never a factored-out common scale.

local Tensor = nncalc.Tensor

local defaults = { precision = 4, full = false, threshold = 200, edgeitems = 3 }
local opts = {}
for k, v in pairs(defaults) do opts[k] = v end

-- format{precision=6}, format{full=true} (17 significant digits, every
-- element), format{threshold=1000, edgeitems=4}, format{} resets;
-- returns the settings in force.
local function set_format(o)
  if o == nil then
    local copy = {}
    for k, v in pairs(opts) do copy[k] = v end
    return copy
  end
  if type(o) ~= "table" then
    error("format: options table expected, e.g. format{precision=6}", 2)
  end
  if next(o) == nil then
    for k, v in pairs(defaults) do opts[k] = v end
  end
  for k, v in pairs(o) do
    if defaults[k] == nil then
      error(("format: unknown option '%s' (precision, full, threshold, edgeitems)"):format(tostring(k)), 2)
    end
    if type(v) ~= type(defaults[k]) then
      error(("format: option '%s' must be a %s"):format(k, type(defaults[k])), 2)
    end
    if k == "precision" and (v < 0 or v > 17 or v ~= math.floor(v)) then
      error("format: precision must be a whole number from 0 to 17", 2)
    end
    if k == "edgeitems" and (not math.tointeger(v) or v < 1 or v > 1000) then
      error("format: edgeitems must be a whole number from 1 to 1000", 2)
    end
    if k == "threshold" and (v ~= v or v < 0) then
      error("format: threshold must be a number >= 0", 2)
    end
    opts[k] = v
  end
  return set_format()
end

-- ---- choosing one number style for all shown values -------------------

local function is_int(v)
  return v == math.floor(v) and math.abs(v) < 1e15
end

local function special(v)
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
end

-- Returns a function number -> string shared by every element, so that
-- columns line up and one style is used throughout.
local function number_style(values, o)
  if o.full then
    return function(v) return special(v) or ("%.17g"):format(v) end
  end
  local all_int, maxabs, minabs = true, 0, math.huge
  for _, v in ipairs(values) do
    if not special(v) then
      if not is_int(v) then all_int = false end
      local a = math.abs(v)
      if a > maxabs then maxabs = a end
      if a > 0 and a < minabs then minabs = a end
    end
  end
  if all_int then
    return function(v) return special(v) or (v == 0 and "0") or ("%.0f"):format(v) end
  end
  local p = o.precision
  local sci = maxabs >= 1e6 or (minabs < 10 ^ -p and minabs < math.huge)
  local fmt = sci and ("%." .. p .. "e") or ("%." .. p .. "f")
  return function(v)
    local s = special(v)
    if s then return s end
    s = fmt:format(v)
    if s:match("^%-0%.?0*$") or s:match("^%-0%.0*e") then s = s:sub(2) end -- no "-0"
    return s
  end
end

-- ---- walking the shown part of the tensor -----------------------------

-- The indices shown along a dim of size n: all, or the edges around nil
-- (which prints as "...").
local function shown(n, summarize, edge)
  local idx = {}
  if summarize and n > 2 * edge + 1 then
    for i = 1, edge do idx[#idx + 1] = i end
    idx[#idx + 1] = false
    for i = n - edge + 1, n do idx[#idx + 1] = i end
  else
    for i = 1, n do idx[#idx + 1] = i end
  end
  return idx
end

local function flat_index(pos, size)
  local f = 0
  for d = 1, #size do f = f * size[d] + (pos[d] - 1) end
  return f + 1
end

local function shape_string(size)
  if #size == 0 then return "scalar" end
  return table.concat(size, "x")
end

local function format_tensor(x, o)
  o = o or opts
  local size = x:shape()
  local nd = #size
  if nd == 0 then
    return number_style({ x:item() }, o)(x:item())
  end
  local numel = x:numel()
  local footer = "[tensor " .. shape_string(size) .. "]"
  if numel == 0 then return "[empty tensor " .. shape_string(size) .. "]" end
  local summarize = not o.full and numel > o.threshold
  local edge = o.edgeitems
  local rows_dims = {}
  for d = 1, nd do rows_dims[d] = shown(size[d], summarize, edge) end

  -- collect the shown values first, to pick one style and one width
  local values, pos = {}, {}
  local function collect(d)
    if d > nd then
      values[#values + 1] = x:_flat(flat_index(pos, size))
      return
    end
    for _, i in ipairs(rows_dims[d]) do
      if i then pos[d] = i; collect(d + 1) end
    end
  end
  collect(1)
  local style = number_style(values, o)
  local width = 1
  for _, v in ipairs(values) do width = math.max(width, #style(v)) end
  local cell = "%" .. width .. "s"

  local lines = {}
  -- one matrix (the last two dims, or one row for 1-D) at the prefix pos
  local function matrix()
    local rdims = nd >= 2 and rows_dims[nd - 1] or { 1 }
    for _, r in ipairs(rdims) do
      if not r then
        lines[#lines + 1] = " ..."
      else
        if nd >= 2 then pos[nd - 1] = r end
        local cells = {}
        for _, c in ipairs(rows_dims[nd]) do
          if c then
            pos[nd] = c
            cells[#cells + 1] = cell:format(style(x:_flat(flat_index(pos, size))))
          else
            cells[#cells + 1] = ("%" .. width .. "s"):format("...")
          end
        end
        lines[#lines + 1] = " " .. table.concat(cells, "  ")
      end
    end
  end
  -- leading dims: a "(i,j,.,.) =" header per matrix, as in Torch
  local function outer(d)
    if d > nd - 2 then
      if nd > 2 then
        local head = {}
        for k = 1, nd - 2 do head[k] = tostring(pos[k]) end
        lines[#lines + 1] = "(" .. table.concat(head, ",") .. ",.,.) ="
      end
      matrix()
      if nd > 2 then lines[#lines + 1] = "" end
      return
    end
    for _, i in ipairs(rows_dims[d]) do
      if i then pos[d] = i; outer(d + 1)
      else lines[#lines + 1] = "..."; lines[#lines + 1] = "" end
    end
  end
  outer(1)
  lines[#lines + 1] = footer
  return table.concat(lines, "\n")
end

-- x:format() / x:format{precision=8}: the printed form as a string.
function Tensor.format(x, o)
  if o ~= nil then
    if type(o) ~= "table" then error("format: options table expected", 2) end
    local merged = {}
    for k, v in pairs(opts) do merged[k] = v end
    for k, v in pairs(o) do merged[k] = v end
    o = merged
  end
  return format_tensor(x, o)
end

-- ---- one printer for values in homework notation ------------------------------
--
-- Traces of backward, optimizer steps, explain output, check messages and
-- lessons all show a value this way, so the same 2x2 reads the same
-- everywhere: a whole number as an integer, anything else to 6 significant
-- digits, nan/inf spelled out, never "-0"; a vector inline as (a, b), a
-- matrix as [a b; c d].

local function num(v, digits)
  local s = special(v)
  if s then return s end
  if v == 0 then return "0" end
  if is_int(v) and math.abs(v) < 1e15 then return ("%.0f"):format(v) end
  s = ("%." .. (digits or 6) .. "g"):format(v)
  if s:match("^%-0%.?0*$") then s = "0" end
  return s
end

-- Two values to be told apart (expected and got): the one rule's 6 digits,
-- or as many more as it takes for them to print differently.
local function apart(a, b)
  for d = 6, 17 do
    local x, y = num(a, d), num(b, d)
    if x ~= y or a == b or a ~= a or b ~= b then return x, y end
  end
  return num(a, 17), num(b, 17)
end

-- A number or a small tensor inline (at most max values, default 8, and two
-- dims); nil when it does not fit on a line.
local function inline(t, max)
  if type(t) == "number" then return num(t) end
  local n = t:numel()
  if n == 1 then return num(t:item()) end
  if n > (max or 8) or t:dim() > 2 or n == 0 then return nil end
  -- (the values in one call, not one indexing each: traces print thousands)
  local vals = t:totable()
  if t:dim() == 1 then
    for i = 1, n do vals[i] = num(vals[i]) end
    return "(" .. table.concat(vals, ", ") .. ")"
  end
  for i, row in ipairs(vals) do
    for j = 1, #row do row[j] = num(row[j]) end
    vals[i] = table.concat(row, " ")
  end
  return "[" .. table.concat(vals, "; ") .. "]"
end

format = set_format
nncalc.format = set_format


-- x:format's raw Lua errors name it
Tensor.format = require("nncalc.named").wrap("format", Tensor.format)

return { format_tensor = format_tensor, set_format = set_format, num = num, apart = apart, inline = inline }
