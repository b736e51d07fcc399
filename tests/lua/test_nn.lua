-- Layers and nn modules through the real binary: hand-worked values from
-- the homework sheets, modules against the tensor-level computation, and
-- gradients against finite differences.

local function homework_net()
  local net = nn.Sequential{ nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2), nn.ReLU(),
    nn.Linear(2, 1), nn.ReLU() }
  net[1].weight:copy(tensor{{1, 0}, {3, 4}, {1, 2}}); net[1].bias:copy(tensor{0, -2, 5})
  net[3].weight:copy(tensor{{2, 6, 1}, {0, 3, 1}}); net[3].bias:copy(tensor{-23, -11})
  net[5].weight:copy(tensor{{-2, 3}}); net[5].bias:copy(tensor{18})
  return net
end

test("homework 1 network from nn.Linear/nn.ReLU: outputs and gradients", function()
  local net = homework_net()
  local x = tensor{2, 1}
  local yhat = net(x)
  tensor_eq(yhat:detach(), {8})          -- the sheet's 9 is a slip: -76 + 66 + 18 = 8
  local L = (yhat - 10) ^ 2
  L:sum():backward()
  tensor_eq(net[1].weight.grad, {{32, 16}, {24, 12}, {-8, -4}})
  tensor_eq(net[1].bias.grad, {16, 12, -4})
  tensor_eq(net[3].weight.grad, {{16, 64, 72}, {-24, -96, -108}})
  tensor_eq(net[3].bias.grad, {8, -12})
  tensor_eq(net[5].weight.grad, {{-152, -88}})
  tensor_eq(net[5].bias.grad, {-4})
  -- the same numbers from tensor-level ops
  local W1 = tensor{{1, 0}, {3, 4}, {1, 2}}:requires_grad()
  local z = relu(relu(tensor{{2, 6, 1}, {0, 3, 1}} * relu(W1 * x + tensor{0, -2, 5}) + tensor{-23, -11}))
  local y2 = relu(tensor{{-2, 3}} * z + tensor{18});
  ((y2 - 10) ^ 2):sum():backward()
  tensor_eq(W1.grad, net[1].weight.grad:totable())
end)

