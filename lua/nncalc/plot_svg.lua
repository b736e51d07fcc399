-- plot_svg.lua — a plot's data drawn as SVG by nncalc itself (for a
-- write-up, or a notebook), and the tick rule the terminal plot shares.
--
-- The data (what plot() keeps in p.data; anyone may build one):
--   { series = { {x = {...}, y = {...}, label = "sigmoid"}, ... },
--     xlabel = "x", ylabel = "loss", title = nil, log = false,   -- log: y on a log10 scale
--     width = 640, height = 400 }                                 -- pixels, optional
-- M.svg(data) returns the SVG text; non-finite y values break a curve.

local M = {}

-- The tick step for lo..hi: 1, 2 or 5 times a power of ten, about n steps.
function M.step(lo, hi, n)
  local span = hi - lo
  if span <= 0 then span = math.abs(hi) > 0 and math.abs(hi) or 1 end
  local raw = span / math.max(n or 5, 1)
  local p = 10.0 ^ math.floor(math.log(raw, 10))
  for _, m in ipairs({ 1, 2, 5, 10 }) do if m * p >= raw * (1 - 1e-9) then return m * p end end
  return 10 * p
end

-- lo..hi widened to whole tick steps (the y axis starts and ends on a tick)
function M.nice(lo, hi, n)
  local step = M.step(lo, hi, n)
  return math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
end

