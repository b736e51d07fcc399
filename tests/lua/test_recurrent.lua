-- Sequence layers: nn.RNN / nn.LSTM / nn.GRU and their cells against the
-- gate equations of PyTorch's documentation computed here in plain Lua
-- numbers (no tensor op), their gradients against finite differences for
-- every option, parameter counts against the closed form, and the BPTT
-- trace and Jacobian norms.

-- ---- a plain-number reference -----------------------------------------------

local function sig(v) return 1 / (1 + math.exp(-v)) end
local function th(v) local e = math.exp(-2 * math.abs(v)); local r = (1 - e) / (1 + e); return v < 0 and -r or r end
local function mv(W, v)
  local r = {}
  for i = 1, #W do
    local s = 0
    for j = 1, #v do s = s + W[i][j] * v[j] end
    r[i] = s
  end
  return r
end

-- one step of PyTorch's equations: p = {wih, whh, bih, bhh, act} as tables
local function ref_step(kind, p, x, h, c)
  local H = #h
  local a, b = mv(p.wih, x), mv(p.whh, h)
  for k = 1, #a do a[k] = a[k] + (p.bih and p.bih[k] or 0); b[k] = b[k] + (p.bhh and p.bhh[k] or 0) end
  local hn, cn = {}, {}
  for j = 1, H do
    if kind == "RNN" then
      hn[j] = p.act(a[j] + b[j])
    elseif kind == "LSTM" then
      local i, f = sig(a[j] + b[j]), sig(a[H + j] + b[H + j])
      local g, o = th(a[2 * H + j] + b[2 * H + j]), sig(a[3 * H + j] + b[3 * H + j])
      cn[j] = f * c[j] + i * g
      hn[j] = o * th(cn[j])
    else
      local r, z = sig(a[j] + b[j]), sig(a[H + j] + b[H + j])
      local n = th(a[2 * H + j] + r * b[2 * H + j])
      hn[j] = (1 - z) * n + z * h[j]
    end
  end
  return hn, cn
end

local function tab(t) return t and t:detach():totable() end

local function ref_params(m, suffix)
  local single = m.bias_mode == "single"
  return { wih = tab(m["weight_ih" .. suffix]), whh = tab(m["weight_hh" .. suffix]),
    bih = m.bias_mode and tab(m[(single and "bias" or "bias_ih") .. suffix]),
    bhh = m.bias_mode == true and tab(m["bias_hh" .. suffix]) or nil,
    act = m.nonlinearity == "relu" and function(v) return math.max(v, 0) end or th }
end

-- the whole layer on x[t][n] (T x N x in), state zero: out[t][n], hn[k][n], cn[k][n]
local function ref_layer(kind, m, x)
  local T, N, H, D = #x, #x[1], m.hidden_size, m.directions
  local input, hn, cn = x, {}, {}
  for l = 0, m.num_layers - 1 do
    local out = {}
    for t = 1, T do out[t] = {} for n = 1, N do out[t][n] = {} end end
    for d = 1, D do
      local p = ref_params(m, "_l" .. l .. (d == 2 and "_reverse" or ""))
      local k = l * D + d
      hn[k], cn[k] = {}, {}
      for n = 1, N do
        local h, c = {}, {}
        for j = 1, H do h[j], c[j] = 0, 0 end
        local first, last, by = 1, T, 1
        if d == 2 then first, last, by = T, 1, -1 end
        for t = first, last, by do
          h, c = ref_step(kind, p, input[t][n], h, c)
          for j = 1, H do out[t][n][(d - 1) * H + j] = h[j] end
        end
        hn[k][n], cn[k][n] = h, c
      end
    end
    input = out
  end
  return input, hn, cn
end

local kinds = { RNN = 1, LSTM = 4, GRU = 3 }

-- ---- parameters ---------------------------------------------------------------------

