-- The rich forms notebooks show (lua/jupyter.lua, lua/plot_svg.lua, the
-- summary's HTML), checked against coordinates and tables worked out by
-- hand.  The kernel itself is tested through Jupyter's own clients in
-- tests/jupyter_test.sh.

local J = require("jupyter")
local S = require("plot_svg")

local function list_near(got, want)
  eq(#got, #want, "number of ticks")
  for i = 1, #want do near(got[i], want[i], 1e-9, "tick " .. i) end
end

test("ticks: steps of 1, 2 or 5 times a power of ten, about five", function()
  list_near(S.ticks(0, 1), { 0, 0.2, 0.4, 0.6, 0.8, 1 })        -- raw step 0.2
  list_near(S.ticks(-3, 3), { -2, 0, 2 })                        -- raw 1.2 -> 2
  list_near(S.ticks(0.013, 0.0171), { 0.013, 0.014, 0.015, 0.016, 0.017 })   -- raw 0.00082 -> 0.001
  list_near(S.ticks(1, 100), { 20, 40, 60, 80, 100 })            -- raw 19.8 -> 20
end)

test("svg: points mapped into the plot area (480x300, margins 64/16/16/40)", function()
  -- plot area x 64..464 (400 wide), y 16..260 (244 high); y range 1..9:
  -- (1,1) -> (64, 260); (2,4) -> (264, 16 + 5/8*244 = 168.5); (3,9) -> (464, 16)
  local svg = S.svg({ { { 1, 2, 3 }, { 1, 4, 9 } } })
  assert(svg:find("^<svg"), "starts with <svg")
  assert(svg:find('points="64.00,260.00 264.00,168.50 464.00,16.00"', 1, true), svg)
end)

test("svg: a gap at a non-finite value; a lone point stays visible", function()
  local svg = S.svg({ { { 1, 2, 3, 4 }, { 1, 0 / 0, 3, 4 } } })
  local _, lines = svg:gsub("<polyline", "")
  local _, dots = svg:gsub("<circle", "")
  eq(lines, 1, "polylines")   -- 3..4
  eq(dots, 1, "lone points")  -- the point before the NaN
  expect_error(function() S.svg({ { { 1 }, { 0 / 0 } } }) end, "nothing finite")
end)

test("svg: the title is escaped", function()
  local svg = S.svg({ { { 1, 2 }, { 1, 2 } } }, { title = "a<b & c" })
  assert(svg:find("a&lt;b &amp; c", 1, true), svg)
end)

test("tensor_html: one cell per printed number, the shape line below", function()
  local h = J.tensor_html(tensor{{1, 2}, {3, 40}})
  local cells = {}
  for v in h:gmatch("<td[^>]*>(.-)</td>") do cells[#cells + 1] = v end
  eq(table.concat(cells, ","), "1,2,3,40")
  assert(h:find("[tensor 2x2]", 1, true), h)
  eq(J.tensor_html(tensor(5)), nil, "a 0-d tensor has no table")
  local h3 = J.tensor_html(zeros(2, 1, 2))
  assert(h3:find("(1,.,.) =", 1, true) and h3:find("(2,.,.) =", 1, true), h3)
  local _, tables = h3:gsub("<table>", "")
  eq(tables, 2, "one table per matrix")
end)

test("tensor_html: an abbreviated tensor keeps its ellipses", function()
  local h = J.tensor_html(arange(1, 2000))
  assert(h:find("&#8230;", 1, true), "… in the row")
  assert(h:find(">1</td>", 1, true) and h:find(">2000</td>", 1, true), "both ends")
end)

test("mime: tensors HTML, graphs and summaries through __mime, others nothing", function()
  assert(J.mime(tensor{1, 2})["text/html"]:find("<table>"))
  eq(J.mime(42), nil)
  eq(J.mime({}), nil)
  local W = tensor{{1, 2}, {3, 4}}:requires_grad()
  local m = J.mime(graph((W * tensor{1, 1}):sum()))
  eq(type(m), "table", "a graph has a __mime")
  -- Linear(2,3): 2*3 + 3 = 9 parameters; Linear(3,1): 3 + 1 = 4; total 13
  local s = summary(nn.Sequential{ nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1) }, {2}, { quiet = true })
  local h = J.mime(s)["text/html"]
  assert(h:find("<th[^>]*>13</th>"), h)
  assert(h:find("<td[^>]*>9</td>"), h)
  assert(h:find("conventions:", 1, true), "the conventions under the table")
end)

test("escape: the four HTML specials", function()
  eq(J.escape([[<a href="x">&</a>]]), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;")
end)
