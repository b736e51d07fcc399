-- The rich forms notebooks show (lua/nncalc/jupyter.lua, a plot's SVG,
-- the summary's HTML), checked against tables worked out by hand.  The
-- kernel itself is tested through Jupyter's own clients in
-- tests/jupyter_test.sh.

local J = require("nncalc.jupyter")

test("a plot's __mime is its SVG, the same as p:svg()", function()
  local p = plot({ 3, 2, 1 }, { width = 20, height = 5 })
  local m = getmetatable(p).__mime(p)
  eq(type(m["image/svg+xml"]), "string")
  assert(m["image/svg+xml"]:find("<svg", 1, true), "an SVG")
  eq(m["image/svg+xml"], p:svg(), "the picture p:svg() draws")
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