test("parameter counts: gates x (h(in+h) + 2h) per layer and direction (PyTorch), + h with one bias", function()
  -- PyTorch: sum(p.numel() for p in nn.LSTM(10, 20).parameters()) == 2560
  local function count(m) local n = 0 for _, p in ipairs(m:parameters()) do n = n + p:numel() end return n end
  eq(count(nn.LSTM(10, 20)), 2560, "nn.LSTM(10, 20)")
  eq(count(nn.LSTM(10, 20, { bias = "single" })), 2480, "one bias per gate")
  for kind, G in pairs(kinds) do
    for _, o in ipairs({ { 1, false, true }, { 2, false, true }, { 2, true, true }, { 3, true, "single" }, { 2, true, false } }) do
      local L, bi, bias = o[1], o[2], o[3]
      local i, h = 7, 5
      local D, nb = bi and 2 or 1, bias == true and 2 or (bias and 1 or 0)
      local want = 0
      for l = 1, L do want = want + D * G * (h * ((l == 1 and i or D * h) + h) + nb * h) end
      local m = nn[kind](i, h, { num_layers = L, bidirectional = bi, bias = bias })
      eq(count(m), want, kind .. " L=" .. L .. " bidirectional=" .. tostring(bi) .. " bias=" .. tostring(bias))
      local s = summary(m, { 4, 2, i }, { quiet = true })
      eq(s.total.params, want, kind .. " in summary")
    end
  end
  -- PyTorch's names and shapes, in its order
  local names = {}
  local g = nn.GRU(3, 4, { num_layers = 2, bidirectional = true })
  for k, np in ipairs(g:named_parameters()) do names[k] = np[1] .. "=" .. table.concat(np[2]:shape(), "x") end
  eq(table.concat(names, " "), "weight_ih_l0=12x3 weight_hh_l0=12x4 bias_ih_l0=12 bias_hh_l0=12 "
    .. "weight_ih_l0_reverse=12x3 weight_hh_l0_reverse=12x4 bias_ih_l0_reverse=12 bias_hh_l0_reverse=12 "
    .. "weight_ih_l1=12x8 weight_hh_l1=12x4 bias_ih_l1=12 bias_hh_l1=12 "
    .. "weight_ih_l1_reverse=12x8 weight_hh_l1_reverse=12x4 bias_ih_l1_reverse=12 bias_hh_l1_reverse=12", "names")
  local c = nn.LSTMCell(3, 2, { bias = "single" })
  names = {}
  for k, np in ipairs(c:named_parameters()) do names[k] = np[1] end
  eq(table.concat(names, " "), "weight_ih weight_hh bias", "a cell with one bias")
end)

test("initialisation: uniform in ±1/sqrt(hidden), every parameter", function()
  seed(3)
  local m = nn.LSTM(5, 16, { num_layers = 2 })
  for _, np in ipairs(m:named_parameters()) do
    local p = np[2]:detach()
    local top = math.max(p:max(), -p:min())
    eq(top <= 0.25, true, np[1] .. " within 1/sqrt(16)")
    eq(top > 0.2, true, np[1] .. " spread over the range")
  end
end)

-- ---- forward values -----------------------------------------------------------------

local function check_layer(kind, opts, T, N)
  seed(11)
  local m = nn[kind](3, 2, opts)
  local x = randn(T, N, 3)
  local rx = x:totable()
  local want_out, want_hn, want_cn = ref_layer(kind, m, rx)
  local input = opts.batch_first and x:transpose(1, 2):contiguous() or x
  local out, st = m(input)
  out = out:detach()
  local hn = (kind == "LSTM" and st[1] or st):detach()
  if opts.batch_first then out = out:transpose(1, 2) end
  local what = kind .. " " .. m:extra_repr()
  tensor_eq(out, want_out, 1e-12, what .. " output")
  tensor_eq(hn, want_hn, 1e-12, what .. " h_n")
  if kind == "LSTM" then tensor_eq(st[2]:detach(), want_cn, 1e-12, what .. " c_n") end
  -- one unbatched sequence {T, in} gives the same as a batch of one
  local o1, s1 = m(x:select(2, 1):contiguous())
  tensor_eq(o1:detach(), tensor(want_out):select(2, 1):totable(), 1e-12, what .. " unbatched output")
  tensor_eq((kind == "LSTM" and s1[1] or s1):detach(), tensor(want_hn):select(2, 1):totable(), 1e-12,
    what .. " unbatched h_n")
end

test("forward values match PyTorch's gate equations for every option", function()
  for kind in pairs(kinds) do
    check_layer(kind, {}, 4, 2)
    check_layer(kind, { bias = "single" }, 3, 2)
    check_layer(kind, { bias = false }, 3, 1)
    check_layer(kind, { bidirectional = true }, 3, 2)
    check_layer(kind, { num_layers = 2, bidirectional = true, batch_first = true }, 3, 2)
    check_layer(kind, { num_layers = 3 }, 2, 2)
  end
  check_layer("RNN", { nonlinearity = "relu", num_layers = 2 }, 4, 2)
end)

