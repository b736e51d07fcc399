-- The module contract as summary reads it: user layers with children, own
-- parameters, no cost hook, names that look like ours; neurons counted once;
-- the returned table under the printed column names.

local function rows_named(s, pattern)
  local out = {}
  for _, r in ipairs(s) do if r.name:find(pattern) then out[#out + 1] = r end end
  return out
end

test("a user block of four Linear(4,4) children: 80 parameters, marked not counted", function()
  local Attn = nn.class("SelfAttention")
  function Attn:init(d)
    self.q, self.k, self.v, self.o = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
  end
  Attn.out_shape = nn.Module.same_shape
  local s = summary(Attn(4), {3, 4}, { quiet = true })
  eq(s.total.params, 4 * (4 * 4 + 4), "4·(4·4 + 4)")
  eq(s.total.partial, 1)
  eq(s[1].not_counted, "SelfAttention defines no cost")
  local text = tostring(s)
  eq(text:find("not counted: SelfAttention defines no cost", 1, true) ~= nil, true, text)
  eq(text:find("total (partial)", 1, true) ~= nil, true, text)
  -- with a cost hook it is counted like any layer: 4 products of 3x4 by 4x4
  function Attn:cost(shape) local n = shape[1]; return { macs = 4 * n * 16, mults = 4 * n * 16 } end
  s = summary(Attn(4), {3, 4}, { quiet = true })
  eq(s.total.params, 80); eq(s.total.macs, 192); eq(s.total.partial, nil)
  s = summary(Attn(4), {3, 4}, { quiet = true, compare = true })
  eq(s.compare.fvcore, 0, "a counter that does not know the layer counts nothing")
end)

test("own parameters without a cost hook; a class named MyPool", function()
  local Scale = nn.class("Scale")
  function Scale:init(n) self:param("gamma", { n }, "ones") end
  function Scale:compute(x) return x:cmul(self.gamma) end
  Scale.out_shape = nn.Module.same_shape
  local MyPool = nn.class("MyPool")
  function MyPool:compute(x) return max_pool2d(x, 2) end
  function MyPool:out_shape(s) return { s[1], s[2] // 2, s[3] // 2 } end
  function MyPool:cost(s, out) return { comps = out[1] * out[2] * out[3] * 3 } end
  function MyPool:window() return { k = 2, s = 2, p = 0, d = 1 } end
  local net = nn.Sequential{ nn.Conv2d(1, 2, 3, { padding = 1 }), MyPool(), nn.Flatten(), Scale(2 * 4 * 4) }
  local s = summary(net, {1, 8, 8}, { quiet = true, compare = true })
  eq(s.total.params, (2 * 9 + 2) + 32)
  eq(s.total.comps, 2 * 4 * 4 * 3)
  eq(s.total.partial, 1, "Scale defines no cost")
  eq(s[3].rf[1].r, 4, "MyPool's window: 3 + (2-1)·1")
  eq(s.compare.fvcore, 2 * 64 * 9, "only the conv")
  eq(#rows_named(s, "^Scale"), 1)
  -- a class without a window makes the field unknown, not the identity
  local Odd = nn.class("Odd")
  function Odd:compute(x) return x end
  Odd.out_shape = nn.Module.same_shape
  function Odd:cost() return {} end
  local s2 = summary(nn.Sequential{ Odd(), nn.Conv2d(1, 1, 3) }, {1, 8, 8}, { quiet = true })
  eq(s2[#s2].rf[1].unknown, true)
end)

test("neurons: an activation after a layer adds none; neurons='all' counts every module", function()
  -- LeNet-style Conv2d(1,6,5), ReLU, MaxPool2d(2) at 32x32: 6·28·28 + 6·14·14
  local net = nn.Sequential{ nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2) }
  local s = summary(net, {1, 32, 32}, { quiet = true, columns = { "out", "neurons" } })
  eq(s.total.neurons, 4704 + 1176)
  eq(s[3].neurons, 0); eq(s[3].same_neurons, true)
  eq(tostring(s):find("(same)", 1, true) ~= nil, true)
  eq(tostring(s):find("counted once", 1, true) ~= nil, true, "the convention is stated")
  eq(summary(net, {1, 32, 32}, { quiet = true, neurons = "all" }).total.neurons, 2 * 4704 + 1176)
  -- the same rule for dropout, batch norm, softmax, flatten
  local mlp = nn.Sequential{ nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Tanh(), nn.Dropout(0.5), nn.Linear(3, 2), nn.Softmax() }
  eq(summary(mlp, {5, 4}, { quiet = true }).total.neurons, 5 * 3 + 5 * 2)
end)

test("the returned table carries every printed column under its name", function()
  local net = nn.Sequential{ nn.Linear(3, 2), nn.ReLU() }
  local s = summary(net, {3}, { quiet = true })
  -- adds: 2 outputs · (3 − 1) + 2 for the bias = 6, as printed
  eq(s.total.adds, 6); eq(s[2].adds, 6); eq(s[2].bias_adds, 2)
  eq(summary(net, {3}, { quiet = true, bias = false }).total.adds, 4)
  eq(s.total.params, 8); eq(s.total.mults, 6); eq(s.total.macs, 6); eq(s.total.acts, 2)
  eq(s.total.adds_total, nil, "one name per column")
end)

test("containers are whatever defines analyse, not a class name", function()
  local Twice = nn.class("Twice")
  function Twice:init(m) self.inner = m end
  function Twice:compute(x) return self.inner(self.inner(x)) end
  function Twice:out_shape(s) return self.inner:out_shape(self.inner:out_shape(s)) end
  function Twice:analyse(s, visit) return visit(self.inner, visit(self.inner, s, "first"), "second") end
  local s = summary(Twice(nn.Conv2d(1, 1, 3, { padding = 1 })), {1, 8, 8}, { quiet = true })
  eq(s.total.params, 10, "a shared module's parameters once")
  eq(s.total.macs, 2 * 64 * 9, "its work twice")
  eq(s[1].rf[1].r, 5, "two 3x3 windows")
  eq(s[2].index, "first"); eq(s[3].index, "second")
end)

test("one printer: the same values print the same in traces, optimizer steps, checks and lessons", function()
  local fmt = require("nncalc.format")
  eq(fmt.num(-0.0), "0"); eq(fmt.num(16), "16"); eq(fmt.num(1 / 3), "0.333333"); eq(fmt.num(0 / 0), "nan")
  eq(fmt.inline(tensor{{1, 1}, {1, 1}}), "[1 1; 1 1]")
  eq(fmt.inline(tensor{16, 12, -4}), "(16, 12, -4)")
  local a, b = fmt.apart(0.1, 0.1000001)
  eq(a, "0.1"); eq(b, "0.1000001", "enough digits to tell expected from got")
  -- a 2x2 gradient in a backward trace and in an optimizer step's trace
  local W = tensor{{1, 2}, {3, 4}}:requires_grad():name("W")
  local trace = capture(function() (W * tensor{1, 1}):sum():backward{trace = true} end)
  eq(trace:find("[1 1; 1 1]", 1, true) ~= nil, true, trace)
  local step = capture(function() optim.SGD({W}, {lr = 1}):step{trace = true} end)
  eq(step:find("[1 1; 1 1]", 1, true) ~= nil, true, step)
  -- no -0 anywhere: a tensor, a number, a trace
  eq(tostring(tensor{-0.0, 1}):find("-0", 1, true), nil)
  eq(capture(function() print(-0.0) end), "0\n")
end)

test("a forward trace walks a user's block through its children", function()
  local Block = nn.class("Block")
  function Block:init() self.fc1, self.fc2 = nn.Linear(2, 3), nn.Linear(3, 1) end
  function Block:compute(x) return self.fc2(relu(self.fc1(x))) end
  Block.out_shape = function(_, s) return { 1 } end
  local b = Block()
  local list = b:trace(tensor{1, 2})
  eq(#list, 3)
  eq(list[1].index, "fc1"); eq(list[2].index, "fc2"); eq(list[3].name, "Block")
  local net = nn.Sequential{ Block(), nn.ReLU() }
  list = net:trace(tensor{1, 2})
  eq(list[1].index, "1.fc1"); eq(list[3].index, "1"); eq(list[4].index, "2")
  -- the forward itself is unchanged afterwards
  eq(rawget(b.fc1, "forward"), nil)
end)

test("whole numbers computed as floats are whole for every layer that takes a size (one rule, Module.whole)", function()
  local d = 2 ^ 3   -- a float in Lua 5.4
  eq(nn.MultiheadAttention(d, 2.0)(randn(3, 8)):size(2), 8)
  eq(nn.LayerNorm(d)(randn(2, 8)):size(2), 8)
  eq(nn.GroupNorm(2.0, 4.0)(randn(1, 4, 3)):size(2), 4)
  eq(tostring(nn.LSTM(4.0, d)), "LSTM(4, 8)")
  eq(summary(models.gpt{d = 32.0, layers = 1.0, heads = 4, vocab = 65, context = 16}, {16}, {quiet = true}).total.out_shape[2], 65)
  for _, f in ipairs({ function() nn.LayerNorm(2.5) end, function() nn.MultiheadAttention(8, 2.5) end,
      function() nn.GroupNorm(2, 4.5) end, function() nn.Linear(0, 2) end }) do
    expect_error(f, "must be a positive whole number, got")
  end
end)
