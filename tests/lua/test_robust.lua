-- test_robust.lua — issue 20: what hostile sizes, shapes and structures do.
-- Every size, byte count and stride product is checked whatever the cap;
-- the cap itself cannot be raised past what memory can address.

local MAXADDR = (1 << 60) - 1   -- the most doubles whose byte count fits size_t and int64

-- runs f with the cap at n, restoring the cap whatever happens
local function with_cap(n, f)
  local old = limits().max_elements
  limits{max_elements = n}
  local ok, err = pcall(f)
  limits{max_elements = old}
  if not ok then error(err, 0) end
end

test("caps that cannot be addressed are refused", function()
  expect_error(function() limits{max_elements = 2 ^ 62} end,
    "limits: max_elements 4611686018427387904 is more doubles than memory can address (at most 1152921504606846975")
  expect_error(function() limits{max_elements = math.maxinteger} end, "more doubles than memory can address")
  expect_error(function() limits{max_elements = 2 ^ 60} end, "more doubles than memory can address")
  expect_error(function() limits{max_elements = 0} end, "max_elements must be a positive whole number, got 0")
  expect_error(function() limits{max_elements = 1e300} end, "max_elements must be a positive whole number, got 1e+300")
  with_cap(MAXADDR, function() eq(limits().max_elements, MAXADDR) end)
end)

test("sizes at 2^31, 2^53, 2^62 and math.maxinteger never wrap, at the highest cap", function()
  with_cap(MAXADDR, function()
    -- 2^61 elements: over the cap, refused before any allocation
    expect_error(function() return zeros(2 ^ 61):sum() end, "zeros: size 2305843009213693952 is over the limit")
    -- 2^31 x 2^31 = 2^62 elements: refused, never read out of bounds
    expect_error(function() return zeros(2 ^ 31, 2 ^ 31)[{1, 1}] end, "size 2147483648x2147483648 is over the limit")
    -- under the cap but more than memory: an out-of-memory error, not a wrapped byte count
    expect_error(function() return zeros(2 ^ 59) end, "out of memory allocating 576460752303423488 elements")
    expect_error(function() return randn(2 ^ 53) end, "out of memory allocating 9007199254740992 elements")
    -- empty tensors: the non-zero sizes (the strides) are bounded too
    expect_error(function() return zeros(0, 2 ^ 62) end, "over the limit")
    expect_error(function() return zeros(0, math.maxinteger, 2) end, "over the limit")
    expect_error(function() return zeros(0):reshape(2 ^ 62, 2 ^ 62, 0) end, "size product overflows")
    expect_error(function() return eye(2 ^ 31, 2 ^ 31) end, "over the limit")
  end)
end)

test("expanded zero-stride views are checked like any shape", function()
  with_cap(MAXADDR, function()
    -- 2^53 elements that all read one number: allowed as a view (nothing allocated)
    eq(ones(1):expand(2 ^ 53):numel(), 2 ^ 53)
    eq(ones(1, 1):expand(2 ^ 31, 2 ^ 20)[{2 ^ 31, 2 ^ 20}], 1)   -- the last element, read through stride 0
    expect_error(function() return ones(1):expand(2 ^ 62) end, "expand: size 4611686018427387904 is over the limit")
    expect_error(function() return ones(1, 1):expand(math.maxinteger, 1) end, "over the limit")
    expect_error(function() return ones(1):expand(2 ^ 59):unsqueeze(1):expand(2, 2 ^ 59) end, "over the limit")
    expect_error(function() return cat({ones(1):expand(2 ^ 59), ones(1):expand(2 ^ 59)}) end,
      "cat: size 1152921504606846976 is over the limit")
    -- a product of two huge expanded views: the result is refused, not wrapped
    expect_error(function() return ones(1, 1):expand(2 ^ 20, 1) * ones(1, 1):expand(1, 2 ^ 20) end, "out of memory")
  end)
  -- at the default cap the view itself is refused; at the highest, the copy sum makes is
  expect_error(function() return ones(1):expand(2 ^ 40) end, "expand: size 1099511627776 is over the limit of")
  with_cap(MAXADDR, function()
    expect_error(function() return ones(1):expand(2 ^ 40):sum() end, "sum: out of memory allocating 1099511627776 elements")
  end)
end)