test("a hand-computed LSTM step: 1 unit, all weights 1, x = 1, zero state", function()
  -- a = W_ih x + b_ih + W_hh h + b_hh = 1 + 1 + 0 + 1 = 3 for every gate:
  -- i = f = o = σ(3), g = tanh 3, c = f·0 + i·g = σ(3)·tanh(3) = 0.947863...,
  -- h = o·tanh(c) = σ(3)·tanh(σ(3)·tanh(3))
  local m = nn.LSTMCell(1, 1)
  for _, np in ipairs(m:named_parameters()) do np[2]:detach():fill(1) end
  local h, c = m(tensor{1})
  local s, t3 = 1 / (1 + math.exp(-3)), (math.exp(6) - 1) / (math.exp(6) + 1)
  near(c:detach()[1], s * t3, 1e-12, "c")
  near(c:detach()[1], 0.947863, 1e-6, "c to 6 places")
  local tc = (math.exp(2 * s * t3) - 1) / (math.exp(2 * s * t3) + 1)
  near(h:detach()[1], s * tc, 1e-12, "h")
end)

test("the cells: one step of the layer's equations, with a given state", function()
  for kind in pairs(kinds) do
    for _, bias in ipairs({ true, "single", false }) do
      seed(5)
      local cell = nn[kind .. "Cell"](3, 2, { bias = bias })
      local x, h0, c0 = randn(2, 3), randn(2, 2), randn(2, 2)
      local p = ref_params(cell, "")
      local h, c = cell(x, kind == "LSTM" and { h0, c0 } or h0)
      for n = 1, 2 do
        local wh, wc = ref_step(kind, p, x[n]:totable(), h0[n]:totable(), c0[n]:totable())
        tensor_eq(h:detach()[n], wh, 1e-12, kind .. "Cell h' bias=" .. tostring(bias))
        if kind == "LSTM" then tensor_eq(c:detach()[n], wc, 1e-12, "LSTMCell c'") end
      end
    end
  end
end)

test("sequences longer than 64 steps (stack takes 64 tensors at a time)", function()
  seed(31)
  local m = nn.GRU(2, 2, { num_layers = 2, bidirectional = true })
  local x = randn(150, 1, 2)
  local out, hn = m(x)
  local want_out, want_hn = ref_layer("GRU", m, x:totable())
  tensor_eq(out:detach(), want_out, 1e-12, "150 steps")
  tensor_eq(hn:detach(), want_hn, 1e-12, "h_n")
end)

test("an initial state is used, and LSTM's (h_n, c_n) feeds the next call", function()
  seed(8)
  local m = nn.LSTM(2, 3, { bidirectional = true })
  local x = randn(6, 2)
  local full = m(x)
  -- the forward direction over 6 steps = 3 steps, then 3 more from the state
  local f = nn.LSTM(2, 3)
  for _, n in ipairs({ "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0" }) do f[n]:detach():copy(m[n]:detach()) end
  local _, st = f(x:narrow(1, 1, 3))
  local o2 = f(x:narrow(1, 4, 3), st)
  tensor_eq(o2:detach(), full:detach():narrow(1, 4, 3):narrow(2, 1, 3):totable(), 1e-12, "continued from (h_n, c_n)")
  expect_error(function() return f(x, { zeros(2, 3) }) end, "LSTM(2, 3)", "h0 must be a tensor of shape 1x3, got 2x3")
end)

test("dropout between layers, as PyTorch: in training only, never after the last layer", function()
  seed(30)
  local m = nn.GRU(3, 4, { num_layers = 2, dropout = 0.5 })
  local x = randn(5, 2, 3)
  local ref = ref_layer("GRU", m, x:totable())
  m:eval()
  tensor_eq(m(x):detach(), ref, 1e-12, "eval: no dropout")
  m:train()
  local y = m(x):detach()
  eq((y - tensor(ref)):abs():max() > 1e-6, true, "training: the second layer reads a dropped-out input")
  -- one layer: nothing to drop
  local one = nn.RNN(3, 4, { dropout = 0.5 })
  tensor_eq(one(x):detach(), ref_layer("RNN", one, x:totable()), 1e-12, "one layer")
  eq(tostring(m), "GRU(3, 4, num_layers=2, dropout=0.5)", "repr")
  expect_error(function() return nn.LSTM(2, 2, { dropout = 1 }) end, "LSTM: dropout must be a probability in [0, 1)")
end)

