-- PyTorch's and IPython's spellings: x.shape, x.T, help on a value, and the
-- hints after common errors ("did you mean", x.size(), @, tensor([[...]])).

local hints = require("nncalc.hints")

test("x.shape is a field and x:shape() still works; x.T transposes", function()
  local x = tensor{{1, 2, 3}, {4, 5, 6}}
  eq(tostring(x.shape), "{2, 3}")
  eq(x.shape == x:shape(), true)
  eq(x.shape[2], 3)
  eq(#x.shape, 2)
  tensor_eq(x.T, {{1, 4}, {2, 5}, {3, 6}})
  local y = arange(1, 24):reshape(2, 3, 4)
  eq(tostring(y.T.shape), "{4, 3, 2}", "dims reversed, as PyTorch's permute")
  eq(y.T[{4, 3, 2}], y[{2, 3, 4}])
  tensor_eq(tensor{1, 2}.T, {1, 2}, nil, "a vector as it is")
  -- .T keeps the graph: the gradient of sum(W.T * v) reaches W
  local W = tensor{{1, 2}, {3, 4}}:requires_grad()
  ;(W.T * tensor{1, 1}):sum():backward()
  tensor_eq(W.grad, {{1, 1}, {1, 1}})
  expect_error(function() x.shape = 3 end, "cannot set field 'shape'")
end)

test("help on a tensor value: shape, dtype, grad, graph node", function()
  local W = tensor{{1, 0}, {3, 4}}:requires_grad():name("W1")
  local out = capture(function() help(W) end)
  eq(out:find("a tensor of shape 2x2 (4 values), float64", 1, true) ~= nil, true, out)
  eq(out:find("a leaf that requires grad named W1", 1, true) ~= nil, true, out)
  local a = W * tensor{2, 1}
  out = capture(function() help(a) end)
  eq(out:find("computed in a gradient graph by node mv#", 1, true) ~= nil, true, out)
  HELP_T = ones(3)
  out = capture(function() help("HELP_T") end)
  eq(out:find("HELP_T: a tensor of shape 3 (3 values)", 1, true) ~= nil, true, out)
  eq(out:find("a constant", 1, true) ~= nil, true, out)
  HELP_T = nil
end)

test("did you mean: by edit distance over exports, help names and globals", function()
  eq(hints.distance("sofmax", "softmax"), 1)
  eq(hints.distance("tranpose", "transpose"), 1)
  eq(hints.distance("ab", "ba"), 1, "a swap is one edit")
  eq(hints.add("stdin:1: attempt to call a nil value (global 'sofmax')"),
    "stdin:1: attempt to call a nil value (global 'sofmax')\n  hint: did you mean softmax?")
  eq(hints.add("x: attempt to call a nil value (global 'lineespace')"):match("hint: (.*)"), "did you mean linspace?")
  eq(hints.add("x: attempt to call a nil value (method 'tranpose')"):match("hint: (.*)"), "did you mean transpose?")
  eq(hints.add("x: attempt to call a nil value (field 'Linaer')"):match("hint: (.*)"), "did you mean Linear?")
  MY_WEIGHTS = 1
  eq(hints.add("x: attempt to index a nil value (global 'MY_WEIGHT')"):match("hint: (.*)"), "did you mean MY_WEIGHTS?",
    "the user's own globals count")
  MY_WEIGHTS = nil
  eq(hints.add("x: attempt to call a nil value (global 'qqqqzzzz')"), "x: attempt to call a nil value (global 'qqqqzzzz')",
    "nothing close: no hint")
  eq(hints.add("x: attempt to index a nil value (global 'torch')"):find("no torch. prefix", 1, true) ~= nil, true)
end)

test("hints for PyTorch habits: x.size(), @, tensor([[...]])", function()
  local ok, err = pcall(function() local x = tensor{1, 2}; return x.size() end)
  eq(ok, false)
  eq(hints.add(err):match("hint: (.*)"), "methods are called with a colon in Lua: x:size(), not x.size()")
  local _, serr = load("return W @ x", "=stdin")
  eq(hints.add(serr):match("hint: (.*)"), "the matrix product is *, as on paper: W1 * x (a:cmul(b) multiplies elementwise)")
  ok, err = pcall(tensor, [[1,2],[3,4]])
  eq(hints.add(err):match("hint: (.*)"), "write tensor{{1,2},{3,4}}: braces make a Lua table ([[...]] is a string in Lua)")
  _, serr = load("return tensor([1, 2])", "=stdin")
  eq(hints.add(serr):match("hint: (.*)"), "lists are written with braces in Lua: tensor{{1,2},{3,4}}")
end)

test("Tab completion: tensor fields, lazy parameters, net[1]., help names", function()
  CW1 = tensor{1, 2}:requires_grad()
  CLIN = nn.Linear(2, 3)
  CNET = nn.Sequential{ nn.Linear(2, 2), nn.ReLU() }
  local function has(word, want)
    for _, m in ipairs(nncalc.complete(word)) do if m == want then return true end end
    return false
  end
  eq(has("CW1.gr", "CW1.grad"), true, "a tensor's grad field")
  eq(has("CW1.sh", "CW1.shape"), true)
  eq(has("CLIN.we", "CLIN.weight"), true, "a parameter not yet made")
  eq(rawget(CLIN, "weight"), nil, "completion did not make it")
  eq(has("CNET[1].we", "CNET[1].weight"), true)
  eq(has("CNET[1]:forw", "CNET[1]:forward"), true)
  eq(#nncalc.complete("CNET[9].we"), 0, "an index with nothing there offers nothing")
  eq(has("?conv_s", "?conv_solve"), true)
  CW1, CLIN, CNET = nil, nil, nil
end)
