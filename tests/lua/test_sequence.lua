-- Sequences through the rest of nncalc: nn.Linear on the last dim, nn.Embedding,
-- summary's counts for recurrent layers (closed forms written out here),
-- backprop-through-time traces and the Jacobian norms of bptt_norms.

test("nn.Linear applies to the last dim of {T, N, in}, forward and backward, as PyTorch", function()
  seed(4)
  local lin = nn.Linear(3, 2)
  local x = randn(4, 5, 3)
  local y = lin(x)
  eq(table.concat(y:shape(), "x"), "4x5x2", "shape")
  -- row by row: y[t][n] = W x[t][n] + b
  local W, b = lin.weight:detach(), lin.bias:detach()
  for t = 1, 4 do
    for n = 1, 5 do tensor_eq(y:detach()[t][n], (W * x[t][n] + b):totable(), 1e-12, "row " .. t .. "," .. n) end
  end
  local ok, msg = gradcheck(function(xx, w, bb) return linear(xx, w, bb):cmul(x:narrow(3, 1, 2)):sum() end,
    { x, W, b }, { quiet = true })
  eq(ok, true, msg)
  eq(table.concat(lin:out_shape{ 2, 7, 3 }, "x"), "2x7x2", "out_shape")
  local s = summary(nn.Sequential{ nn.Linear(3, 2) }, { 2, 7, 3 }, { quiet = true })
  eq(s.total.macs, 2 * 7 * 2 * 3, "MACs: N·T·out·in")
  -- torchinfo's rule (layer_info.py): the parameters x output_size[0], the first dim only
  eq(lin:counters({ in_shape = { 2, 7, 3 }, out_shape = { 2, 7, 2 }, in_n = 42, out_n = 28, macs = 84 }).torchinfo,
    2 * 8, "torchinfo for {N, T, in}")
  expect_error(function() return lin(zeros(4, 5, 2)) end, "does not fit weight 2x3")
end)

test("nn.Embedding: rows by 1-based index, scatter-add backward, padding_idx, lookups not MACs", function()
  seed(6)
  local e = nn.Embedding(6, 3)
  local W = e.weight:detach()
  local y = e(tensor{{2, 5, 2}, {6, 1, 2}})
  eq(table.concat(y:shape(), "x"), "2x3x3", "{N, T} indices give N x T x dim")
  tensor_eq(y:detach()[1][3], W[2]:totable(), 0, "row 2")
  tensor_eq(y:detach()[2][1], W[6]:totable(), 0, "row 6")
  tensor_eq(e({ 4, 4 }):detach(), { W[4]:totable(), W[4]:totable() }, 0, "a table of indices")
  -- every output element's gradient is 1: a row gets one per time it was read
  y:sum():backward()
  tensor_eq(e.weight.grad, { { 1, 1, 1 }, { 3, 3, 3 }, { 0, 0, 0 }, { 0, 0, 0 }, { 1, 1, 1 }, { 1, 1, 1 } }, 0, "counts")
  local p = nn.Embedding(5, 2, { padding_idx = 1 })
  tensor_eq(p.weight:detach()[1], { 0, 0 }, 0, "the padding row starts at zero")
  p({ 1, 3, 1 }):sum():backward()
  tensor_eq(p.weight.grad, { { 0, 0 }, { 0, 0 }, { 1, 1 }, { 0, 0 }, { 0, 0 } }, 0, "no gradient into the padding row")
  local c = e:cost({ 8, 20 })
  eq(c.macs, 0, "0 MACs")
  eq(c.lookups, 160, "one lookup per index")
  eq(summary(e, { 8, 20 }, { quiet = true }).total.params, 18, "params num·dim")
  expect_error(function() return e({ 0 }) end, "Embedding(6, 3): index 0 at position 1 is not a whole number from 1 to 6")
  expect_error(function() return e(tensor{ 2.5 }) end, "index 2.5")
  expect_error(function() return nn.Embedding(5, 2, { padding_idx = 6 }) end, "padding_idx must be an index from 1 to 5")
end)

