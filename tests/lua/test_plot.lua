-- Plots in the terminal and as SVG: legend, axis labels, ticks, log scale.

local svg = require("nncalc.plot_svg")

local function lines_of(text)
  local out = {}
  for l in (text .. "\n"):gmatch("(.-)\n") do out[#out + 1] = l end
  return out
end

test("ticks: 1, 2 or 5 times a power of ten, 0 among them, one format", function()
  local v, l = svg.ticks(-3, 3, 6)
  eq(table.concat(l, " "), "-3 -2 -1 0 1 2 3")
  v, l = svg.ticks(0, 1, 5)
  eq(table.concat(l, " "), "0.0 0.2 0.4 0.6 0.8 1.0", "the same decimals on every tick")
  v, l = svg.ticks(-0.35, 0.35, 4)
  eq(table.concat(l, " "), "-0.2 0.0 0.2", "no -0.0")
  local lo, hi = svg.nice(0.0025, 0.9975, 5)
  eq(lo, 0); eq(hi, 1, "the y range widens to whole ticks")
  v, l = svg.ticks(-2, 3, 5, true)   -- log10 range 0.01 .. 1000
  eq(table.concat(l, " "), "0.01 0.1 1 10 100 1000")
  v, l = svg.ticks(0, math.log(30, 10), 5, true)
  eq(table.concat(l, " "), "1 2 5 10 20", "2 and 5 in a short log range")
end)

test("several curves: a marker each and a legend naming them", function()
  nncalc.ascii = true
  local text = plot({ sigmoid, tanh, relu }, -3, 3, { quiet = true, width = 40, height = 12 })
  nncalc.ascii = nil
  local lines = lines_of(text)
  eq(lines[#lines]:match("^ *(.-)$"), "* sigmoid   + tanh   x relu")
  eq(lines[#lines - 1]:match("%S+"), "x", "the x axis is labelled")
  eq(text:find("+", 1, true) ~= nil and text:find("x", 1, true) ~= nil, true)
  -- the row of y = 0 carries the tick "0" and the dotted zero line
  local zero
  for _, l in ipairs(lines) do if l:match("^ *0 %+") then zero = l end end
  eq(zero ~= nil, true, "a tick at 0: " .. text)
  eq(zero:find("%.%.%.") ~= nil, true, "the zero line")
  -- the x axis ticks include 0, centred under its + on the rule
  local rule, under = lines[#lines - 3], lines[#lines - 2]
  local col = under:find("0", 1, true)
  eq(rule:sub(col, col), "+", "the 0 label sits under its tick")
  expect_error(function() plot(sigmoid, -1, 1, { colour = "red" }) end, "plot: unknown option 'colour'")
end)

test("a loss history on a log scale", function()
  nncalc.ascii = true
  local text = plot({ 1000, 100, 10, 1, 0.1, 0.01 }, { quiet = true, log = true, width = 30, height = 6 })
  nncalc.ascii = nil
  local lines = lines_of(text)
  eq(lines[1], "loss (log scale)")
  -- one decade per row: the labels run 1000 .. 0.01 down the axis
  local labels = {}
  for i = 2, 7 do labels[#labels + 1] = lines[i]:match("^ *(%S+) %+") end
  eq(table.concat(labels, " "), "1000 100 10 1 0.1 0.01")
  eq(lines[#lines]:match("%S+"), "epoch")
  expect_error(function() plot({ 1, 0, 2 }, { log = true }) end, "plot: log scale needs positive values, got 0")
end)

test("p:svg(path) writes the plot as SVG: curves, legend, labels, ticks", function()
  local p
  local old = io.output()
  io.output(os.tmpname())
  p = plot({ sigmoid, tanh }, -3, 3, { labels = { "σ", "tanh <x>" }, title = "two" })
  io.output():close()
  io.output(old)
  local path = os.tmpname()
  p:svg(path)
  local f = io.open(path); local text = f:read("a"); f:close()
  os.remove(path)
  eq(text:match("^<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"400\"") ~= nil, true)
  local n = 0
  for _ in text:gmatch("<polyline ") do n = n + 1 end
  eq(n, 2, "one polyline per curve")
  eq(text:find(">σ</text>", 1, true) ~= nil, true, "legend label")
  eq(text:find(">tanh &lt;x&gt;</text>", 1, true) ~= nil, true, "labels are escaped")
  eq(text:find(">two</text>", 1, true) ~= nil, true, "title")
  eq(text:find(">x</text>", 1, true) ~= nil, true, "x label")
  for _, t in ipairs({ "-3", "0", "3", "-1.0", "1.0" }) do
    eq(text:find(">" .. t .. "</text>", 1, true) ~= nil, true, "tick " .. t)
  end
  eq(text:match("</svg>\n$") ~= nil, true)
  -- the data function alone, as a notebook would call it
  local s = svg.svg({ series = { { x = { 1, 2, 3 }, y = { 3, 2, 1 }, label = "loss" } }, log = true, width = 300, height = 200 })
  eq(s:find('width="300"', 1, true) ~= nil, true)
  eq(p:svg():sub(1, 4), "<svg", "p:svg() without a path returns the text")
  expect_error(function() svg.svg({ series = { { x = { 1 }, y = { 0 / 0 } } } }) end, "nothing finite to plot")
end)

test("a plot prints once in the REPL and keeps its data", function()
  local old = io.output()
  local tmp = os.tmpname()
  io.output(tmp)
  local p = plot(sigmoid, -1, 1, { width = 20, height = 4 })
  io.output():close()
  io.output(old)
  local f = io.open(tmp); local printed = f:read("a"); f:close(); os.remove(tmp)
  eq(printed, tostring(p) .. "\n")
  eq(#p.data.series, 1)
  eq(p.data.series[1].label, "sigmoid")
end)
