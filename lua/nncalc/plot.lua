-- plot.lua — plots in the terminal: plot(history) for a loss curve,
-- plot(f, a, b) for a function (or a list of functions) on [a, b].
-- One curve: Unicode braille dots (2x4 per character) when the terminal
-- speaks UTF-8, '*' otherwise; several: a marker each and a legend.  The
-- plot returned keeps its data: p:svg(path) draws it with plot_svg.

local M = {}

local term = require("nncalc.term")
local svg = require("nncalc.plot_svg")

local markers_utf8 = { "•", "+", "x", "o", "#", "%" }
local markers_ascii = { "*", "+", "x", "o", "#", "%" }

-- the canvas width: the terminal's, less the labels, or 60 off a terminal
local function canvas_width(o, label_w)
  if o.width then return o.width end
  local cols = term.size()
  if cols then return math.max(20, math.min(cols - label_w - 3, 200)) end
  return 60
end

-- data (plot_svg's format) as lines of text
local function draw(data, o)
  data.yticks = math.max(2, (o.height or 15) // 3)
  local xmin, xmax, ymin, ymax = svg.ranges(data)
  if not xmin then error("plot: nothing finite to plot", 3) end
  local yt, yl = svg.ticks(ymin, ymax, data.yticks, data.log)
  local label_w = 1
  for _, l in ipairs(yl) do label_w = math.max(label_w, #l) end
  local w, h = canvas_width(o, label_w), o.height or 15
  local uni, several = term.unicode(), #data.series > 1
  local braille = uni and not several
  local dx, dy = braille and 2 or 1, braille and 4 or 1
  local W, H = w * dx, h * dy
  local dots = {}   -- pixel -> series number
  local function set(px, py, k)
    if px < 0 or px >= W or py < 0 or py >= H then return end
    dots[py * W + px] = dots[py * W + px] or k
  end
  local function PX(x) return math.floor((x - xmin) / (xmax - xmin) * (W - 1) + 0.5) end
  local function PY(y) return math.floor((ymax - y) / (ymax - ymin) * (H - 1) + 0.5) end
  for k, s in ipairs(data.series) do
    local prev
    for i = 1, #s.x do
      local y = s.y[i]
      if data.log then y = (y and y > 0) and math.log(y, 10) or nil end
      if y and y == y and y ~= math.huge and y ~= -math.huge then
        local px, py = PX(s.x[i]), PY(y)
        if prev then   -- join neighbours so steep parts stay connected
          local steps = math.max(math.abs(px - prev[1]), math.abs(py - prev[2]), 1)
          for j = 0, steps do set(math.floor(prev[1] + (px - prev[1]) * j / steps + 0.5), math.floor(prev[2] + (py - prev[2]) * j / steps + 0.5), k) end
        else
          set(px, py, k)
        end
        prev = { px, py }
      else
        prev = nil
      end
    end
  end
  -- the rows that carry a y tick (0 among them when in range)
  local row_label = {}
  for i, v in ipairs(yt) do row_label[math.floor(PY(v) / dy)] = yl[i] end
  local zero_row = (not data.log and ymin <= 0 and ymax >= 0) and math.floor(PY(0) / dy) or nil
  local markers = uni and markers_utf8 or markers_ascii
  local bit = { [0] = { [0] = 0x01, 0x02, 0x04, 0x40 }, { [0] = 0x08, 0x10, 0x20, 0x80 } }
  local lines = {}
  if data.title then lines[1] = data.title end
  if data.ylabel then lines[#lines + 1] = data.ylabel .. (data.log and " (log scale)" or "") end
  for row = 0, h - 1 do
    local cells = {}
    for col = 0, w - 1 do
      local c
      if braille then
        local code = 0
        for cx = 0, 1 do for r = 0, 3 do
          if dots[(row * 4 + r) * W + col * 2 + cx] then code = code | bit[cx][r] end
        end end
        c = code ~= 0 and utf8.char(0x2800 + code) or nil
      elseif dots[row * W + col] then
        c = several and markers[(dots[row * W + col] - 1) % #markers + 1] or "*"
      end
      cells[#cells + 1] = c or (row == zero_row and (uni and "┈" or ".") or " ")
    end
    local tick = row_label[row] and (uni and "┤" or "+") or (uni and "│" or "|")
    lines[#lines + 1] = ("%" .. label_w .. "s %s%s"):format(row_label[row] or "", tick, table.concat(cells))
  end
  -- the x axis: ticks on one rule, labels centred under them without overlap
  local xt, xl = svg.ticks(xmin, xmax, math.max(2, w // 12))
  local rule, under = {}, {}
  for col = 1, w do rule[col] = uni and "─" or "-"; under[col] = " " end
  local free = 1
  for i, v in ipairs(xt) do
    local col = math.floor(PX(v) / dx) + 1
    local label = xl[i]
    local start = math.max(1, math.min(col - #label // 2, w - #label + 1))
    if start >= free then
      rule[col] = uni and "┬" or "+"
      for j = 1, #label do under[start + j - 1] = label:sub(j, j) end
      free = start + #label + 1
    end
  end
  lines[#lines + 1] = (" "):rep(label_w) .. " " .. (uni and "└" or "+") .. table.concat(rule)
  lines[#lines + 1] = (" "):rep(label_w + 2) .. table.concat(under):gsub("%s+$", "")
  if data.xlabel then
    lines[#lines + 1] = (" "):rep(label_w + 2 + math.max(0, (w - #data.xlabel) // 2)) .. data.xlabel
  end
  if several then
    local legend = {}
    for k, s in ipairs(data.series) do legend[k] = markers[(k - 1) % #markers + 1] .. " " .. s.label end
    lines[#lines + 1] = (" "):rep(label_w + 2) .. table.concat(legend, "   ")
  end
  return table.concat(lines, "\n")
end

-- A function's name for the legend: the global (or nncalc function) it is.
local function name_of(f, k)
  for name, v in pairs(_G) do if rawequal(v, f) and type(name) == "string" then return name end end
  for name, v in pairs(nncalc) do if rawequal(v, f) and type(name) == "string" then return name end end
  return "f" .. k
end

local Plot = {}
Plot.__index = Plot
Plot.__name = "nncalc.Plot"
function Plot:__tostring() return self.text end

-- In a notebook (the Jupyter kernel) a plot shows as its SVG picture.
function Plot:__mime() return { ["image/svg+xml"] = self:svg() } end

-- p:svg(path): the same plot as an SVG file, drawn by nncalc (plot_svg.lua).
function Plot:svg(path, opts)
  if getmetatable(self) ~= Plot then error("svg: call it as p:svg(path) on a plot", 2) end
  local text = svg.svg(setmetatable(opts or {}, { __index = self.data }))
  if path == nil then return text end
  if type(path) ~= "string" then error("svg: the path must be a string, got a " .. type(path), 2) end
  local f, err = io.open(path, "w")
  if not f then error("svg: cannot write " .. err, 2) end
  f:write(text)
  f:close()
end

local options = { width = true, height = true, points = true, quiet = true, log = true, xlabel = true,
  ylabel = true, title = true, labels = true }

-- plot(history) | plot(values) | plot(f, a, b [, opts]) | plot({f, g}, a, b)
function M.plot(what, a, b, o)
  local data = { series = {} }
  if type(what) == "table" and type(what[1]) == "number" or nncalc.is_tensor(what) then
    local ys = nncalc.is_tensor(what) and what:detach():reshape(what:numel()):totable() or what
    local xs = {}
    for i = 1, #ys do xs[i] = i end
    data.series[1] = { x = xs, y = ys, label = "loss" }
    o = a or {}
    data.xlabel, data.ylabel = "epoch", "loss"
  elseif type(what) == "function" or (type(what) == "table" and type(what[1]) == "function") then
    if type(a) ~= "number" or type(b) ~= "number" or not (b > a) then
      error("plot: give the interval: plot(f, a, b) with a < b", 2)
    end
    o = o or {}
    local fs = type(what) == "function" and { what } or what
    local n = o.points or 240
    for k, f in ipairs(fs) do
      local xs, ys = {}, {}
      for i = 0, n - 1 do
        local x = a + (b - a) * i / (n - 1)
        local ok, y = pcall(f, x)
        if ok and nncalc.is_tensor(y) then y = y:item() end
        xs[#xs + 1], ys[#ys + 1] = x, (ok and type(y) == "number") and y or 0 / 0
      end
      data.series[k] = { x = xs, y = ys, label = (o.labels and o.labels[k]) or name_of(f, k) }
    end
    data.xlabel = "x"
  elseif type(what) == "table" and next(what) == nil then
    error("plot: the list is empty: nothing to plot", 2)
  else
    error("plot: a list of numbers (a loss history), a tensor, or a function and an interval expected", 2)
  end
  if type(o) ~= "table" then error("plot: options must be a table {width=, height=, log=, xlabel=, ylabel=, title=, labels=}", 2) end
  for k in pairs(o) do
    if not options[k] then error(("plot: unknown option '%s'"):format(tostring(k)), 2) end
  end
  if o.xlabel ~= nil then data.xlabel = o.xlabel or nil end
  if o.ylabel ~= nil then data.ylabel = o.ylabel or nil end
  data.title, data.log = o.title, o.log and true or false
  if data.log then
    for _, s in ipairs(data.series) do
      for _, y in ipairs(s.y) do
        if y <= 0 then error(("plot: log scale needs positive values, got %s"):format(y), 2) end
      end
    end
  end
  local text = draw(data, o)
  if o.quiet then return text end
  local p = setmetatable({ data = data, text = text, _printed = true }, Plot)
  if nncalc.present then nncalc.present(text, p:__mime()) else print(text) end
  -- shown once: the REPL does not print the returned plot again
  return p
end

return M