-- Tick positions from lo to hi: steps of 1, 2 or 5 times a power of ten
-- (about n of them), 0 among them whenever it is in range, all written with
-- the same number of decimals.  Log scale (lo, hi are log10 values): the
-- powers of ten in range, and 2 and 5 times them over less than two decades.
-- Returns {values}, {labels}.
function M.ticks(lo, hi, n, log)
  local vals, labels = {}, {}
  if log then
    local mults = (hi - lo < 2) and { 1, 2, 5 } or { 1 }
    for e = math.floor(lo) - 1, math.ceil(hi) do
      for _, m in ipairs(mults) do
        local v = e + math.log(m, 10)
        if v >= lo - 1e-9 and v <= hi + 1e-9 then
          vals[#vals + 1] = v
          labels[#labels + 1] = (e >= -4 and e <= 5) and M.format(m * 10.0 ^ e, math.max(0, -e)) or ("%de%d"):format(m, e)
        end
      end
    end
    if #vals == 0 then vals, labels = { lo, hi }, { ("%.3g"):format(10 ^ lo), ("%.3g"):format(10 ^ hi) } end
    return vals, labels
  end
  local step = M.step(lo, hi, n)
  local decimals = math.max(0, -math.floor(math.log(step, 10) + 1e-9))
  for k = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9) do
    local v = k * step
    if math.abs(v) < step * 1e-9 then v = 0 end
    vals[#vals + 1] = v
    labels[#labels + 1] = M.format(v, decimals)
  end
  return vals, labels
end

function M.format(v, decimals)
  local s = ("%." .. decimals .. "f"):format(v)
  if s:match("^%-0%.?0*$") then s = s:sub(2) end   -- no "-0.0"
  return s
end

-- The ranges of all finite points (y through log10 when log).
function M.ranges(data)
  local xmin, xmax, ymin, ymax = math.huge, -math.huge, math.huge, -math.huge
  for _, s in ipairs(data.series) do
    for i = 1, #s.x do
      local y = s.y[i]
      if data.log then y = (y and y > 0) and math.log(y, 10) or nil end
      if y and y == y and y ~= math.huge and y ~= -math.huge then
        xmin, xmax = math.min(xmin, s.x[i]), math.max(xmax, s.x[i])
        ymin, ymax = math.min(ymin, y), math.max(ymax, y)
      end
    end
  end
  if xmin > xmax then return nil end
  if ymax == ymin then ymax, ymin = ymax + 1, ymin - 1 end
  if xmax == xmin then xmax = xmin + 1 end
  if not data.log then ymin, ymax = M.nice(ymin, ymax, data.yticks or 5) end
  return xmin, xmax, ymin, ymax
end

-- one colour per curve, distinguishable in colour and in print (dashes too)
M.colours = { "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf" }
local dashes = { "", "6,3", "2,2", "8,3,2,3", "", "4,4" }

local function esc(s)
  return (tostring(s):gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end

function M.svg(data)
  local W, H = data.width or 640, data.height or 400
  local xmin, xmax, ymin, ymax = M.ranges(data)
  if not xmin then error("plot: nothing finite to plot", 2) end
  local ml, mr, mt, mb = 64, 16, data.title and 32 or 20, 48
  local pw, ph = W - ml - mr, H - mt - mb
  local function X(x) return ml + (x - xmin) / (xmax - xmin) * pw end
  local function Y(y) return mt + (ymax - y) / (ymax - ymin) * ph end
  local out = {}
  local function add(fmt, ...) out[#out + 1] = fmt:format(...) end
  add('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">', W, H, W, H)
  add('<rect width="%d" height="%d" fill="white"/>', W, H)
  if data.title then add('<text x="%g" y="20" text-anchor="middle" font-size="14">%s</text>', ml + pw / 2, esc(data.title)) end
  -- grid and ticks
  local xt, xl = M.ticks(xmin, xmax, 6)
  for i, v in ipairs(xt) do
    add('<line x1="%.2f" y1="%d" x2="%.2f" y2="%d" stroke="%s"/>', X(v), mt, X(v), mt + ph, v == 0 and "#888" or "#e5e5e5")
    add('<text x="%.2f" y="%d" text-anchor="middle">%s</text>', X(v), mt + ph + 16, esc(xl[i]))
  end
  local yt, yl = M.ticks(ymin, ymax, data.yticks or 5, data.log)
  for i, v in ipairs(yt) do
    add('<line x1="%d" y1="%.2f" x2="%d" y2="%.2f" stroke="%s"/>', ml, Y(v), ml + pw, Y(v), (v == 0 and not data.log) and "#888" or "#e5e5e5")
    add('<text x="%d" y="%.2f" text-anchor="end" dominant-baseline="middle">%s</text>', ml - 6, Y(v), esc(yl[i]))
  end
  add('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>', ml, mt, pw, ph)
  if data.xlabel then add('<text x="%g" y="%d" text-anchor="middle">%s</text>', ml + pw / 2, H - 10, esc(data.xlabel)) end
  if data.ylabel then
    add('<text x="14" y="%g" text-anchor="middle" transform="rotate(-90 14 %g)">%s</text>', mt + ph / 2, mt + ph / 2, esc(data.ylabel))
  end
  -- the curves, broken where a value is not finite
  for k, s in ipairs(data.series) do
    local colour = M.colours[(k - 1) % #M.colours + 1]
    local dash = dashes[(k - 1) % #dashes + 1]
    local parts, cur = {}, {}
    for i = 1, #s.x do
      local y = s.y[i]
      if data.log then y = (y and y > 0) and math.log(y, 10) or nil end
      if y and y == y and y ~= math.huge and y ~= -math.huge then
        cur[#cur + 1] = ("%.2f,%.2f"):format(X(s.x[i]), Y(y))
      elseif #cur > 0 then parts[#parts + 1] = cur; cur = {} end
    end
    if #cur > 0 then parts[#parts + 1] = cur end
    for _, p in ipairs(parts) do
      add('<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>', colour,
        dash ~= "" and (' stroke-dasharray="%s"'):format(dash) or "", table.concat(p, " "))
    end
  end
  -- legend, top right inside the frame
  local labelled = {}
  for k, s in ipairs(data.series) do if s.label then labelled[#labelled + 1] = k end end
  if #data.series > 1 or #labelled > 0 then
    local lx, ly = ml + pw - 130, mt + 10
    add('<rect x="%d" y="%d" width="122" height="%d" fill="white" fill-opacity="0.85" stroke="#ccc"/>', lx - 6, ly - 6, 18 * #data.series + 4)
    for k, s in ipairs(data.series) do
      local y = ly + 18 * (k - 1) + 6
      local dash = dashes[(k - 1) % #dashes + 1]
      add('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>', lx, y, lx + 24, y,
        M.colours[(k - 1) % #M.colours + 1], dash ~= "" and (' stroke-dasharray="%s"'):format(dash) or "")
      add('<text x="%d" y="%d" dominant-baseline="middle">%s</text>', lx + 30, y, esc(s.label or ("series " .. k)))
    end
  end
  add("</svg>")
  return table.concat(out, "\n") .. "\n"
end

return M