test("modules are given weights by options or copy, print like PyTorch", function()
  local m = nn.Linear(2, 3, { weight = tensor{{1, 2}, {3, 4}, {5, 6}}, bias = tensor{1, 1, 1} })
  tensor_eq(m(tensor{1, 1}):detach(), {4, 8, 12})
  local net = nn.Sequential{ nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6 * 12 * 12, 10) }
  eq(tostring(net), "Sequential(\n  (1): Conv2d(1, 6, kernel_size=5)\n  (2): ReLU()\n"
    .. "  (3): MaxPool2d(kernel_size=2, stride=2)\n  (4): Flatten()\n"
    .. "  (5): Linear(in_features=864, out_features=10, bias=true)\n)")
  eq(#net, 5)
  eq(#net:parameters(), 4)
  eq(net:named_parameters()[1][1], "1.weight")
  eq(table.concat(net:out_shape{1, 28, 28}, "x"), "10")
  eq(table.concat(net:out_shape{4, 1, 28, 28}, "x"), "4x10")
end)

test("parameters are seeded and reproducible; PyTorch's uniform bound", function()
  seed(7); local a = nn.Linear(4, 3)
  seed(7); local b = nn.Linear(4, 3)
  eq(a.weight:detach() == b.weight:detach(), true)
  eq(a.weight:max() <= 0.5 and a.weight:min() >= -0.5, true, "bound 1/sqrt(4)")
  -- lazily made: the order of first use does not change the numbers
  seed(7); local c = nn.Linear(4, 3)
  local cb = c.bias:detach():clone()
  eq(cb == b.bias:detach(), true)
end)

test("the 3x3 input, 2x2 kernel convolution of homework 1 problem 4", function()
  local I = tensor{{6, 0, 1}, {3, 4, 1}, {4, 7, 0}}
  local K = tensor{{1, 0}, {0, 1}}
  local y = conv2d(I:view(1, 3, 3), K:view(1, 1, 2, 2))
  tensor_eq(y, {{{10, 1}, {10, 4}}})     -- the sheet's [[2,-1],[-4,4]] is wrong
end)

test("finite-difference filters, AvgPool as a convolution, RGB to gray (seed 001)", function()
  seed(3)
  local img = randn(1, 5, 6)
  local w = zeros(2, 1, 3, 3)
  w[{1, 1}] = tensor{{0, 0, 0}, {0, -1, 0}, {0, 1, 0}}   -- x[i+1, j] - x[i, j]
  w[{2, 1}] = tensor{{0, 0, 0}, {0, -1, 1}, {0, 0, 0}}   -- x[i, j+1] - x[i, j]
  local d = conv2d(img, w, nil, { padding = 1 })
  near(d[{1, 2, 3}], img[{1, 3, 3}] - img[{1, 2, 3}])
  near(d[{2, 2, 3}], img[{1, 2, 4}] - img[{1, 2, 3}])
  near(d[{1, 5, 2}], 0 - img[{1, 5, 2}])               -- the zero padding below the image
  -- average pooling of C channels = a C x C x K x K convolution, stride K
  local C, K = 3, 2
  local x = randn(C, 4, 6)
  local wa = zeros(C, C, K, K)
  for c = 1, C do wa[{c, c}] = full({K, K}, 1 / K ^ 2) end
  tensor_eq(conv2d(x, wa, nil, { stride = K }), avg_pool2d(x, K):totable(), 1e-12)
  -- RGB -> gray with a 1x1 convolution
  local rgb = rand(3, 2, 2)
  local gray = conv2d(rgb, tensor{0.299, 0.587, 0.114}:view(1, 3, 1, 1))
  near(gray[{1, 2, 1}], 0.299 * rgb[{1, 2, 1}] + 0.587 * rgb[{2, 2, 1}] + 0.114 * rgb[{3, 2, 1}])
end)

test("ConvTranspose2d checks output_padding when it is built", function()
  expect_error(function() nn.ConvTranspose2d(1, 1, 2, { stride = 2, output_padding = 2 }) end,
    "ConvTranspose2d: output_padding 2 must be smaller than the stride 2 or the dilation 1")
  eq(nn.ConvTranspose2d(1, 1, 2, { stride = 2, output_padding = 1 }):out_shape({1, 3, 3})[2], 7)
end)

test("Concat takes dim in its list or as an option", function()
  local x = tensor{{1, 2}}
  eq(table.concat(nn.Concat{ nn.ReLU(), nn.ReLU(), dim = 1 }(x):shape(), "x"), "2x2")
  eq(table.concat(nn.Concat({ nn.ReLU(), nn.ReLU() }, { dim = 1 })(x):shape(), "x"), "2x2")
  eq(table.concat(nn.Concat{ nn.ReLU(), nn.ReLU() }(x):shape(), "x"), "1x4")
  expect_error(function() nn.Concat{ nn.ReLU(), dim = 0 } end, "Concat: dim must be a positive whole number, got 0")
end)

test("modules held in a user layer's fields are its children", function()
  local Block = nn.class("Block")
  function Block:init(n) self.fc = nn.Linear(n, n); self.drop = nn.Dropout(0.5) end
  function Block:compute(x) return self.drop(self.fc(x)):relu() end
  local b = Block(2)
  local names = {}
  for i, np in ipairs(b:named_parameters()) do names[i] = np[1] end
  eq(table.concat(names, " "), "fc.weight fc.bias")
  b:eval()
  eq(b.drop.training, false, "eval reaches the field's Dropout")
  eq(tostring(b), "Block(\n  (fc): Linear(in_features=2, out_features=2, bias=true)\n  (drop): Dropout(p=0.5)\n)")
  local net = nn.Sequential{ b, nn.Linear(2, 1) }
  eq(#net:parameters(), 4)
  local y = net(tensor{1, 2}):sum()
  y:backward()
  eq(b.fc.weight.grad ~= nil, true, "gradients reach the field's parameters")
  net:zero_grad()
  eq(b.fc.weight.grad:abs():sum(), 0)
end)

test("pool modules pass every setting on (count_include_pad=false)", function()
  local x = arange(1, 25):view(1, 5, 5)
  -- the corner window holds 1, 2, 6, 7 and three zeros of padding: 16/4 without them
  local m = nn.AvgPool2d(3, { stride = 2, padding = 1, count_include_pad = false })
  tensor_eq(m(x), { { { 4, 5.5, 7 }, { 11.5, 13, 14.5 }, { 19, 20.5, 22 } } }, 1e-12)
  eq(math.abs(nn.AvgPool2d(3, { stride = 2, padding = 1 })(x)[{1, 1, 1}] * 9 - 16) < 1e-12, true, "padding counted")
end)

test("PyTorch's positional settings, beside the option table", function()
  -- each as PyTorch's signature orders them; shapes by the floor formula
  -- (checked against torch 1.13: 1x64x15x15, 1x8x10x10, 1x1x5x5)
  local c = nn.Conv2d(3, 64, 3, 2, 1, 2, 1, false)   -- stride, padding, dilation, groups, bias
  eq(c.stride[1], 2); eq(c.padding[1], 1); eq(c.dilation[1], 2); eq(c.groups, 1); eq(c.has_bias, false)
  eq(table.concat(c:out_shape({3, 32, 32}), "x"), "64x15x15")   -- (32 + 2 - 2·2 - 1)//2 + 1
  eq(tostring(nn.Conv2d(3, 64, 3, 1, 1)), tostring(nn.Conv2d(3, 64, 3, { stride = 1, padding = 1 })))
  eq(tostring(nn.Conv2d(4, 8, 3, 1, { padding = 1, groups = 2 })), "Conv2d(4, 8, kernel_size=3, padding=1, groups=2)")
  -- ConvTranspose2d's order: stride, padding, output_padding, groups, bias, dilation
  local t = nn.ConvTranspose2d(4, 8, 3, 2, 1, 1)
  eq(t.output_padding[1], 1); eq(table.concat(t:out_shape({4, 5, 5}), "x"), "8x10x10")   -- 4·2 − 2 + 2 + 1 + 1
  -- MaxPool2d: stride, padding, dilation, return_indices, ceil_mode
  local m = nn.MaxPool2d(3, 2, 1, 1, false, true)
  eq(m.ceil_mode, true); eq(table.concat(m:out_shape({1, 8, 8}), "x"), "1x5x5")   -- ⌈7/2⌉ + 1
  eq(nn.MaxPool2d(2, 2).stride[1], 2); eq(nn.MaxPool2d(2, nil, 1).stride[1], 2)   -- stride=None is the kernel
  -- AvgPool2d: stride, padding, ceil_mode, count_include_pad; the corner of
  -- 1..16 (4x4) averages 1, 2, 5, 6 = 3.5 without the padding, 14/9 with it
  local x = arange(1, 16):reshape(1, 4, 4)
  near(nn.AvgPool2d(3, 1, 1, false, false)(x)[{1, 1, 1}], 3.5, 1e-12)
  near(nn.AvgPool2d(3, 1, 1)(x)[{1, 1, 1}], 14 / 9, 1e-12)
  -- BatchNorm2d: eps, momentum, affine; Dropout(p); LeakyReLU(slope); Linear(in, out, bias)
  local bn = nn.BatchNorm2d(16, 1e-3, 0.2, false)
  eq(bn.eps, 1e-3); eq(bn.momentum, 0.2); eq(bn.affine, false)
  eq(nn.BatchNorm2d(16, { eps = 1e-3 }).eps, 1e-3)
  eq(nn.Dropout(0.3).p, 0.3); eq(nn.Dropout{ p = 0.2 }.p, 0.2); eq(nn.Dropout().p, 0.5)
  near(nn.LeakyReLU(0.2)(tensor{-2})[1], -0.4, 1e-12); eq(nn.LeakyReLU{ negative_slope = 0.1 }.negative_slope, 0.1)
  eq(nn.Linear(3, 4, false).has_bias, false); eq(nn.Softmax{ dim = 1 }.dim, 1)
  -- what fits neither form names the module and shows both
  expect_error(function() nn.Conv2d(3, 64, 3, 1, 1, 1, 1, true, "zeros", 7) end,
    "Conv2d: 7 positional settings, but PyTorch's Conv2d takes at most 6", "nn.Conv2d(3, 64, 3, 1, 1)",
    "nn.Conv2d(3, 64, 3, {stride = 1, padding = 1})")
  expect_error(function() nn.Conv2d(3, 64, 3, 1, { stride = 2 }) end, "stride is given twice")
  expect_error(function() nn.AvgPool2d(2, { stride = 1 }, 1) end, "AvgPool2d: the option table must come last", "nn.AvgPool2d(3, 2, 1)")
  expect_error(function() nn.MaxPool2d(2, 2, 0, 1, true) end, "MaxPool2d: return_indices=true is not supported")
  expect_error(function() nn.Conv2d(3, 4, 3, 1, 0, 1, 1, true, "reflect") end, "padding_mode=reflect is not supported")
  expect_error(function() nn.BatchNorm2d(3, 1e-5, 0.1, true, false) end, "track_running_stats=false is not supported")
  expect_error(function() nn.MSELoss("sum") end, 'MSELoss: settings go in a table: nn.MSELoss{reduction = "sum"}')
  expect_error(function() nn.Dropout(0.2, false, 1) end, "Dropout: 3 positional settings", "nn.Dropout{p = 0.3}")
  -- padding="same" / "valid" as PyTorch (stride 1; symmetric when d(k-1) is even)
  eq(table.concat(nn.Conv2d(3, 8, 5, 1, "same"):out_shape({3, 9, 7}), "x"), "8x9x7")
  eq(nn.Conv2d(3, 8, 3, { padding = "same", dilation = 2 }).padding[1], 2)
  eq(nn.Conv2d(3, 8, 3, 1, "valid").padding[1], 0)
  expect_error(function() nn.Conv2d(3, 8, 4, 1, "same") end, 'padding="same" with kernel 4 and dilation 1 pads 3 rows, unevenly')
  expect_error(function() nn.Conv2d(3, 8, 3, 2, "same") end, 'padding="same" needs stride 1')
  -- norms, embeddings, attention and recurrent layers in PyTorch's order
  local ln = nn.LayerNorm(8, 1e-6, false)
  eq(ln.eps, 1e-6); eq(ln.affine, false)
  eq(nn.RMSNorm(8, 1e-6).eps, 1e-6)
  local gn = nn.GroupNorm(2, 8, 1e-3, false)
  eq(gn.eps, 1e-3); eq(gn.affine, false)
  eq(nn.Embedding(10, 3, 2).padding_idx, 2)
  eq(nn.MultiheadAttention(8, 2, 0.0, false).has_bias, false)
  local lstm = nn.LSTM(4, 5, 2, true, true)   -- num_layers, bias, batch_first
  eq(lstm.num_layers, 2); eq(lstm.batch_first, true)
  eq(nn.RNN(4, 5, 1, "relu").nonlinearity, "relu")
  eq(tostring(nn.GRU(4, 5, 1, false)), "GRU(4, 5, bias=false)")
  eq(tostring(nn.RNNCell(4, 5, true, "relu")), 'RNNCell(4, 5, nonlinearity="relu")')
  eq(tostring(nn.LSTMCell(4, 5, false)), "LSTMCell(4, 5, bias=false)")
  expect_error(function() nn.MultiheadAttention(8, 2, 0.1) end, "MultiheadAttention: dropout=0.1 is not supported")
  expect_error(function() nn.MultiheadAttention(8, 2, 0, true, false, false, 4) end, "kdim=4 is not supported")
  expect_error(function() nn.Embedding(10, 3, nil, 1.0) end, "Embedding: max_norm=1.0 is not supported")
  expect_error(function() nn.LSTM(4, 5, 1, true, false, 0, false, 3) end, "LSTM: proj_size=3 is not supported")
  expect_error(function() nn.LayerNorm(8, 1e-5, true, true, 9) end, "LayerNorm: 4 positional settings",
    "nn.LayerNorm(64, {eps = 1e-6})")
  -- the rest of PyTorch's settings: at their defaults, or refused by name (never ignored)
  eq(tostring(nn.ReLU(true)), "ReLU()"); eq(tostring(nn.Softplus(1, 20)), "Softplus()")
  expect_error(function() nn.Softplus(2) end, "Softplus: beta=2 is not supported (only 1)")
  expect_error(function() nn.Sigmoid(1) end, "Sigmoid: 1 positional setting, but PyTorch's Sigmoid takes none; it takes no settings: nn.Sigmoid()")
end)

test("max pooling commutes with nondecreasing activations", function()
  seed(11)
  local x = randn(2, 6, 6)
  for _, f in ipairs({ relu, sigmoid, tanh, function(t) return leaky_relu(t, 0.1) end }) do
    tensor_eq(f(max_pool2d(x, 2)), max_pool2d(f(x), 2):totable(), 1e-15)
  end
  -- and with a decreasing one it does not
  eq(neg(max_pool2d(x, 2)) == max_pool2d(neg(x), 2), false)
end)

local function gc(what, f, inputs)
  local ok, msg = gradcheck(f, inputs, { quiet = true })
  if not ok then error(what .. ": " .. msg, 2) end
end

test("every layer's backward passes gradcheck for several settings", function()
  seed(5)
  local x, w, b = randn(3, 4, 7, 6), randn(6, 2, 3, 3), randn(6)
  gc("conv2d stride 2 padding 1 groups 2", function(x, w, b) return (conv2d(x, w, b, { stride = 2, padding = 1, groups = 2 }) ^ 2):sum() end, { x, w, b })
  gc("conv2d dilation 2", function(x, w) return (conv2d(x, w, nil, { dilation = 2, groups = 2 }) ^ 2):sum() end, { x, w })
  gc("conv2d asymmetric", function(x, w) return (conv2d(x, w, nil, { stride = {2, 1}, padding = {0, 1} }) ^ 2):sum() end,
    { randn(1, 2, 5, 5), randn(3, 2, 2, 3) })
  gc("conv_transpose2d", function(x, w, b) return (conv_transpose2d(x, w, b, { stride = 2, padding = 1, output_padding = 1 }) ^ 2):sum() end,
    { randn(2, 3, 3, 4), randn(3, 2, 3, 3), randn(2) })
  local xp = randn(3, 2, 7, 7)
  gc("max_pool2d ceil_mode", function(x) return (max_pool2d(x, 3, { stride = 2, ceil_mode = true }) ^ 2):sum() end, { xp })
  gc("avg_pool2d padding", function(x) return (avg_pool2d(x, 3, { stride = 2, padding = 1 }) ^ 2):sum() end, { xp })
  gc("avg_pool2d exclude pad", function(x) return (avg_pool2d(x, 2, { padding = 1, count_include_pad = false }) ^ 2):sum() end, { xp })
  gc("adaptive_avg_pool2d", function(x) return (adaptive_avg_pool2d(x, {3, 2}) ^ 2):sum() end, { xp })
  gc("linear batch", function(x, w, b) return (linear(x, w, b) ^ 2):sum() end, { randn(4, 3), randn(2, 3), randn(2) })
  gc("linear vector", function(x, w) return (linear(x, w) ^ 2):sum() end, { randn(3), randn(2, 3) })
  gc("leaky_relu", function(x) return (leaky_relu(x, 0.2) ^ 2):sum() end, { tensor{-1.5, -0.3, 0.4, 2} })
  local g, be = randn(2), randn(2)
  gc("batch_norm train", function(x, g, be) return (batch_norm(x, { weight = g, bias = be }) ^ 3):sum() end, { randn(4, 2, 3), g, be })
  gc("batch_norm eval", function(x, g) return (batch_norm(x, { weight = g, running_mean = tensor{0.1, 0.2}, running_var = tensor{2, 3}, training = false }) ^ 2):sum() end, { randn(3, 2), g })
end)

test("losses: values by hand and gradients", function()
  local p, t = tensor{1, 2, 3}, tensor{1, 0, 5}
  near(mse_loss(p, t), (0 + 4 + 4) / 3)
  near(mse_loss(p, t, { reduction = "sum" }), 8)
  tensor_eq(mse_loss(p, t, { reduction = "none" }), {0, 4, 4})
  near(l1_loss(p, t), 4 / 3)
  -- cross entropy of logits (1, 2, 3) with class 3: -log softmax = log(e+e²+e³) - 3
  local z = math.log(math.exp(1) + math.exp(2) + math.exp(3))
  near(cross_entropy(tensor{1, 2, 3}, 3), z - 3)
  near(cross_entropy(tensor{{1, 2, 3}, {1, 2, 3}}, tensor{3, 1}), ((z - 3) + (z - 1)) / 2)
  near(cross_entropy(tensor{1, 2, 3}, tensor{0, 0, 1}), z - 3, 1e-12)   -- probability target
  near(nll_loss(log_softmax(tensor{1, 2, 3}), 3), z - 3)
  near(binary_cross_entropy(tensor{0.8}, tensor{1}), -math.log(0.8))
  near(binary_cross_entropy_with_logits(tensor{0}, tensor{1}), math.log(2))
  -- the gradient of cross entropy is softmax minus one-hot
  local o = tensor{1, 2, 3}:requires_grad()
  cross_entropy(o, 2):backward()
  tensor_eq(o.grad, (softmax(tensor{1, 2, 3}) - tensor{0, 1, 0}):totable(), 1e-12)
  gc("cross_entropy batch", function(x) return cross_entropy(x, tensor{2, 1, 3}) end, { randn(3, 3) })
  gc("bce with logits", function(x) return binary_cross_entropy_with_logits(x, tensor{1, 0, 1}) end, { randn(3) })
  gc("bce", function(x) return binary_cross_entropy(sigmoid(x), tensor{1, 0, 0.5}) end, { randn(3) })
  gc("mse both sides", function(a, b) return mse_loss(a, b) end, { randn(4), randn(4) })
  gc("l1", function(a) return l1_loss(a, tensor{0, 0, 0}) end, { tensor{-1, 0.5, 2} })
  local loss = nn.CrossEntropyLoss()
  near(loss(tensor{{1, 2, 3}}, tensor{3}), z - 3)
end)

test("containers: Residual, Concat (an Inception module), trace", function()
  seed(2)
  local block = nn.Sequential{ nn.Conv2d(4, 4, 3, { padding = 1 }), nn.ReLU() }
  local res = nn.Residual(block)
  local x = randn(4, 5, 5)
  tensor_eq(res(x):detach(), (block(x) + x):detach():totable(), 1e-12)
  local inception = nn.Concat{
    nn.Conv2d(4, 2, 1),
    nn.Sequential{ nn.Conv2d(4, 3, 1), nn.Conv2d(3, 5, 3, { padding = 1 }) },
    nn.Sequential{ nn.MaxPool2d(3, { stride = 1, padding = 1 }), nn.Conv2d(4, 1, 1) },
  }
  eq(table.concat(inception(x):shape(), "x"), "8x5x5")
  eq(table.concat(inception:out_shape{4, 5, 5}, "x"), "8x5x5")
  local list = inception:trace(x)
  eq(#list, 6)
  eq(list[#list].name, "Concat")
  local out = capture(function() homework_net():forward(tensor{2, 1}, { trace = true }) end)
  eq(out:find("(1) Linear(in_features=2, out_features=3, bias=true) -> [3]", 1, true) ~= nil, true, out)
  eq(out:find("2  8  9", 1, true) ~= nil, true, out)
  eq(out:find("(6) ReLU() -> [1]", 1, true) ~= nil, true, out)
  -- autograd works through every module
  local net = nn.Sequential{ nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(12, 2) }
  local y = net(randn(2, 2, 6, 6))
  cross_entropy(y, tensor{1, 2}):backward()
  for _, np in ipairs(net:named_parameters()) do
    eq(np[2].grad ~= nil, true, np[1] .. " has a gradient")
  end
end)

test("train and eval: dropout and batch norm", function()
  seed(4)
  local d = nn.Dropout(0.5)
  local y = d(ones(1000))
  eq(y:eq(0):sum() > 400 and y:eq(0):sum() < 600, true, "about half dropped")
  eq(y:max(), 2)
  d:eval()
  eq(d(ones(5)) == ones(5), true)
  local bn = nn.BatchNorm1d(2)
  local x = tensor{{1, 10}, {3, 20}}
  tensor_eq(bn(x):detach(), {{-1, -1}, {1, 1}}, 1e-4)
  tensor_eq(bn.running_mean, {0.2, 1.5}, 1e-12)      -- 0.9 * 0 + 0.1 * mean
  bn:eval()
  tensor_eq(bn(tensor{{0.2, 1.5}}):detach(), {{0, 0}}, 1e-12)
end)

test("bad input names the layer, its settings and the input shape", function()
  local conv = nn.Conv2d(3, 6, 5)
  expect_error(function() return conv(zeros(4, 8, 8)) end, "conv2d", "channels", "4x8x8")
  expect_error(function() return conv(zeros(3, 4, 4)) end, "conv2d", "5x5")
  expect_error(function() return nn.Conv2d(3, 6, 3, { stride = 0 }) end, "Conv2d: stride must be whole numbers >= 1")
  expect_error(function() return nn.MaxPool2d(3, { padding = 2 }) end, "padding 2 is more than half the kernel 3")
  expect_error(function() return nn.Linear(2, 3)(zeros(4)) end, "linear", "input 4 does not fit weight 3x2")
  expect_error(function() return cross_entropy(zeros(2, 3), tensor{1, 4}) end, "cross_entropy", "class index 4", "3 classes")
  expect_error(function() return cross_entropy(zeros(3), 1.5) end,
    "cross_entropy: class index 1.5 of sample 1 is not a whole number")
  expect_error(function() return cross_entropy(zeros(3), 0 / 0) end, "cross_entropy: class index of sample 1 is NaN")
  -- the function is named once
  local ok, msg = pcall(cross_entropy, tensor{{1, 2, 3}}, {1, 2})
  eq(ok, false); eq(select(2, msg:gsub("cross_entropy", "")), 1, msg)
  expect_error(function() return binary_cross_entropy(tensor{2}, tensor{1}) end,
    "binary_cross_entropy: the input must be probabilities in [0, 1]; element 1 is 2")
  expect_error(function() return cross_entropy(zeros(2, 3), tensor{1, 2, 3}) end, "cross_entropy: target shape 3 does not fit input 2x3")
  expect_error(function() return mse_loss(zeros(3), zeros(2)) end, "mse_loss", "target shape 2 does not match input shape 3")
  expect_error(function() return nn.Sequential{ nn.ReLU(), nn.Linear(5, 2) }(zeros(3)) end, "layer 2 (Linear(in_features=5, out_features=2, bias=true))")
  expect_error(function() return nn.Sequential{ nn.ReLU, nn.Tanh() } end, "element 1 is a table, not a module")
  expect_error(function() return nn.Conv2d(3, 6, 5):out_shape{3, 4, 4} end, "Conv2d(3, 6, kernel_size=5)")
  expect_error(function() return nn.Linear(2, 3, { weight = zeros(2, 2) }) end, "weight must have shape 3x2, got 2x2")
  expect_error(function() return conv2d(zeros(1, 2, 5, 5), zeros(4, 2, 3, 3), nil, { bogus = 1 }) end, "conv2d: unknown option 'bogus'")
  expect_error(function() return binary_cross_entropy(tensor{2}, tensor{1}) end, "probabilities in [0, 1]")
end)