test("start + length and other sums never overflow", function()
  expect_error(function() return zeros(3):narrow(1, 2, math.maxinteger) end,
    "narrow: 9223372036854775807 elements from position 2 are out of bounds for dimension 1 of size 3")
  expect_error(function() return zeros(3):narrow(1, 1, 2 ^ 62) end, "out of bounds")
  -- 1e300 elements, in readable form
  expect_error(function() return arange(1, 2, 1e-300) end, "arange: 1e+300 elements is over the limit")
  expect_error(function() return zeros(3):index_select(1, setmetatable({}, {__len = function() return 2 ^ 62 end})) end,
    "4611686018427387904 indices: the length must be 0..")
end)

-- ---- issue 20.3: containers spelled as PyTorch writes them ------------------

test("containers take the modules as arguments too, with the same result as a list", function()
  seed(5)
  local a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
  local s = nn.Sequential(a, b, c)
  eq(#s, 3)
  -- 2*3 + 3 + 3*1 + 1 = 13 parameters, in 4 tensors
  eq(#s:parameters(), 4)
  local x = tensor{1, -2}
  near(s(x):item(), c(b(a(x))):item(), 1e-15, "the same forward as the layers one by one")
  eq(tostring(nn.Sequential(a, b, c)), tostring(nn.Sequential{a, b, c}))
  -- branches of 2 and 4 channels on 3x8x8: 6x8x8
  eq(table.concat(nn.Concat(nn.Conv2d(3, 2, 1), nn.Conv2d(3, 4, 1)):out_shape{3, 8, 8}, "x"), "6x8x8")
  eq(table.concat(nn.Concat(nn.Linear(3, 2), nn.Linear(3, 4), {dim = 1}):out_shape{3}, "x"), "6")
  eq(#nn.Concat(nn.ReLU(), nn.ReLU()), 2)
end)

test("anything else is refused, naming the container and the argument", function()
  local a = nn.ReLU()
  expect_error(function() return nn.Sequential(a, 5) end, "Sequential: argument 2 is a number, not a module")
  expect_error(function() return nn.Sequential(a, {}) end, "Sequential: argument 2 is a table, not a module")
  expect_error(function() return nn.Sequential(5) end, "Sequential: modules expected", "got a number")
  expect_error(function() return nn.Sequential() end, "Sequential: modules expected", "got nothing")
  expect_error(function() return nn.Sequential(zeros(2)) end, "got a tensor")
  expect_error(function() return nn.Sequential({a}, a) end, "Sequential: after the list of modules, got a module")
  expect_error(function() return nn.Sequential{a, nil, a} end, "Sequential: the list of modules has a hole at 2")
  expect_error(function() return nn.Sequential{a, x = a} end, "Sequential: the list has a field 'x'")
  expect_error(function() return nn.Concat(a, a, 7) end, "Concat: argument 3 is a number, not a module")
  expect_error(function() return nn.Concat(a, {dim = 2}, a) end, "Concat: argument 2 is a table")
  expect_error(function() return nn.Concat({a}, {dimm = 1}) end, "Concat: unknown option 'dimm' (known: dim)")
  expect_error(function() return nn.Concat({a}, 3) end, "Concat: the options must be a table")
  expect_error(function() return nn.Residual(a, a) end, "Residual: one block")
  expect_error(function() return nn.Residual(a, 3) end, "Residual: the options must be a table")
  expect_error(function() return nn.Residual(a, {projecton = a}) end, "Residual: unknown option 'projecton'")
end)

-- ---- issue 20.4: modules that reach themselves; shared modules ---------------

local Block = nn.class("OwnedBlock")
function Block:init() self.fc = nn.Linear(2, 2) self.fc.owner = self end   -- the child points back
function Block:compute(x) return self.fc(x) end
function Block:out_shape(s) return s end

test("a shared module's parameters are counted and updated once", function()
  seed(2)
  local shared = nn.Linear(2, 2)
  local net = nn.Sequential(shared, nn.ReLU(), shared)
  -- PyTorch's named_parameters gives weight and bias once: 2 tensors, 6 values
  eq(#net:parameters(), 2)
  eq(net:named_parameters()[1][1], "1.weight")
  eq(net:count_parameters(), 6)
  eq(summary(net, {2}, {quiet = true}).total.params, 6)
  -- one SGD step moves the weight by lr * its gradient once, not twice
  local x = tensor{1, 2}
  local L = net(x):sum()
  L:backward()
  local w0, g = shared.weight:clone(), shared.weight.grad:clone()
  optim.SGD(net:parameters(), {lr = 0.5}):step()
  tensor_eq(shared.weight:detach(), (w0:detach() - g * 0.5):totable(), 1e-12)
  eq(#tostring(net):gsub("[^\n]", ""), 4)   -- 5 lines: the shared leaf prints at each place, as in PyTorch
end)

test("a child that points back at its parent: walks visit each module once", function()
  local b = Block()
  eq(#b:parameters(), 2)                 -- fc.weight, fc.bias
  eq(b:named_parameters()[1][1], "fc.weight")
  eq(b:count_parameters(), 6)
  b:zero_grad()
  b:eval(); eq(b.training, false); eq(b.fc.training, false)
  b:train(); eq(b.fc.training, true)
  eq(tostring(b), "OwnedBlock(\n  (fc): Linear(\n    (owner): OwnedBlock (the same module as the top)\n  )\n)")
  eq(b(tensor{1, 2}):numel(), 2)
  eq(#optim.SGD(b:parameters(), {lr = 0.1}).params, 2)
  eq(summary(b, {2}, {quiet = true}).total.params, 6)
end)

test("a true cycle in the forward is an error naming the path", function()
  local s = nn.Sequential(nn.ReLU())
  rawset(s, 2, s)   -- a container holding itself
  expect_error(function() return s(tensor{1}) end,
    "Sequential: the forward goes round a cycle: Sequential[2] is Sequential itself")
  local inner = nn.Sequential(nn.ReLU())
  local outer = nn.Sequential(inner)
  rawset(inner, 2, outer)
  expect_error(function() return outer(tensor{1}) end, "the forward goes round a cycle: Sequential[1][2] is Sequential itself")
  eq(#s:parameters(), 0)
  eq(tostring(s), "Sequential(\n  (1): ReLU()\n  (2): Sequential (the same module as the top)\n)")
end)

-- ---- issue 20.6: the forward at depth 1,000 ----------------------------------

test("a forward through containers nested 1,000 deep works, and its error is one line", function()
  local net = nn.ReLU()
  for _ = 1, 1000 do net = nn.Sequential(net) end
  tensor_eq(net(tensor{-1, 2}), {0, 2})
  eq(#net:parameters(), 0)
  local bad = nn.Linear(3, 1)
  for _ = 1, 1000 do bad = nn.Sequential(bad) end
  local err = expect_error(function() return bad(tensor{1, 2}) end,
    "layer 1.1.1.1. ... .1.1.1.1 (1000 levels deep) (Linear(in_features=3, out_features=1, bias=true)) (input 2): linear:")
  eq(err:find("\n"), nil)
  assert(#err < 300, "a short message: " .. #err .. " bytes")
end)

test("printing a deep chain stays short: past 32 levels a container is Name(...)", function()
  local net = nn.ReLU()
  for _ = 1, 20000 do net = nn.Sequential(net) end
  local text = tostring(net)
  assert(#text < 5000, "short: " .. #text)
  assert(text:find("Sequential(... 1 child, not shown past 32 levels)", 1, true), text:sub(1, 200))
end)

-- ---- issue 20.5: every public entry point names itself --------------------------

test("errors name the function called and the argument, never '?' or an internal name", function()
  -- nn.MSELoss(5) said "bad argument #1 to 'for iterator' (table expected, got number)"
  expect_error(function() return nn.MSELoss(5) end, "MSELoss: settings go in a table")
  expect_error(function() return nn.Conv2d(1, 1, 1, zeros(1)) end, "Conv2d: setting 1 (stride) is a tensor")
  expect_error(function() return optim.SGD({tensor{1}:requires_grad()}, 5) end, "optim.SGD: the options must be a table")
  expect_error(function() return summary(nn.ReLU(), {2}, 5) end, "summary: the options must be a table")
  -- cmul(1, 2) said "cannot combine a number with a number"
  expect_error(function() return cmul(1, 2) end, "cmul: needs a tensor, got two numbers")
  expect_error(function() return cdiv("a", {}) end, "cdiv: needs a tensor, got a string and a table")
  -- a method called with no name Lua can see was '?'
  local ok, err = pcall(zeros(2).exp, "s")   -- called by pcall: no name in the caller's code
  eq(ok, false)
  eq(err, "bad argument #1 to 'nncalc.Tensor.exp' (tensor expected, got string)")
  -- a closed tensor: printing says so; using it names the use
  local c = zeros(2)
  do local closing <close> = c end
  eq(tostring(c), "[closed tensor]")
  expect_error(function() return c + 1 end, "add: the tensor has been closed")
  expect_error(function() return c[1] end, "index: the tensor has been closed")
  ok, err = pcall(c.exp, c)
  eq(err, "bad argument #1 to 'nncalc.Tensor.exp' (tensor has been closed)")
  -- the finalizer called by hand: on anything but a tensor it refuses, and
  -- a second close of the same tensor is harmless
  local fin = getmetatable(zeros(1)).__gc
  ok, err = pcall(fin, {})
  eq(err, "bad argument #1 to '?' (nncalc.Tensor expected, got table)")
  ok, err = pcall(fin, io.stdout)
  eq(err, "bad argument #1 to '?' (nncalc.Tensor expected, got FILE*)")
  eq(pcall(fin, c), true)
  eq(tostring(c), "[closed tensor]")
  -- a raw Lua error inside nncalc's own code names the public function it came from
  expect_error(function() return nn.ReLU():out_shape(5) end, "ReLU:out_shape: ")
  -- the target table of a loss is named as such
  expect_error(function() return mse_loss(zeros(2), {{1}, 2}) end, "mse_loss: the target table: tensor:")
  expect_error(function() return matmul(zeros(2, 3), zeros(2)) end, "matmul (as mv): size mismatch")
  -- a huge __len in index_select says which argument is too large
  expect_error(function() return zeros(3):index_select(1, setmetatable({}, {__len = function() return 1e12 end})) end,
    "bad argument #2 to 'index_select' (1000000000000 indices")
end)

test("summary walks 1,000 nested containers; a model holding itself is named", function()
  local net = nn.Linear(4, 2)
  for _ = 1, 1000 do net = nn.Sequential(net) end
  eq(summary(net, {4}, {quiet = true}).total.params, 10)   -- 4*2 + 2
  local bad = nn.Linear(3, 1)
  for _ = 1, 1000 do bad = nn.Sequential(bad) end
  local err = expect_error(function() return summary(bad, {2}, {quiet = true}) end,
    "summary: layer 1.1.1.1. ... .1.1.1.1 (1000 levels deep) (Linear(in_features=3, out_features=1, bias=true))")
  assert(#err < 300, "one short line: " .. #err)
  local s = nn.Sequential(nn.ReLU())
  rawset(s, 2, s)
  expect_error(function() return summary(s, {2}, {quiet = true}) end,
    "summary: layer 2 (Sequential( ...) contains itself (it is the whole model)")
end)