test("summary of recurrent layers: the closed forms per step, x T x N, parts that add up", function()
  local T, N, I, H = 7, 3, 10, 20
  for kind, G in pairs({ RNN = 1, LSTM = 4, GRU = 3 }) do
    local m = nn[kind](I, H)
    local c = m:cost({ T, N, I })
    eq(c.macs, T * N * G * H * (I + H), kind .. " MACs = T·N·gates·h·(in+h)")
    local acts = ({ RNN = 1, LSTM = 5, GRU = 3 })[kind]
    eq(c.acts, T * N * acts * H, kind .. " activations")
    eq(c.weights + c.biases, G * (H * (I + H) + 2 * H), kind .. " params")
    local k = m:counters({ in_shape = { T, N, I } })
    eq(k.fvcore, 0, "fvcore counts no recurrent layer")
    eq(k.torchinfo, (c.weights + c.biases) * T * N, "torchinfo: params x T x N")
    local sum = { macs = 0, mults = 0, adds = 0, acts = 0, bias_adds = 0 }
    for _, part in ipairs(c.parts) do for k in pairs(sum) do sum[k] = sum[k] + (part[k] or 0) end end
    for k, v in pairs(sum) do eq(v, c[k], kind .. " parts add up to " .. k) end
    eq(c.parts[1].weights + c.parts[1].biases + c.parts[2].weights + c.parts[2].biases, c.weights + c.biases,
      kind .. " the parts split the parameters")
    eq(c.parts[2].weights, G * H * H, kind .. " W_hh in the recurrent part")
    eq(c.saved, T * N * (I + H + G * H + ({ RNN = 0, LSTM = 2, GRU = 1 })[kind] * H), kind .. " saved for backward")
    eq(c.parts[1].macs, T * N * G * H * I, kind .. " input part")
    eq(c.parts[2].macs, T * N * G * H * H, kind .. " recurrent part")
    eq(c.note:find("two biases per gate", 1, true) ~= nil, true, "the convention is stated")
  end
  -- thop's LSTM: 4((in+h)h + h + 2h) + 4h per step and sample (thop/rnn_hooks.py)
  local k = nn.LSTM(I, H):counters({ in_shape = { T, N, I } })
  eq(k.thop, T * N * (4 * ((I + H) * H + H + 2 * H) + 4 * H), "thop")
  -- ptflops (pytorch_ops.py rnn_flops): 4h·in + 4h·h + 10h + both biases (8h) per step and sample
  eq(k.ptflops, T * N * (4 * H * I + 4 * H * H + 10 * H + 8 * H), "ptflops")
  eq(k.flop_counter, 2 * T * N * 4 * H * (I + H), "FlopCounterMode: 2 x the matrix products")
  eq(k.deepspeed, T * N * ((2 * 4 * H * I - 4 * H) + (2 * 4 * H * H - 4 * H) + 10 * H + 8 * H), "DeepSpeed")
  -- a second bidirectional layer reads 2h features
  local c2 = nn.GRU(I, H, { num_layers = 2, bidirectional = true }):cost({ T, N, I })
  eq(c2.macs, T * N * 2 * (3 * H * (I + H) + 3 * H * (2 * H + H)), "2 layers x 2 directions")
  eq(c2.weights + c2.biases, 2 * 3 * (H * (I + H) + 2 * H) + 2 * 3 * (H * (2 * H + H) + 2 * H), "params")
  local single = nn.LSTM(I, H, { bias = "single" }):cost({ T, I })
  eq(single.weights + single.biases, 2480, "one bias per gate")
  eq(single.note:find('bias="single"', 1, true) ~= nil, true, "says which convention")
  -- batch_first reads {N, T, in}
  eq(nn.RNN(I, H, { batch_first = true }):cost({ N, T, I }).macs, T * N * H * (I + H), "batch_first")
  -- an Embedding -> LSTM -> Linear stack on {N, T} token indices
  local net = nn.Sequential{ nn.Embedding(100, I), nn.LSTM(I, H, { batch_first = true }), nn.Linear(H, 5) }
  local s = summary(net, { N, T }, { quiet = true })
  eq(table.concat(s.total.out_shape, "x"), N .. "x" .. T .. "x5", "output shape")
  eq(s.total.params, 100 * I + 4 * (H * (I + H) + 2 * H) + 5 * H + 5, "params")
  -- explain=true writes the gate blocks and both parts with their numbers
  local text = capture(function() summary(nn.LSTM(10, 20), { T, N, 10 }, { explain = true }) end)
  for _, l in ipairs({ "params = 4 gate blocks (i, f, g, o) of 20·(10 + 20) + 2·20 = 640 each: 2,560",
      "input MACs = T·N · 4·20·10 = 7·3 · 800 = 16,800", "recurrent MACs = T·N · 4·20·20 = 33,600",
      "activations = T·N · 5·20 (σ for i, f, o; tanh for g and for c) = 2,100" }) do
    eq(text:find(l, 1, true) ~= nil, true, l)
  end
  -- a 3-D sequence is not an image: no receptive field along T and C
  local seq = summary(nn.Sequential{ nn.LSTM(I, H), nn.Linear(H, 2) }, { T, N, I }, { quiet = true })
  eq(next(seq[2].rf), nil, "no image axes for {T, N, C}")
  eq(seq[2].note:find("reads {T, N, in}", 1, true) ~= nil, true, "the layout is stated")
  -- image layers still read 3-D as C x H x W
  eq(table.concat(summary(nn.Conv2d(3, 8, 3), { 3, 32, 32 }, { quiet = true }).total.out_shape, "x"), "8x30x30", "images")
end)