-- ---- gradients ------------------------------------------------------------------------

-- gradcheck of a weighted sum of every output, through the input, the
-- initial state and every parameter
local function grad_all(m, x, state, what)
  local names, inputs = {}, { x }
  for _, np in ipairs(m:named_parameters()) do names[#names + 1] = np[1]; inputs[#inputs + 1] = np[2] end
  local ns = 0
  if state then
    for _, s in ipairs(nncalc.is_tensor(state) and { state } or state) do inputs[#inputs + 1] = s; ns = ns + 1 end
  end
  seed(99)
  local weights
  local function f(xx, ...)
    local all = { ... }
    for k, n in ipairs(names) do rawset(m, n, all[k]) end
    local st
    if ns == 1 and nncalc.is_tensor(state) then st = all[#names + 1]
    elseif ns > 0 then st = { all[#names + 1], all[#names + 2] } end
    local outs = table.pack(m(xx, st))
    local flat = {}
    for _, o in ipairs(outs) do
      if nncalc.is_tensor(o) then flat[#flat + 1] = o else for _, v in ipairs(o) do flat[#flat + 1] = v end end
    end
    if not weights then
      weights = {}
      for k, o in ipairs(flat) do weights[k] = randn(table.unpack(o:shape())) end
    end
    local L = 0
    for k, o in ipairs(flat) do L = L + o:cmul(weights[k]):sum() end
    return L
  end
  local ok, msg = gradcheck(f, inputs, { quiet = true })
  eq(ok, true, what .. ": " .. msg)
end

test("gradcheck: every layer, direction and option, and every cell", function()
  for kind in pairs(kinds) do
    for _, o in ipairs({ {}, { bias = "single" }, { bias = false }, { bidirectional = true },
        { num_layers = 2, batch_first = true }, { num_layers = 2, bidirectional = true } }) do
      seed(21)
      local m = nn[kind](2, 2, o)
      local LD = (o.num_layers or 1) * (o.bidirectional and 2 or 1)
      local x = o.batch_first and randn(2, 3, 2) or randn(3, 2, 2)
      local state = kind == "LSTM" and { randn(LD, 2, 2), randn(LD, 2, 2) } or randn(LD, 2, 2)
      grad_all(m, x, state, kind .. "(" .. m:extra_repr() .. ")")
    end
    seed(22)
    grad_all(nn[kind](2, 3), randn(3, 2), nil, kind .. " unbatched, zero state")
    for _, bias in ipairs({ true, "single", false }) do
      local cell = nn[kind .. "Cell"](2, 3, { bias = bias })
      grad_all(cell, randn(2, 2), kind == "LSTM" and { randn(2, 3), randn(2, 3) } or randn(2, 3), kind .. "Cell")
    end
  end
  grad_all(nn.RNN(2, 2, { nonlinearity = "relu" }), randn(3, 2, 2), nil, "RNN relu")
  grad_all(nn.RNNCell(2, 2, { nonlinearity = "relu" }), randn(2), randn(2), "RNNCell relu, unbatched")
  grad_all(nn.LSTMCell(2, 2), randn(2), nil, "LSTMCell unbatched, zero state")
end)

-- ---- bad input --------------------------------------------------------------------------

test("misuse is a Lua error naming the layer, the argument and the shapes", function()
  expect_error(function() return nn.LSTM(0, 2) end, "LSTM: input_size must be a positive whole number, got 0")
  expect_error(function() return nn.GRUCell(2.5, 2) end, "GRUCell: input_size must be a positive whole number, got 2.5")
  eq(#nn.LSTM(2.0, 2 ^ 2, { num_layers = 2.0 }):parameters(), 8, "whole numbers computed as floats count")
  eq(nn.LSTM(2.0, 2 ^ 2):extra_repr(), "2, 4", "and print as integers")
  expect_error(function() return nn.GRU(2, 2, { nonlinearity = "relu" }) end, "GRU: nonlinearity applies to RNN only")
  expect_error(function() return nn.RNN(2, 2, { bias = "double" }) end, 'RNN: bias must be true', '"single"')
  expect_error(function() return nn.LSTM(2, 2, { layers = 2 }) end, "LSTM: unknown option 'layers'", "num_layers")
  expect_error(function() return nn.LSTM(2, 2)(zeros(3, 4)) end, "LSTM(2, 2) (input 3x4)", "{T, 2}, or {T, N, 2}")
  expect_error(function() return nn.GRU(2, 2, { batch_first = true })(zeros(3)) end, "{N, T, 2}")
  expect_error(function() return nn.RNN(2, 2)(zeros(3, 1, 2), zeros(1, 2, 2)) end, "h0 must be a tensor of shape 1x1x2, got 1x2x2")
  expect_error(function() return nn.LSTMCell(2, 2)(zeros(2), zeros(2)) end, "LSTMCell(2, 2)", "the state must be a table {h, c}")
  expect_error(function() return nn.LSTM(3, 2)(zeros(0, 3)) end, "the sequence is empty (T = 0)")
  expect_error(function() return nn.LSTM(3, 2, { bidirectional = "yes" }) end, "bidirectional must be true or false")
  expect_error(function() return bptt_norms(nn.GRU(3, 2), zeros(3, 2)) end, "x must be {T, 3} for GRU(3, 2), got 3x2")
  expect_error(function() return nn.Embedding(4, 2)("a") end, "Embedding(4, 2): the input must be a tensor or table of indices")
  expect_error(function() return summary(nn.LSTM(3, 2), { 3, 224, 224 }, { quiet = true }) end,
    "is not a sequence {T, 3} or {T, N, 3}")
end)

-- ---- against PyTorch itself ----------------------------------------------------------------

-- Recorded from PyTorch 1.13.1 (Debian python3-torch), float64:
--   m = nn.<KIND>(2, 3, num_layers=2, bidirectional=True)
--   every parameter p named `name`: p.flat[k] = 0.5·sin(k + 1 + len(name)), k = 0 ..
--   x = cos(k + 1) for k = 0..7, shape (4, 1, 2); out, st = m(x); out.sum().backward()
local torch_figures = {
  LSTM = { out = { -0.229764356085, -0.300463586365, 0.258113763679, -0.121326163621, 0.097965413584, 0.113262197823 },
    hn = { -0.294725678563, -0.027709946884, -0.229764356085, -0.182025064829 },
    dwhh = { -0.015077818571, 0.005477048975, -0.001422390376 } },
  GRU = { out = { -0.320119293395, -0.200377653879, 0.591169156744, -0.377983007852, 0.073028688091, 0.260834791301 },
    hn = { -0.396675040922, -0.172343017606, -0.320119293395, -0.62354645908 },
    dwhh = { -0.008291552927, 0.030512194625, -0.036113916641 } },
  RNN = { out = { -0.987138396998, -0.443757799702, -0.578407837652, -0.136523415136, 0.384078179851, 0.147094085855 },
    hn = { -0.856620526027, -0.031762322735, -0.987138396998, -0.367516872163 },
    dwhh = { -0.989935926173, -1.204138464696, 1.059808051009 } },
}

test("the same numbers as PyTorch 1.13: 2 layers, bidirectional, outputs, h_n and dL/dW_hh", function()
  for kind, want in pairs(torch_figures) do
    local m = nn[kind](2, 3, { num_layers = 2, bidirectional = true })
    for _, np in ipairs(m:named_parameters()) do
      local p = np[2]:detach()
      local flat = p:view(p:numel())
      for k = 0, p:numel() - 1 do flat[{ k + 1 }] = 0.5 * math.sin(k + 1 + #np[1]) end
    end
    local xs = {}
    for k = 0, 7 do xs[k + 1] = math.cos(k + 1) end
    local x = tensor(xs):reshape(4, 1, 2)
    local out, st = m(x)
    local hn = kind == "LSTM" and st[1] or st
    tensor_eq(out:detach()[4][1], want.out, 1e-10, kind .. " out[4]")
    tensor_eq(hn:detach():select(3, 1):select(2, 1), want.hn, 1e-10, kind .. " h_n[:, 1, 1]")
    out:sum():backward()
    tensor_eq(m.weight_hh_l0.grad:narrow(1, 1, 3):select(2, 1), want.dwhh, 1e-10, kind .. " dL/dweight_hh_l0")
  end
end)
