-- The graph picture (graph_dot.lua): gradients on every node after a
-- backward, constants, rankdir, colours, names, module clusters.

local function dot_of(L, opts) return graph(L, opts):dot() end
local function has(text, part) eq(text:find(part, 1, true) ~= nil, true, ("%q missing from\n%s"):format(part, text)) end

test("after L:backward() every node shows its gradient; constants show", function()
  GX = tensor{2, 1}
  GW1 = tensor{{1, 0}, {3, 4}, {1, 2}}:requires_grad()
  GA1 = GW1 * GX                              -- (2, 10, 4)
  local L = ((GA1 - 10)^2):sum():name("L")    -- dL/da1 = 2(a1 - 10) = (-16, 0, -12)
  L:backward()
  eq(GA1.grad, nil, "a1.grad stays nil (PyTorch's rule): only the picture shows it")
  local d = dot_of(L)
  has(d, 'label="GA1 [3]\\nvalue (2, 10, 4)\\ngrad (-16, 0, -12)"')
  -- dL/dW1 = dL/da1 · x^T = [-32 -16; 0 0; -24 -12]
  has(d, 'grad [-32 -16; 0 0; -24 -12]')
  has(d, 'label="sub#')  has(d, '\\nGA1 − 10"')
  has(d, '\\nsub#') has(d, ' ^ 2"')
  has(d, 'shape=box, style="dashed", label="10"')
  has(d, 'shape=box, style="dashed", label="2"')
  has(d, 'label="L [scalar]\\nvalue 100\\ngrad 1"')
  has(d, "rankdir=LR;")
  -- colours: a parameter, an input, the output
  has(d, 'fillcolor="#cfe2ff", label="GW1 [3x2]')
  has(d, 'fillcolor="#fff3cd", label="GX [2]')
  has(d, 'fillcolor="#f8d7da", label="L [scalar]')
  -- the number first: 10 - a1, and 2 ^ a1
  local L2 = ((10 - GA1) * 1):sum()
  has(dot_of(L2), "\\n10 − GA1\"")
  has(dot_of(L, { rankdir = "TB" }), "rankdir=TB;")
  has(graph(L):dot({ rankdir = "TB" }), "rankdir=TB;")
  expect_error(function() graph(L):dot({ rankdir = "up" }) end, 'rankdir must be "LR", "TB"')
  GX, GW1, GA1 = nil, nil, nil
end)

test("a module's nodes are a cluster labelled with it; input and target named", function()
  seed(3)
  GNET = nn.Sequential{ nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1) }
  local L = nn.MSELoss()(GNET(tensor{1, 2}), tensor{0.5})
  L:backward()
  local d = dot_of(L)
  has(d, 'subgraph cluster_')
  has(d, 'label="GNET: Sequential()"')
  has(d, 'label="GNET[1]: Linear(in_features=2, out_features=3, bias=true)"')
  has(d, 'label="GNET[2]: ReLU()"')
  -- the Linear's op and its parameters sit inside its cluster
  local inner = d:match('label="GNET%[1%]: Linear[^\n]*\n(.-)\n  }')
  eq(inner ~= nil and inner:find("linear#", 1, true) ~= nil, true, d)
  eq(inner:find("GNET[1].weight", 1, true) ~= nil, true, inner)
  has(d, 'label="GNET input [2]')
  has(d, 'label="target [1]')
  eq(d:find("leaf#", 1, true), nil, "no leaf#n names left")
  -- every tensor an edge names is declared as a box
  local boxes = {}
  for id in d:gmatch("\n  (t%d+) %[shape=box") do boxes[id] = true end
  for a, b in d:gmatch("\n  (%w+) %-> (%w+);") do
    local t = a:match("^t%d+$") and a or b
    eq(boxes[t], true, t .. " has no box")
  end
  has(graph(L, { clusters = false }):dot(), "digraph")
  eq(graph(L, { clusters = false }):dot():find("subgraph", 1, true), nil)
  GNET = nil
end)