-- ---- backprop through time ---------------------------------------------------------------

test("a 3-step RNN's trace names h[1..3] and shows W_hh's three shares, summing to its gradient", function()
  local w, wx, bi, bh = 0.8, 0.5, 0.1, -0.2
  bptt_rnn = nn.RNN(1, 1)
  bptt_rnn.weight_ih_l0:detach():fill(wx); bptt_rnn.weight_hh_l0:detach():fill(w)
  bptt_rnn.bias_ih_l0:detach():fill(bi); bptt_rnn.bias_hh_l0:detach():fill(bh)
  local xs, h0 = { 1, -1, 2 }, 0.3
  local out = bptt_rnn(tensor{ { 1 }, { -1 }, { 2 } }, tensor{ { h0 } })
  L = out:sum()
  local text = capture(function() L:backward{ trace = true } end)
  bptt_rnn, L = nil, nil
  -- by hand: h_t = tanh(wx·x_t + bi + w·h_{t-1} + bh), L = h_1 + h_2 + h_3
  local function tanh_(v) return (math.exp(2 * v) - 1) / (math.exp(2 * v) + 1) end
  local h = { [0] = h0 }
  for t = 1, 3 do h[t] = tanh_(wx * xs[t] + bi + w * h[t - 1] + bh) end
  local share, dh = {}, 1
  for t = 3, 1, -1 do
    local da = dh * (1 - h[t] ^ 2)
    share[t] = da * h[t - 1]
    dh = da * w + 1
  end
  for t = 1, 3 do
    eq(text:find("h[" .. t .. "] = tanh(a[" .. t .. "])", 1, true) ~= nil, true, "step h[" .. t .. "] named")
    local v = text:match("dL/dbptt_rnn%.weight_hh_l0 = %(dL/dhh%[" .. t .. "%]%)ᵀ · h%[" .. (t - 1) .. "%] = (%S+)\n")
    near(tonumber(v), share[t], 1e-5, "share of step " .. t)
    eq(text:find("weight_hh_l0.grad " .. (t == 3 and "=" or "+=") .. " dL/dbptt_rnn.weight_hh_l0   (the share from step "
      .. t .. ")", 1, true) ~= nil, true, "step " .. t .. "'s share line")
  end
  local total = text:match("total: dL/dbptt_rnn%.weight_hh_l0 = the sum of its 3 shares = (%S+)\n")
  near(tonumber(total), share[1] + share[2] + share[3], 1e-5, "the total")
end)

test("a hand-written loop's nodes are named by an indexed global table: h[1], h[2]", function()
  W_loop = tensor{ { 0.5, -0.3 }, { 0.2, 0.4 } }:requires_grad()
  h = { [0] = tensor{ 1, -1 } }
  local x = tensor{ { 1, 0 }, { 0, 1 }, { 1, 1 } }
  for t = 1, 3 do h[t] = tanh(W_loop * h[t - 1] + x[t]) end
  L = h[3]:sum()
  local text = capture(function() L:backward{ trace = true } end)
  W_loop, h, L = nil, nil, nil
  eq(text:find("h[3] = tanh(", 1, true) ~= nil, true, "h[3] named")
  eq(text:find("h[2] = tanh(", 1, true) ~= nil, true, "h[2] named")
  eq(text:find("mv(W_loop, h[1])", 1, true) ~= nil, true, "h[1] as an input")
  eq(text:find("mv(W_loop, h[0])", 1, true) ~= nil, true, "h[0], the given start")
  eq(text:find("W_loop.grad += dL/dW_loop   (the share through h[1])", 1, true) ~= nil, true, "a share by its path")
  eq(text:find("total: dL/dW_loop = the sum of its 3 shares", 1, true) ~= nil, true, "the total")
end)

test("an LSTM's trace names the cell and gates of each step", function()
  seed(9)
  local m = nn.LSTM(2, 2)
  local out = m(randn(3, 2))
  local text = capture(function() out:sum():backward{ trace = true } end)
  for _, n in ipairs({ "c[2] = add(", "i[2] = sigmoid(", "f[2] = sigmoid(", "g[2] = tanh(", "o[3] = sigmoid(", "h[1] = mul(" }) do
    eq(text:find(n, 1, true) ~= nil, true, n)
  end
end)

