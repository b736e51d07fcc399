-- plot_svg.lua — a plot as an SVG picture, drawn here (no Python, no
-- Graphviz): axes with round-number ticks, one polyline per series,
-- broken where a value is not finite.  svg(series, opts) takes the data
-- plot() collects, a list of { xs, ys } (lists of numbers), and returns the
-- SVG text; opts: title, svg_width, svg_height (pixels).  The Jupyter
-- kernel shows plot(...) with it; a file writer can reuse it.

local M = {}

local colors = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b" }

local function finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

local function esc(s)
  return (tostring(s):gsub('[&<>"]', { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end

local function label(v)
  if v == math.floor(v) and math.abs(v) < 1e9 then return ("%d"):format(v) end
  return ("%.4g"):format(v)
end

-- Round-number ticks covering [lo, hi]: steps of 1, 2 or 5 times a power
-- of ten, about five of them.
function M.ticks(lo, hi)
  local raw = (hi - lo) / 5
  local p = 10 ^ math.floor(math.log(raw, 10))
  local step = p
  for _, m in ipairs({ 1, 2, 5, 10 }) do
    if raw <= m * p * 1.0000001 then step = m * p; break end
  end
  local out = {}
  local first = math.ceil(lo / step - 1e-9)
  for k = first, math.floor(hi / step + 1e-9) do
    local v = k * step
    if math.abs(v) < step * 1e-9 then v = 0 end
    out[#out + 1] = v
  end
  return out
end

-- The range of the finite points of all series, widened where it is a
-- single value; the terminal plot (plot.lua) uses it too.
function M.bounds(series)
  local xmin, xmax, ymin, ymax = math.huge, -math.huge, math.huge, -math.huge
  for _, s in ipairs(series) do
    for i = 1, #s[1] do
      local x, y = s[1][i], s[2][i]
      if finite(x) and finite(y) then
        xmin, xmax = math.min(xmin, x), math.max(xmax, x)
        ymin, ymax = math.min(ymin, y), math.max(ymax, y)
      end
    end
  end
  if xmin > xmax then error("plot: nothing finite to plot", 3) end
  if ymax == ymin then ymax, ymin = ymax + 1, ymin - 1 end
  if xmax == xmin then xmax = xmin + 1 end
  return xmin, xmax, ymin, ymax
end

function M.svg(series, o)
  o = o or {}
  local W, H = o.svg_width or 480, o.svg_height or 300
  local left, right, top, bottom = 64, 16, o.title and 32 or 16, 40
  local xmin, xmax, ymin, ymax = M.bounds(series)
  local pw, ph = W - left - right, H - top - bottom
  local function px(x) return left + (x - xmin) / (xmax - xmin) * pw end
  local function py(y) return top + (ymax - y) / (ymax - ymin) * ph end
  local out = {
    ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
      .. 'font-family="sans-serif" font-size="11">'):format(W, H, W, H),
    ('<rect x="0" y="0" width="%d" height="%d" fill="white"/>'):format(W, H),
  }
  if o.title then
    out[#out + 1] = ('<text x="%.1f" y="20" text-anchor="middle" font-size="13">%s</text>'):format(W / 2, esc(o.title))
  end
  for _, v in ipairs(M.ticks(xmin, xmax)) do
    local x = px(v)
    out[#out + 1] = ('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e5e5e5"/>'):format(x, top, x, top + ph)
    out[#out + 1] = ('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'):format(x, top + ph + 16, esc(label(v)))
  end
  for _, v in ipairs(M.ticks(ymin, ymax)) do
    local y = py(v)
    out[#out + 1] = ('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e5e5"/>'):format(left, y, left + pw, y)
    out[#out + 1] = ('<text x="%d" y="%.1f" text-anchor="end">%s</text>'):format(left - 6, y + 4, esc(label(v)))
  end
  out[#out + 1] = ('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>'):format(left, top, pw, ph)
  for k, s in ipairs(series) do
    local pts = {}
    local function flush()
      if #pts >= 2 then
        out[#out + 1] = ('<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>')
          :format(colors[(k - 1) % #colors + 1], table.concat(pts, " "))
      elseif #pts == 1 then   -- a lone point between gaps stays visible
        local x, y = pts[1]:match("([^,]+),(.+)")
        out[#out + 1] = ('<circle cx="%s" cy="%s" r="2" fill="%s"/>'):format(x, y, colors[(k - 1) % #colors + 1])
      end
      pts = {}
    end
    for i = 1, #s[1] do
      local x, y = s[1][i], s[2][i]
      if finite(x) and finite(y) then pts[#pts + 1] = ("%.2f,%.2f"):format(px(x), py(y))
      else flush() end
    end
    flush()
  end
  out[#out + 1] = "</svg>"
  return table.concat(out, "\n")
end

return M
