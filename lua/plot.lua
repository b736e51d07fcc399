-- plot.lua — plots in the terminal: plot(history) for a loss curve,
-- plot(f, a, b) for a function (or a list of functions) on [a, b].
-- Unicode braille dots (2x4 per character) when the terminal speaks UTF-8,
-- '*' otherwise.

local M = {}

local unicode = require("term").unicode

local function fmt(v)
  if v == math.floor(v) and math.abs(v) < 1e9 then return ("%d"):format(v) end
  return ("%.4g"):format(v)
end

-- series: list of {xs, ys}; draws them on one canvas of w x h characters.
local function draw(series, o)
  local w, h = o.width or 60, o.height or 15
  local uni = unicode()
  local dx, dy = uni and 2 or 1, uni and 4 or 1
  local W, H = w * dx, h * dy
  local xmin, xmax, ymin, ymax = require("plot_svg").bounds(series)   -- the picture's range too
  local dots = {}
  local function set(px, py)
    if px < 0 or px >= W or py < 0 or py >= H then return end
    dots[py * W + px] = true
  end
  for _, s in ipairs(series) do
    local prev
    for i = 1, #s[1] do
      local y = s[2][i]
      if y == y and y ~= math.huge and y ~= -math.huge then
        local px = math.floor((s[1][i] - xmin) / (xmax - xmin) * (W - 1) + 0.5)
        local py = math.floor((ymax - y) / (ymax - ymin) * (H - 1) + 0.5)
        if prev then   -- join neighbours so steep parts stay connected
          local steps = math.max(math.abs(px - prev[1]), math.abs(py - prev[2]), 1)
          for k = 0, steps do set(math.floor(prev[1] + (px - prev[1]) * k / steps + 0.5), math.floor(prev[2] + (py - prev[2]) * k / steps + 0.5)) end
        else
          set(px, py)
        end
        prev = { px, py }
      else
        prev = nil
      end
    end
  end
  local lines = {}
  local label_w = math.max(#fmt(ymax), #fmt(ymin))
  -- braille: dot (c, r) within a cell sets bit of 0x2800
  local bit = { [0] = { [0] = 0x01, 0x02, 0x04, 0x40 }, { [0] = 0x08, 0x10, 0x20, 0x80 } }
  for row = 0, h - 1 do
    local cells = {}
    for col = 0, w - 1 do
      if uni then
        local code = 0
        for c = 0, 1 do for r = 0, 3 do
          if dots[(row * 4 + r) * W + col * 2 + c] then code = code | bit[c][r] end
        end end
        cells[#cells + 1] = code == 0 and " " or utf8.char(0x2800 + code)
      else
        cells[#cells + 1] = dots[row * W + col] and "*" or " "
      end
    end
    local label = row == 0 and fmt(ymax) or (row == h - 1 and fmt(ymin) or "")
    lines[#lines + 1] = ("%" .. label_w .. "s %s%s"):format(label, uni and "│" or "|", table.concat(cells))
  end
  lines[#lines + 1] = (" "):rep(label_w) .. " " .. (uni and "└" or "+") .. (uni and ("─"):rep(w) or ("-"):rep(w))
  local left, right = fmt(xmin), fmt(xmax)
  lines[#lines + 1] = (" "):rep(label_w + 2) .. left .. (" "):rep(math.max(1, w - #left - #right)) .. right
  if o.title then table.insert(lines, 1, o.title) end
  return table.concat(lines, "\n")
end

-- plot(history) | plot(values) | plot(f, a, b [, opts]) | plot({f, g}, a, b)
function M.plot(what, a, b, o)
  local series = {}
  if type(what) == "table" and type(what[1]) == "number" or nncalc.is_tensor(what) then
    local ys = nncalc.is_tensor(what) and what:detach():reshape(what:numel()):totable() or what
    local xs = {}
    for i = 1, #ys do xs[i] = i end
    series[1] = { xs, ys }
    o = a or {}
  elseif type(what) == "function" or (type(what) == "table" and type(what[1]) == "function") then
    if type(a) ~= "number" or type(b) ~= "number" or not (b > a) then
      error("plot: give the interval: plot(f, a, b) with a < b", 2)
    end
    o = o or {}
    local fs = type(what) == "function" and { what } or what
    local n = o.points or 240
    for _, f in ipairs(fs) do
      local xs, ys = {}, {}
      for i = 0, n - 1 do
        local x = a + (b - a) * i / (n - 1)
        local ok, y = pcall(f, x)
        if ok and nncalc.is_tensor(y) then y = y:item() end
        xs[#xs + 1], ys[#ys + 1] = x, (ok and type(y) == "number") and y or 0 / 0
      end
      series[#series + 1] = { xs, ys }
    end
  elseif type(what) == "table" and next(what) == nil then
    error("plot: the list is empty: nothing to plot", 2)
  else
    error("plot: a list of numbers (a loss history), a tensor, or a function and an interval expected", 2)
  end
  local text = draw(series, o)
  if o.quiet then return text end
  if nncalc.present then   -- a notebook: the picture, and the text for consoles
    nncalc.present(text, { ["image/svg+xml"] = function() return require("plot_svg").svg(series, o) end })
    return
  end
  print(text)   -- shown once: nothing is returned for the REPL to print again
end

plot = M.plot
return M