test("bptt_norms: dh_T/dh_t falls geometrically, x0.5 a step, when W_hh = 0.5 I and h stays 0", function()
  -- zero input, no bias: h_t = 0 for all t, so J_t = diag(1 - 0²)·W_hh = 0.5 I and
  -- dh_T/dh_t = 0.5^(T-t) I, of Frobenius norm sqrt(2)·0.5^(T-t)
  local r = nn.RNN(2, 2, { bias = false })
  r.weight_hh_l0:detach():copy(0.5 * eye(2))
  local list
  local text = capture(function() list = bptt_norms(r, zeros(6, 2)) end)
  eq(#list, 7, "t = 6 .. 0")
  for _, e in ipairs(list) do
    near(e.norm, math.sqrt(2) * 0.5 ^ (6 - e.t), 1e-12, "||dh_6/dh_" .. e.t .. "||")
    tensor_eq(e.J, (0.5 ^ (6 - e.t) * eye(2)):totable(), 1e-12, "the product itself")
  end
  eq(select(2, text:gsub("x0%.5\n", "")), 6, "the per-step ratio printed six times")
  -- the same from a hand-written step function
  local W = 0.5 * eye(2)
  local l2 = bptt_norms(function(x, hh) return tanh(W * hh + x) end, zeros(2), zeros(6, 2), { quiet = true })
  near(l2[7].norm, list[7].norm, 1e-12, "step function")
  -- the general case against the closed form J_t = diag(1 - h_t²) W_hh
  seed(12)
  local g = nn.RNN(3, 2)
  local x = randn(4, 3)
  local hs = g(x):detach()
  local Whh = g.weight_hh_l0:detach()
  local P = eye(2)
  local l3 = bptt_norms(g, x, nil, { quiet = true })
  for t = 4, 1, -1 do
    P = P * (eye(2):cmul((1 - hs[t] ^ 2):reshape(2, 1)) * Whh)
    near(l3[4 - t + 2].norm, math.sqrt((P ^ 2):sum()), 1e-9, "||dh_4/dh_" .. (t - 1) .. "||")
  end
  expect_error(function() return bptt_norms(nn.LSTM(2, 2, { num_layers = 2 }), zeros(3, 2)) end, "one layer and one direction")
  expect_error(function() return bptt_norms(nn.Linear(2, 2), zeros(3, 2)) end, "not an nn.RNN")
end)

test("tokens {N, T} through Embedding, a batch-first LSTM and Linear: forward, backward, trace", function()
  seed(14)
  local net = nn.Sequential{ nn.Embedding(9, 4), nn.LSTM(4, 3, { batch_first = true }), nn.Linear(3, 2) }
  local tokens = tensor{ { 1, 4, 4, 9 }, { 2, 3, 8, 1 } }
  local y = net(tokens)
  eq(table.concat(y:shape(), "x"), "2x4x2", "N x T x classes")
  -- the same as the layers one by one
  local e = net[1](tokens)
  local o = net[2](e)
  tensor_eq(y:detach(), net[3](o):detach():totable(), 1e-12, "composed")
  y:sum():backward()
  eq(net[1].weight.grad:detach()[4]:abs():sum() > 0, true, "the embedding rows read get gradients")
  tensor_eq(net[1].weight.grad[5], { 0, 0, 0, 0 }, 0, "a row never read gets none")
  local list = net:trace(tokens)
  eq(#list, 3, "the forward trace has one entry per layer")
  eq(table.concat(list[2].output:shape(), "x"), "2x4x3", "the LSTM's output in the trace")
end)

test("nn.Flatten(start_dim [, end_dim]) for a batch of sequences; the default still reads C x H x W", function()
  eq(table.concat(nn.Flatten():out_shape{ 16, 5, 5 }, "x"), "400", "one image")
  eq(table.concat(nn.Flatten():out_shape{ 8, 16, 5, 5 }, "x"), "8x400", "a batch of images")
  eq(table.concat(nn.Flatten(2):out_shape{ 4, 10, 16 }, "x"), "4x160", "{N, T, C} -> {N, T·C}")
  eq(table.concat(nn.Flatten(2, 3):out_shape{ 2, 3, 4, 5 }, "x"), "2x12x5", "a range")
  eq(table.concat(nn.Flatten(-2):out_shape{ 2, 3, 4 }, "x"), "2x12", "from the end")
  local x = arange(1, 24):reshape(2, 3, 4)
  local y = nn.Flatten(2)(x)
  eq(table.concat(y:shape(), "x"), "2x12", "forward")
  eq(y[{ 2, 5 }], x[{ 2, 2, 1 }], "row-major order kept")
  eq(tostring(nn.Flatten(2)), "Flatten(2)", "repr")
  expect_error(function() return nn.Flatten(3)(zeros(2, 3)) end, "dims 3..2 do not fit an input of 2 dims")
  expect_error(function() return nn.Flatten(0) end, "Flatten: start_dim and end_dim must be whole numbers")
  local s = summary(nn.Sequential{ nn.LSTM(4, 3, { batch_first = true }), nn.Flatten(2), nn.Linear(15, 2) }, { 6, 5, 4 },
    { quiet = true })
  eq(table.concat(s.total.out_shape, "x"), "6x2", "LSTM -> Flatten(2) -> Linear on {N, T, C}")
end)
