-- Homework counting: summary, conv arithmetic, receptive fields, checks.
-- Numbers from the homework sheets in shared/seeds, corrected where the
-- sheet is wrong (the comments say where), and published model sizes.

local function row(s, index)
  for _, r in ipairs(s) do if r.index == index then return r end end
  error("no row " .. index)
end

test("LeNet-style shapes 32 -> 28 -> 14 -> 10 and parameters 150 / 2400 (seed 004)", function()
  local net = nn.Sequential{ nn.Conv2d(1, 6, 5, { bias = false }), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5, { bias = false }) }
  local s = summary(net, {1, 32, 32}, { quiet = true })
  eq(table.concat(row(s, "1").out_shape, "x"), "6x28x28")
  eq(table.concat(row(s, "2").out_shape, "x"), "6x14x14")
  eq(table.concat(row(s, "3").out_shape, "x"), "16x10x10")
  eq(row(s, "1").params, 150); eq(row(s, "3").params, 2400)
  local sb = summary(nn.Sequential{ nn.Conv2d(1, 6, 5), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5) }, {1, 32, 32}, { quiet = true })
  eq(row(sb, "1").params, 156); eq(row(sb, "3").params, 2416)
  eq(row(sb, "1").weights, 150); eq(row(sb, "1").biases, 6)
end)

test("the 36x36x3 output-size questions (seed 002 problem 4)", function()
  eq(conv_out(36, 3), 34)
  eq(conv_out(36, 3, { padding = 3, stride = 2 }), 20)
  local s = summary(nn.Conv2d(3, 2, 3, { padding = 3, stride = 2 }), {3, 36, 36}, { quiet = true })
  eq(table.concat(s[1].out_shape, "x"), "2x20x20")
  -- n, k, s, p in general: floor((n + 2p - k)/s) + 1
  for n = 5, 40, 7 do for k = 1, 5 do for st = 1, 3 do for p = 0, 2 do
    if n + 2 * p >= k then eq(conv_out(n, k, { stride = st, padding = p }), (n + 2 * p - k) // st + 1) end
  end end end end
end)

test("conv_out explains, reports dropped rows; pool_out ceil_mode; convT_out", function()
  local out, r = conv_out(28, 5)
  eq(out, 24); eq(r.formula, "out = ⌊(28 + 2·0 − 1·(5 − 1) − 1) / 1⌋ + 1 = 24")
  local printed = capture(function() conv_out(28, 5, { explain = true }) end)
  eq(printed, "out = ⌊(28 + 2·0 − 1·(5 − 1) − 1) / 1⌋ + 1 = 24\n")
  out, r = conv_out(7, 2, { stride = 2 })
  eq(out, 3); eq(r.dropped, 1)
  eq(tostring(r):find("drops 1 input row", 1, true) ~= nil, true)
  eq(select(2, conv_out(64, 5, { stride = 2, padding = 1, dilation = 2 })).out, 29)
  eq(pool_out(7, 2), 3)
  eq(pool_out(7, 2, { ceil_mode = true }), 4)
  eq(pool_out(5, 2, { padding = 1, ceil_mode = true }), 3)   -- a window starting in the padding is dropped
  eq(convT_out(4, 3, { stride = 2 }), 9)
  eq(convT_out(4, 3, { stride = 2, output_padding = 1 }), 10)
  -- output_padding may reach the dilation - 1, but only 0..stride-1 invert the convolution
  local o15, r15 = convT_out(4, 3, { stride = 2, dilation = 3, output_padding = 2 })
  eq(o15, 15); eq(conv_out(15, 3, { stride = 2, dilation = 3 }), 5)
  local notes = table.concat(r15.notes, "\n")
  eq(notes:find("output_padding (0..1) picks", 1, true) ~= nil, true, notes)
  eq(notes:find("15 does not map back to 4: a convolution with the same settings gives 5", 1, true) ~= nil, true, notes)
  eq(convT_out(3, 4, { stride = 2, padding = 1 }), 6)
  expect_error(function() conv_out(3, 5) end, "conv_out: the 5 window", "larger than the padded input 3 + 2·0 = 3")
  expect_error(function() convT_out(4, 3, { stride = 2, output_padding = 2 }) end, "output_padding 2 must be smaller")
  expect_error(function() conv_out(10, 3, { stride = 0 }) end, "stride must be from 1 to 2^31-1, got 0")
  expect_error(function() conv_out(10, 3, { bogus = 1 }) end, "unknown option 'bogus'")
end)

test("conv_solve: the k/s tables of seed 004, corrected", function()
  -- (c) 64 -> 6 without padding: (64 - k)/s = 5 exactly; the sheet's s=1, k=52 is wrong (59)
  local t = conv_solve{ input = 64, output = 6, padding = 0, dilation = 1, exact = true }
  local want = { [1] = 59, [2] = 54, [3] = 49, [4] = 44, [12] = 4 }
  for _, sol in ipairs(t) do if want[sol.stride] then eq(sol.kernel, want[sol.stride], "kernel for stride " .. sol.stride) end end
  eq(#t, 12)
  -- (d) padding 1, dilation 2: exact division means (67 - 2k) = 5s, so s is
  -- odd and k = (67 - 5s)/2: s = 1, 3, ..., 13
  t = conv_solve{ input = 64, output = 6, padding = 1, dilation = 2, exact = true }
  eq(#t, 7)
  for i, sol in ipairs(t) do
    eq(sol.stride, 15 - 2 * i); eq(sol.kernel, (67 - 5 * sol.stride) // 2)
    eq(sol.remainder, 0); eq(sol.dropped, 0)
  end
  -- no_drop: the floor may discard the one trailing padding row, so the even
  -- strides come back with 67 - 2k = 5s + 1 (s = 2, k = 28: remainder 1, dropped 0)
  t = conv_solve{ input = 64, output = 6, padding = 1, dilation = 2, no_drop = true }
  eq(#t, 13)
  local got = {}
  for _, sol in ipairs(t) do got[sol.stride] = sol end
  for s = 1, 13 do
    local r = (s % 2 == 0) and 1 or 0
    eq(got[s].kernel, (67 - 5 * s - r) // 2, "kernel for stride " .. s)
    eq(got[s].remainder, r); eq(got[s].dropped, 0)
  end
  local txt = tostring(t)
  eq(txt:find("(13 solutions with no real input row dropped)", 1, true) ~= nil, true, txt)
  eq(txt:find("remainder = (n + 2p − d(k − 1) − 1) mod s; exact=true keeps remainder 0", 1, true) ~= nil, true, txt)
  -- (e) padding 1, dilation 1: exact means 66 - k = 5s, k = 66 - 5s for
  -- s = 1..13; no_drop also allows remainder 1 (the padding row), which needs
  -- s >= 2: k = 65 - 5s for s = 2..12
  t = conv_solve{ input = 64, output = 6, padding = 1, dilation = 1, exact = true }
  got = {}
  for _, sol in ipairs(t) do got[sol.stride] = sol.kernel end
  for s = 1, 13 do eq(got[s], 66 - 5 * s) end
  eq(#t, 13)
  t = conv_solve{ input = 64, output = 6, padding = 1, dilation = 1, no_drop = true }
  for _, sol in ipairs(t) do
    eq(sol.remainder <= 1, true); eq(66 - sol.kernel - sol.remainder, 5 * sol.stride)
    if sol.remainder == 1 then eq(sol.stride >= 2 and sol.stride <= 12, true) end
  end
  eq(#t, 13 + 11)
  eq(tostring(conv_solve{ output = 24, kernel = 5, stride = 1, padding = 0, dilation = 1 }):find("(1 solution)", 1, true) ~= nil, true)
  -- with the floor rule there are more pairs, some dropping input rows
  local all = conv_solve{ input = 64, output = 6, padding = 0 }
  eq(#all > 12, true)
  for _, sol in ipairs(all) do eq(conv_out(64, sol.kernel, { stride = sol.stride }), 6) end
  -- any one unknown
  eq(conv_solve{ output = 24, kernel = 5, stride = 1, padding = 0, dilation = 1 }[1].input, 28)
  local pads = conv_solve{ input = 32, output = 32, kernel = 5, stride = 1, dilation = 1 }
  eq(pads[1].padding, 2)
  expect_error(function() conv_solve{ input = 10, output = 50, padding = 0, dilation = 1, stride = 1 } end, "conv_solve: no kernel gives output 50")
  expect_error(function() conv_solve{ input = 10, kernel = 3 } end, "give the output size")
end)

test("Inception module counts (seed 000 part 5)", function()
  -- module 1: 1x1 -> 128, 3x3 -> 192, 5x5 -> 96 on 256x32x32 (same padding)
  local m1 = models.inception{ input = 256, b1 = 128, b3 = 192, b5 = 96, b3_reduce = false, pool = false }
  local s1 = summary(m1, {256, 32, 32}, { quiet = true })
  -- the sheet's 1,147,264 uses 128 outputs for every branch; with 192 and 96:
  eq(s1.total.params, (256 + 1) * 128 + (9 * 256 + 1) * 192 + (25 * 256 + 1) * 96)
  eq(s1.total.params, 1089952)
  eq(s1.total.mults, 1115684864)
  eq(s1.total.adds, 1115684864)    -- k·C − 1 within the window + 1 for the bias
  eq(s1.total.acts, 425984)
  eq(table.concat(s1[1].out_shape, "x"), "416x32x32")
  -- module 2: with 1x1 reductions (64) and a pooling branch
  local m2 = models.inception{ input = 256, b1 = 128, b3_reduce = 64, b3 = 192, b5_reduce = 64, b5 = 96, pool_proj = 64 }
  local s2 = summary(m2, {256, 32, 32}, { quiet = true })
  eq(s2.total.params, 346720)
  eq(s2.total.mults, 354418688)
  eq(s2.total.acts, 622592)
  -- GoogLeNet (3a)
  eq(summary(models.inception{}, {192, 28, 28}, { quiet = true }).total.params, 163696)
end)

test("the VGG-style table of seed 003 (neurons, parameters, connections)", function()
  local net = nn.Sequential{ nn.Conv2d(3, 64, 3, { stride = 2, padding = 1 }), nn.MaxPool2d(2),
    nn.Conv2d(64, 128, 3, { padding = 1 }), nn.MaxPool2d(2),
    nn.Conv2d(128, 256, 3, { padding = 1 }), nn.Conv2d(256, 256, 3, { padding = 1 }), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(14 * 14 * 256, 1024), nn.Linear(1024, 100) }
  local s = summary(net, {3, 224, 224}, { quiet = true })
  local want = {
    { "1", 802816, 1792, 21676032 }, { "2", 200704, 0, 802816 }, { "3", 401408, 73856, 231211008 },
    { "4", 100352, 0, 401408 }, { "5", 200704, 295168, 231211008 }, { "6", 200704, 590080, 462422016 },
    { "7", 50176, 0, 200704 }, { "9", 1024, 51381248, 51380224 },
    { "10", 100, 102500, 102400 },   -- the sheet's 105,200 for FC-100 is a slip: 1024·100 + 100
  }
  for _, w in ipairs(want) do
    local r = row(s, w[1])
    eq(r.neurons, w[2], "neurons of row " .. w[1]); eq(r.params, w[3], "params of row " .. w[1])
    eq(r.conns, w[4], "connections of row " .. w[1])
  end
  eq(s.total.neurons, 1957988); eq(s.total.params, 52444644); eq(s.total.conns, 999407616)
end)

test("published parameter counts, shape-only (no weights allocated)", function()
  local before = stats().storages
  local want = { lenet5 = 61706, alexnet = 61100840, vgg11 = 132863336, vgg16 = 138357544,
    resnet18 = 11689512, resnet50 = 25557032 }
  for name, n in pairs(want) do
    local s = summary(models[name](), name == "lenet5" and {1, 32, 32} or {3, 224, 224}, { quiet = true })
    eq(s.total.params, n, name)
  end
  eq(stats().storages - before < 200, true, "no weights were allocated")
  local s = summary(models.vgg16(), {3, 224, 224}, { quiet = true })
  eq(table.concat(s.total.out_shape, "x"), "1000")
  eq(table.concat(s[2].out_shape, "x"), "64x224x224")
end)

test("published multiply-adds: torchvision's GFLOPS column, ResNet-50 v1 and v1.5", function()
  -- torchvision's model table lists these (in units of 1e9 multiply-adds)
  local want = { alexnet = 0.71, vgg11 = 7.61, vgg16 = 15.47, resnet18 = 1.81, resnet50 = 4.09 }
  for name, g in pairs(want) do
    local macs = summary(models[name](), {3, 224, 224}, { quiet = true }).total.macs
    eq(math.floor(macs / 1e7 + 0.5) / 100, g, name)
  end
  -- He et al. 2016, table 1: "3.8 x 10^9 FLOPs" for the original ResNet-50,
  -- which strides in the first 1x1 of a bottleneck; same parameters.
  local v1 = summary(models.resnet50{ v1 = true }, {3, 224, 224}, { quiet = true }).total
  eq(v1.params, 25557032)
  eq(v1.macs >= 3.8e9 and v1.macs < 3.9e9, true, "v1 multiply-adds " .. v1.macs)
  eq(summary(models.resnet50{ classes = 10 }, {3, 224, 224}, { quiet = true }).total.params,
    25557032 - 2049 * 990)
  expect_error(function() models.resnet50{ classes = 0 } end, "models.resnet50: the number of classes")
  expect_error(function() models.vgg16("ten") end, "models.vgg16: the number of classes")
end)

test("conventions: bias adds, relu, FLOPs, per sample, compare", function()
  local c = nn.Sequential{ nn.Conv2d(1, 10, 5), nn.ReLU() }
  local s = summary(c, {1, 1, 28, 28}, { quiet = true })
  eq(s.total.macs, 144000); eq(s.total.mults, 144000); eq(s.total.adds, 144000); eq(s.total.acts, 5760)
  eq(summary(c, {1, 1, 28, 28}, { quiet = true, bias = false }).total.adds, 138240)
  eq(summary(c, {1, 1, 28, 28}, { quiet = true, relu = false }).total.acts, 0)
  eq(summary(c, {1, 1, 28, 28}, { quiet = true, flops = "2mac" }).total.flops, 288000)
  eq(summary(c, {1, 1, 28, 28}, { quiet = true, flops = "2k-1" }).total.flops, 288000)
  eq(summary(c, {4, 1, 28, 28}, { quiet = true }).total.macs, 576000)
  eq(summary(c, {4, 1, 28, 28}, { quiet = true, per_sample = true }).total.macs, 144000)
  local out = capture(function() summary(c, {1, 1, 28, 28}, { compare = true }) end)
  for _, line in ipairs({ "fvcore FlopCountAnalysis    144,000", "torchinfo Mult-Adds         149,760",
    "PyTorch FlopCounterMode     288,000", "torchscan FLOPs             293,760" }) do
    eq(out:find(line, 1, true) ~= nil, true, line .. " in\n" .. out)
  end
  -- each counter by its own rules: torchscan has no +1 without a bias; thop,
  -- ptflops and torchinfo count a transposed conv per output element
  local nb = summary(nn.Sequential{ nn.Conv2d(1, 2, 3, { bias = false }) }, {1, 5, 5}, { compare = true, quiet = true })
  eq(nb.compare.torchscan, 306); eq(nb.compare.fvcore, 162); eq(nb.compare.flop_counter, 324)
  local ct = summary(nn.Sequential{ nn.ConvTranspose2d(4, 2, 3, { stride = 2 }) }, {4, 5, 5}, { compare = true, quiet = true })
  eq(ct.compare.fvcore, 4 * 25 * 2 * 9)            -- every input pixel times the whole kernel
  eq(ct.compare.thop, 242 * 4 * 9); eq(ct.compare.torchinfo, 74 * 121); eq(ct.compare.ptflops, 242 * 4 * 9 + 242)
  eq(ct.compare.torchscan, 242 * (2 * 4 * 9 - 1) + 242 + 16)
  -- torchscan's per-layer rules, summed by hand: conv 1152·18, BN 2·8 + 4·1152,
  -- LeakyReLU 4·1152, max pool 288·3, avg pool 32·(9 − 1 + 2), adaptive 8·(4 − 1 + 2),
  -- dropout 8, linear 2·15 + 2, tanh 6·2, sigmoid 4·2
  local mix = summary(nn.Sequential{ nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.LeakyReLU(), nn.MaxPool2d(2),
    nn.AvgPool2d(3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.5), nn.Linear(8, 2), nn.Tanh(), nn.Sigmoid() },
    {1, 1, 14, 14}, { compare = true, quiet = true })
  eq(mix.compare.torchscan, 20736 + 4624 + 4608 + 864 + 320 + 40 + 8 + 32 + 12 + 8)
  -- the figures those tools publish for torchvision's ResNet-50 at 224:
  -- fvcore 4.11 G, ptflops 4.12 GMac, torchinfo 4.09 G
  local r50 = summary(models.resnet50(), {1, 3, 224, 224}, { compare = true, quiet = true }).compare
  eq(math.floor(r50.fvcore / 1e7 + 0.5) / 100, 4.11); eq(math.floor(r50.ptflops / 1e7 + 0.5) / 100, 4.12)
  eq(math.floor(r50.torchinfo / 1e7 + 0.5) / 100, 4.09)
  -- a residual's additions are in its row, the adds total (an integer) and 2k-1 FLOPs
  local res = summary(nn.Sequential{ nn.Residual(nn.Sequential{ nn.Conv2d(1, 1, 3, { padding = 1 }) }) }, {1, 4, 4},
    { flops = "2k-1", quiet = true })
  eq(res.total.adds, 160); eq(math.type(res.total.adds), "integer"); eq(res.total.flops, 304)
  eq(res[2].adds, 16)
  -- per_sample divides a batch of vectors {N, F} as well as images
  local mlp = nn.Sequential{ nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2) }
  eq(summary(mlp, {5, 4}, { per_sample = true, quiet = true }).total.mults, 18)
  eq(summary(mlp, {5, 4}, { quiet = true }).total.mults, 90)
  local ex = capture(function() summary(nn.Conv2d(1, 10, 5), {1, 28, 28}, { explain = true }) end)
  eq(ex:find("params = 10·(1·5·5) + 10 = 260", 1, true) ~= nil, true, ex)
  eq(ex:find("out = ⌊(28 + 2·0 − 1·(5 − 1) − 1) / 1⌋ + 1 = 24", 1, true) ~= nil, true, ex)
  eq(ex:find("r = 1 + (5 − 1)·1 = 5", 1, true) ~= nil, true, ex)
  local cols = capture(function() summary(c, {1, 28, 28}, { columns = { "out", "bwd_input", "bwd_weight", "saved" } }) end)
  eq(cols:find("bwd mults dW", 1, true) ~= nil, true, cols)
end)

test("receptive fields per axis, and the region of seed 000 part 4", function()
  -- y1 = conv 5x5 pad 2, y2 = 2x2 pool, y3 = the same again: X[4i-9 .. 4i+6]
  local net = nn.Sequential{ nn.Conv2d(3, 4, 5, { padding = 2 }), nn.MaxPool2d(2), nn.Conv2d(4, 4, 5, { padding = 2 }), nn.MaxPool2d(2) }
  eq(tostring(receptive_region(net, {3, 224, 224})), "rows 4i-9 .. 4i+6,  columns 4j-9 .. 4j+6")
  local r = receptive_region(net, {3, 224, 224}, {1, 10, 10})
  eq(r.rows[1], 31); eq(r.rows[2], 46)
  r = receptive_region(net, {3, 224, 224}, {1, 1, 1})
  eq(r.rows[1], 1); eq(r.rows[2], 10)    -- 4i-9 .. 4i+6 is -5..10; rows -5..0 are zero padding
  local l = receptive_field(net, {3, 224, 224}, { quiet = true })
  eq(l[#l].h.size, 16); eq(l[#l].h.jump, 4)
  -- non-square kernels and strides: per axis
  local ns = nn.Sequential{ nn.Conv2d(1, 1, {3, 1}, { stride = {2, 1} }), nn.Conv2d(1, 1, {1, 5}) }
  l = receptive_field(ns, {1, 20, 20}, { quiet = true })
  eq(l[#l].h.size, 3); eq(l[#l].w.size, 5); eq(l[#l].h.jump, 2); eq(l[#l].w.jump, 1)
  -- published: torchvision AlexNet 195 / 32, ResNet-18 435 / 32
  local function last_spatial(m)
    local lst, last = receptive_field(m, {3, 224, 224}, { quiet = true })
    for _, e in ipairs(lst) do if e.name:match("Adaptive") then break end last = e end
    return last
  end
  eq(last_spatial(models.alexnet()).h.size, 195)
  eq(last_spatial(models.resnet18()).h.size, 435)
  eq(last_spatial(models.resnet18()).h.jump, 32)
  -- Araujo et al. (Distill 2019) give 483 for ResNet-50 v1; torchvision's
  -- v1.5 strides after its 3x3 and sees 427
  eq(last_spatial(models.resnet50{ v1 = true }).h.size, 483)
  eq(last_spatial(models.resnet50()).h.size, 427)
  -- an adaptive pool whose output divides its input is a plain pool: 8 -> 4
  -- is kernel 2, stride 2 (and 6 -> 6 in AlexNet at 224 changes nothing)
  local ad = nn.Sequential{ nn.Conv2d(1, 1, 3, { padding = 1 }), nn.AdaptiveAvgPool2d(4) }
  local reg = receptive_region(ad, {1, 8, 8}, {1, 2, 3})
  eq(reg.rows[1], 2); eq(reg.rows[2], 5); eq(reg.cols[1], 4); eq(reg.cols[2], 7)
  local l = receptive_field(models.alexnet(), {3, 224, 224}, { quiet = true })
  eq(l[15].name, "AdaptiveAvgPool2d(output_size=6)"); eq(l[15].h.size, 195); eq(l[15].h.all, nil)
  -- the printed table never cuts a layer's settings
  local printed = capture(function()
    receptive_field(nn.Sequential{ nn.Conv2d(1, 1, 3, { stride = 2, padding = 1, dilation = 2 }) }, {1, 16, 16})
  end)
  eq(printed:find("Conv2d(1, 1, kernel_size=3, stride=2, padding=1, dilation=2)", 1, true) ~= nil, true, printed)
  -- uneven bins (7 -> 3): bin o reads floor((o-1)·7/3)+1 .. ceil(o·7/3), as
  -- PyTorch's adaptive pooling: 1..3, 3..5, 5..7; one bin (global) reads all
  for o, want in ipairs({ {1, 3}, {3, 5}, {5, 7} }) do
    local rg = receptive_region(nn.AdaptiveAvgPool2d(3), {2, 7, 7}, {2, o, 4 - o})
    eq(table.concat(rg.rows, ".."), table.concat(want, "..")); eq(table.concat(rg.channels, ".."), "2..2")
  end
  local g = receptive_region(nn.AdaptiveAvgPool2d(1), {3, 7, 5}, {3, 1, 1})
  eq(table.concat(g.rows, ".."), "1..7"); eq(table.concat(g.cols, ".."), "1..5"); eq(table.concat(g.channels, ".."), "3..3")
  -- no one formula for uneven bins, but not "the whole input" (each output reads its bin)
  expect_error(function() receptive_region(nn.AdaptiveAvgPool2d(3), {1, 7, 7}) end, "bins are uneven", "give the output index")
  l = receptive_field(models.resnet18(), {3, 224, 224}, { quiet = true })
  eq(l[#l - 2].h.all, true)
end)

-- The analytic region must be exactly where the gradient of one output
-- element is non-zero (positive weights and inputs, average pooling, so
-- no cancellation and no max-pool sparsity).
local function gradient_region(net, shape, idx)
  local x = rand(table.unpack(shape)):add(0.5):requires_grad()
  for _, p in ipairs(net:parameters()) do p:detach():copy(rand(p:shape()):add(0.1)) end
  local y = net(x)
  x.grad = nil
  net:zero_grad()
  y[{ idx[1], idx[2], idx[3] }]:backward()
  local g = x.grad:sum(1)   -- over channels
  local rows, cols = {}, {}
  for i = 1, g:size(1) do for j = 1, g:size(2) do
    if g[{ i, j }] ~= 0 then
      rows[1] = math.min(rows[1] or i, i); rows[2] = math.max(rows[2] or i, i)
      cols[1] = math.min(cols[1] or j, j); cols[2] = math.max(cols[2] or j, j)
    end
  end end
  return rows, cols
end

test("receptive_region matches the gradient's non-zero pattern", function()
  seed(9)
  local cases = {
    { nn.Sequential{ nn.Conv2d(2, 3, 3, { padding = 1 }), nn.AvgPool2d(2), nn.Conv2d(3, 2, 3, { stride = 2 }) }, {2, 17, 15} },
    { nn.Sequential{ nn.Conv2d(1, 2, 3, { dilation = 2, padding = 1 }), nn.AvgPool2d(3, { stride = 2, padding = 1 }),
        nn.Conv2d(2, 1, {3, 2}, { stride = {1, 2} }) }, {1, 19, 16} },
    { nn.Sequential{ nn.Conv2d(1, 1, 5, { stride = 3, padding = 2 }), nn.Conv2d(1, 1, 3, { padding = 1 }) }, {1, 13, 13} },
  }
  for n, case in ipairs(cases) do
    local net, shape = case[1], case[2]
    local out = net:out_shape(shape)
    for _, idx in ipairs({ {1, 1, 1}, {1, out[2], out[3]}, {1, (out[2] + 1) // 2, (out[3] + 1) // 2} }) do
      local r = receptive_region(net, shape, idx)
      local gr, gc = gradient_region(net, shape, idx)
      eq(table.concat(r.rows, ".."), table.concat(gr, ".."), ("case %d rows of output %s"):format(n, table.concat(idx, ",")))
      eq(table.concat(r.cols, ".."), table.concat(gc, ".."), ("case %d columns of output %s"):format(n, table.concat(idx, ",")))
    end
  end
end)

-- The same oracle per dim, channels included: the box where dy[idx]/dx ~= 0.
local function gradient_box(net, shape, idx)
  local x = rand(table.unpack(shape)):add(0.5):requires_grad()
  for _, p in ipairs(net:parameters()) do p:detach():copy(rand(p:shape()):add(0.1)) end
  local y = net(x)
  y[idx]:backward()
  local box = {}
  local g, n = x.grad, #shape
  local function visit(d, pos)
    if d > n then
      if g[pos] ~= 0 then
        for k = 1, n do box[k] = { math.min(box[k] and box[k][1] or pos[k], pos[k]), math.max(box[k] and box[k][2] or pos[k], pos[k]) } end
      end
      return
    end
    for i = 1, shape[d] do local p = { table.unpack(pos) }; p[d] = i; visit(d + 1, p) end
  end
  visit(1, {})
  return box
end

test("receptive_region: channels through pools, grouped and depthwise convs, Concat, Linear", function()
  seed(12)
  local function txt(r) local t = {} for _, v in ipairs(r) do t[#t + 1] = v[1] .. ".." .. v[2] end return table.concat(t, " ") end
  local cases = {
    -- pooling keeps the channel; groups=2 reads its half; depthwise its one channel
    { nn.Sequential{ nn.Conv2d(4, 6, 3, { padding = 1, groups = 2 }), nn.AvgPool2d(2), nn.Conv2d(6, 6, 3, { groups = 6 }) },
      {4, 10, 10}, { {1, 1, 1}, {4, 2, 3}, {6, 3, 3} } },
    -- a Concat's channel comes from one branch, with that branch's field
    { nn.Concat{ nn.Conv2d(3, 2, 1), nn.Conv2d(3, 3, 5, { padding = 2, groups = 3 }),
        nn.Sequential{ nn.AvgPool2d(3, { stride = 1, padding = 1 }), nn.Conv2d(3, 1, 1) } },
      {3, 9, 9}, { {1, 5, 5}, {4, 5, 5}, {5, 1, 9}, {6, 5, 5} } },
    -- a conv after the Concat reads every branch: the largest field, all channels
    { nn.Sequential{ nn.Concat{ nn.Conv2d(2, 1, 1), nn.Conv2d(2, 1, 3, { padding = 1 }) }, nn.Conv2d(2, 1, 1) },
      {2, 7, 7}, { {1, 4, 4} } },
    -- a floor drops the last row of the first layer's input: never in the region
    { nn.Sequential{ nn.Conv2d(1, 1, 3, { stride = 2 }), nn.Conv2d(1, 1, 3, { padding = 1 }) }, {1, 6, 6}, { {1, 2, 2} } },
    -- transposed and grouped
    { nn.ConvTranspose2d(2, 4, 3, { stride = 2, groups = 2 }), {2, 4, 4}, { {3, 1, 4}, {1, 5, 5} } },
    -- a user's block, walked through its analyse(): y = conv2(relu(conv1(x))) + x
    { (function()
        local B = nn.class("TestBlk")
        function B:init() self.c1 = nn.Conv2d(2, 2, 3, 1, 1); self.c2 = nn.Conv2d(2, 2, 3, 1, 1, 1, 2) end
        function B:compute(x) return self.c2(sigmoid(self.c1(x))) + x end
        B.out_shape = nn.Module.same_shape
        function B:analyse(sh, visit) local h = visit(self.c1, sh, "c1"); local y = visit(self.c2, h, "c2"); return y, { y, sh } end
        return nn.Sequential{ B(), nn.AvgPool2d(2) }
      end)(), {2, 8, 8}, { {1, 2, 2}, {2, 1, 4} } },
    -- past global pooling and a Linear everything is read
    { nn.Sequential{ nn.Conv2d(2, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 3) }, {2, 6, 6}, { {2} } },
  }
  for n, case in ipairs(cases) do
    for _, idx in ipairs(case[3]) do
      local r = receptive_region(case[1], case[2], idx)
      local got = #case[2] == 3 and { r.channels, r.rows, r.cols }
      eq(txt(got), txt(gradient_box(case[1], case[2], idx)), ("case %d output {%s}"):format(n, table.concat(idx, ",")))
    end
  end
  -- a batch is traced per sample, and the printed form names the channels and the branch
  local net = cases[1][1]
  eq(txt({ receptive_region(net, {2, 4, 10, 10}, {4, 2, 3}).channels }), "3..4")
  local p = tostring(receptive_region(cases[2][1], {3, 9, 9}, {4, 5, 5}))
  eq(p:find("channels 2, rows 3..7, columns 3..7", 1, true) ~= nil, true, p)
  eq(p:find("note: Concat channel 4 = branch 2's channel 2", 1, true) ~= nil, true, p)
  eq(tostring(receptive_region(nn.MaxPool2d(2), {3, 4, 4}, {2, 1, 1})), "channels 2, rows 1..2, columns 1..2")
  -- softmax over the channels reads all of them; over the default (last) dim the columns
  eq(txt({ receptive_region(nn.Sequential{ nn.MaxPool2d(2), nn.Softmax(1) }, {3, 4, 4}, {2, 1, 1}).channels }), "1..3")
  eq(txt({ receptive_region(nn.Softmax(), {3, 4, 4}, {2, 1, 1}).cols }), "1..4")
end)

test("branches: Residual and Concat take the largest field and say so when misaligned", function()
  local inc = models.inception{}
  local s = summary(inc, {192, 28, 28}, { quiet = true })
  eq(s[1].rf[1].r, 5)                       -- the 5x5 branch
  eq(s[1].note, "receptive field: the largest branch's (each branch's own is on its rows)")
  local mis = nn.Concat{ nn.Conv2d(1, 1, 3, { padding = 1 }), nn.Conv2d(1, 1, 2, { padding = 0 }) }
  expect_error(function() return summary(mis, {1, 8, 8}, { quiet = true }) end, "Concat: branch 2 gives {1, 7, 7}")
  local mis2 = nn.Concat{ nn.Conv2d(1, 1, 3, { padding = 1 }), nn.AvgPool2d(3, { stride = 1, padding = 1 }) }
  local s2 = summary(mis2, {1, 8, 8}, { quiet = true })
  eq(s2[1].note, "receptive field: the largest branch's (each branch's own is on its rows)")
  -- the note is about the RF column: a table without it does not print it
  local text = tostring(summary(mis2, {1, 8, 8}, { quiet = true, columns = { "out", "params" } }))
  eq(text:find("largest branch", 1, true), nil, "no RF note without an RF column")
  local shifted = nn.Concat{ nn.Conv2d(1, 1, 3, { padding = 1 }), nn.Conv2d(1, 1, 3, { padding = {1, 1}, dilation = 1 }),
    nn.Sequential{ nn.Conv2d(1, 1, 1), nn.Conv2d(1, 1, 3, { padding = 1 }) } }
  eq(summary(shifted, {1, 8, 8}, { quiet = true })[1].rf[1].aligned, true)
  local off = nn.Residual(nn.Conv2d(1, 1, 4, { padding = 2 }), { projection = nn.Conv2d(1, 1, 1, { padding = 0 }) })
  expect_error(function() summary(off, {1, 8, 8}, { quiet = true }) end, "Residual: the block gives {1, 9, 9}")
end)

test("summary returns a table and reports bad input by layer", function()
  local s = summary(models.lenet5(), {1, 32, 32}, { quiet = true })
  eq(s.total.params, 61706)
  eq(table.concat(s[2].out_shape, "x"), "6x28x28")
  eq(type(tostring(s)), "string")
  expect_error(function() summary({}, {1, 2, 2}) end, "summary: the first argument must be a model")
  expect_error(function() summary(models.lenet5(), {32, 32}) end, "layer 1 (Conv2d(1, 6, kernel_size=5))", "{32, 32}")
  expect_error(function() summary(models.lenet5(), {3, 32, 32}) end, "input has 3 channels, the layer expects 1")
  expect_error(function() summary(nn.Conv2d(1, 1, 7), {1, 5, 5}) end, "summary: Conv2d(1, 1, kernel_size=7)", "too small for kernel 7")
  expect_error(function() summary(models.lenet5(), {1, 32, 0}) end, "not a positive whole number")
  expect_error(function() summary(models.lenet5(), {1, 32, 32}, { bogus = 1 }) end, "unknown option 'bogus'")
  expect_error(function() summary(models.lenet5(), {1, 32, 32}, { columns = { "nope" } }) end, "unknown column 'nope'")
  -- past a Linear the general form is an answer: the whole input, not an error
  local whole = receptive_region(models.lenet5(), {1, 32, 32})
  eq(whole.all, true); eq(whole.rows.size, 32); eq(whole.cols.size, 32)
  eq(tostring(whole), "every output sees the whole input: rows 1..32, columns 1..32 (past a Linear layer or global pooling)")
  eq(receptive_region(nn.Sequential{ nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1) }, {3, 10, 12}).cols.size, 12)
  expect_error(function() receptive_region(models.lenet5(), {1, 32, 32}, {1, 1, 1}) end, "one entry per output dim, {k} for output shape {10}")
  local all = receptive_region(models.lenet5(), {1, 32, 32}, {7})   -- past a Linear: everything
  eq(table.concat({ all.channels[1], all.channels[2], all.rows[1], all.rows[2], all.cols[1], all.cols[2] }, " "), "1 1 1 32 1 32")
  expect_error(function() receptive_region(nn.Conv2d(1, 1, 3), {1, 8, 8}, {1, 7, 1}) end, "row 7 is out of range 1..6")
end)

test("check(): numbers, tensors, tolerance, the tally", function()
  local saved = require("nncalc.check").results
  require("nncalc.check").results = {}
  local out = capture(function()
    nncalc.ascii = true
    check("a number", 8, 8)
    check("a slip", 8, 9)
    check("close enough", 1 / 3, 0.333333, 1e-5)
    check("a tensor", tensor{{1, 2}, {3, 4}}, {{1, 2}, {3, 5}})
    check("a shape", tensor{1, 2, 3}, {{1, 2}, {3, 4}})
    check("a transpose", tensor{{1, 2, 3}, {4, 5, 6}}, {{1, 2}, {3, 4}, {5, 6}})
    check("a row for a vector", tensor{{1, 2}}, {1, 2})
    check("a NaN entry", tensor{0 / 0, 1}, {1, 1})
    check("NaN expected", 0 / 0, 0 / 0)
    check("one number for a vector", tensor{1, 2}, 1)
    check_summary()
    nncalc.ascii = nil
  end)
  eq(out, "ok a number = 8\n"
    .. "FAIL a slip: expected 9, got 8 (difference -1) [exact: integers]\n"
    .. "ok close enough = 0.333333\n"
    .. "FAIL a tensor: 1 of 4 entries differ (largest difference 1): [2,2] expected 5, got 4 [exact: integers]\n"
    .. "FAIL a shape: expected shape 2x2, got shape 3\n"
    .. "FAIL a transpose: expected shape 3x2, got shape 2x3 (the transpose?)\n"
    .. "ok a row for a vector: shape 1x2 read as 2; all 2 entries match\n"
    .. "FAIL a NaN entry: 1 of 2 entries differ (largest difference nan): [1] expected 1, got nan [exact for integers, relative 1e-06 otherwise]\n"
    .. "ok NaN expected = nan\n"
    .. "FAIL one number for a vector: expected a single number 1, got a tensor of shape 2\n"
    .. "checks: 4 passed, 6 failed\n")
  require("nncalc.check").results = saved
  expect_error(function() check(1, 2, 3) end, "check: the first argument is a label")
end)

test("a user's layer without a shape rule is named, not guessed", function()
  local Double = nn.class("Double")
  function Double:compute(x) return cat({ x, x }, 1) end
  local net = nn.Sequential{ nn.Linear(2, 2), Double() }
  tensor_eq(net(tensor{1, 1}):detach(), net(tensor{1, 1}):detach():totable())
  expect_error(function() summary(net, {2}, { quiet = true }) end, "layer 2 (Double())", "Double has no shape rule")
  function Double:out_shape(s) return { 2 * s[1] } end
  eq(summary(net, {2}, { quiet = true }).total.out_shape[1], 4)
end)

test("windows over zero padding count in full, and the conventions say so", function()
  -- Conv2d(2, 3, 3, padding 1) on 2x5x5: 5·5·3 outputs, each 2·3·3 products,
  -- though a corner output has only 2·2·2 real inputs
  local s = summary(nn.Conv2d(2, 3, 3, 1, 1), {2, 5, 5}, {quiet = true})
  eq(s[1].mults, 5 * 5 * 3 * 2 * 9); eq(s[1].conns, 5 * 5 * 3 * 2 * 9)
  -- MaxPool2d(3, 1, 1) on 1x4x4: 16 windows of 9 positions, 8 compares each
  local p = summary(nn.MaxPool2d(3, 1, 1), {1, 4, 4}, {quiet = true})
  eq(p[1].comps, 16 * 8); eq(p[1].conns, 16 * 9)
  local out = capture(function() summary(nn.Conv2d(2, 3, 3, 1, 1), {2, 5, 5}) end)
  eq(out:gsub("%s+", " "):find("a window over zero padding in full", 1, true) ~= nil, true, out)
end)

test("check(): counts compare exactly, floats past 2^53 relatively (two roundings of 6·N·D differ in the last bit)", function()
  local saved = require("nncalc.check").results
  require("nncalc.check").results = {}
  local n, d = 193027209, 502695148524.0
  local a, b = 6 * n * d, n * d * 6
  eq(a ~= b, true, "the two orders round differently")   -- 65536 apart, 1 ulp at 5.8e20
  local out = capture(function()
    nncalc.ascii = true
    check("6ND", a, b)
    check("conns", 999407616, 999407000)             -- below 2^53: exact
    check("2^52 + 1", 2.0 ^ 52 + 1, 2.0 ^ 52)       -- whole floats below 2^53: exact
    check("Lua integers past 2^53", (1 << 60) + 1, 1 << 60)   -- integers are exact at any size
    check("1e20 vs 1.0000001e20", 1e20, 1.0000001e20) -- relative 1e-7 < 1e-6
    check("1e20 vs 1.00001e20", 1e20, 1.00001e20)
    nncalc.ascii = nil
  end)
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
  eq(lines[1]:match("^ok 6ND") ~= nil, true, out)
  eq(lines[2]:match("^FAIL conns.*%[exact: integers%]") ~= nil, true, out)
  eq(lines[3]:match("^FAIL 2%^52 %+ 1.*%[exact: integers%]") ~= nil, true, out)
  eq(lines[4]:match("^FAIL Lua integers past 2%^53.*%[exact: integers%]") ~= nil, true, out)
  eq(lines[5]:match("^ok 1e20 vs 1.0000001e20") ~= nil, true, out)
  eq(lines[6]:match("^FAIL 1e20 vs 1.00001e20.*%[relative tolerance 1e%-06%]") ~= nil, true, out)
  require("nncalc.check").results = saved
end)

test("uneven adaptive bins: the field is unknown (?), not 'all'; a Linear after still sees all", function()
  -- Conv 3x3 on 9x9 -> 7x7, adaptive 3: bins 1..3, 3..5, 5..7 of the 7, so output
  -- (1, 1) reads input rows 1..5: a field of 5, not the whole 9
  local net = nn.Sequential{ nn.Conv2d(1, 1, 3), nn.AdaptiveAvgPool2d(3) }
  local s = summary(net, {1, 9, 9}, { quiet = true })
  eq(s[2].rf[1].r, 3)
  eq(s[3].rf[1].unknown, true); eq(s[3].rf[1].global, nil)
  local r = receptive_region(net, {1, 9, 9}, {1, 1, 1})
  eq(table.concat(r.rows, ".."), "1..5"); eq(table.concat(r.cols, ".."), "1..5")
  r = receptive_region(net, {1, 9, 9}, {1, 2, 3})
  eq(table.concat(r.rows, ".."), "3..7"); eq(table.concat(r.cols, ".."), "5..9")
  local out = capture(function() summary(net, {1, 9, 9}, { columns = { "rf" } }) end)
  eq(out:find("bins are uneven on 1x7x7", 1, true) ~= nil, true, out)
  -- a divisible input is a plain pool (6 -> 3: k = s = 2), one bin is global
  eq(summary(nn.Sequential{ nn.Conv2d(1, 1, 3), nn.AdaptiveAvgPool2d(3) }, {1, 8, 8}, { quiet = true })[3].rf[1].r, 3 + 1)
  eq(summary(nn.AdaptiveAvgPool2d(1), {1, 7, 7}, { quiet = true })[1].rf[1].global, true)
  -- AlexNet at 256: features end at 7x7, adaptive 6 is uneven; the classifier sees all
  local a = summary(models.alexnet(), {3, 256, 256}, { quiet = true })
  eq(a[14].rf[1].r, 195)
  eq(a[15].rf[1].unknown, true)
  eq(a[#a].rf[1].global, true); eq(a[1].rf[1].global, true)
  local l = receptive_field(nn.Sequential{ nn.Conv2d(1, 1, 3), nn.AdaptiveAvgPool2d(3), nn.Flatten(), nn.Linear(9, 2) }, {1, 9, 9}, { quiet = true })
  eq(l[3].unknown, true); eq(l[#l].h.all, true)
end)

test("check(): a 3-D or 4-D tensor copied from the screen, slice headers and all", function()
  local saved = require("nncalc.check").results
  require("nncalc.check").results = {}
  -- seed 002 P4 Q4: I = [6 0 1; 3 4 1; 4 7 0], K = [1 0; 0 -1] gives [2 -1; -4 4]
  local y = conv2d(tensor{{{6, 0, 1}, {3, 4, 1}, {4, 7, 0}}}, tensor{{{{1, 0}, {0, -1}}}})
  local z = arange(1, 12):view(2, 1, 2, 3)
  local out = capture(function()
    nncalc.ascii = true
    check("conv as printed", y, tostring(y))
    check("conv typed", y, "(1,.,.) =\n  2  -1\n -4   4\n\n[tensor 1x2x2]")
    check("conv wrong", y, "(1,.,.) =\n  2  -1\n -4   5\n\n[tensor 1x2x2]")
    check("4-D without the footer", z, "(1,1,.,.) =\n 1 2 3\n 4 5 6\n\n(2,1,.,.) =\n 7 8 9\n 10 11 12\n")
    check("decimals", tensor{{{0.5, 0.25}}}, "(1,.,.) =\n 0.5000  0.2500\n\n[tensor 1x1x2]")
    check("a shape that does not fit", y, "(1,.,.) =\n 2 -1 -4\n\n[tensor 1x1x3]")
    nncalc.ascii = nil
  end)
  local lines = {}
  for l in out:gmatch("[^\n]+") do if l:match("^ok") or l:match("^FAIL") then lines[#lines + 1] = l end end
  eq(lines[1]:match("^ok conv as printed: all 4 entries match") ~= nil, true, out)
  eq(lines[2]:match("^ok conv typed: all 4 entries match") ~= nil, true, out)
  eq(lines[3]:match("^FAIL conv wrong: 1 of 4 entries differ.*%[1,2,2%] expected 5, got 4") ~= nil, true, out)
  eq(lines[4]:match("^ok 4%-D without the footer: all 12 entries match") ~= nil, true, out)
  eq(lines[5]:match("^ok decimals: all 2 entries match %[as written: within ") ~= nil, true, out)
  eq(lines[6]:match("^FAIL a shape that does not fit") ~= nil, true, out)
  require("nncalc.check").results = saved
end)

test("check(): text that is not numbers as printed says so instead of showing two equal-looking values", function()
  local saved = require("nncalc.check").results
  require("nncalc.check").results = {}
  local out = capture(function()
    nncalc.ascii = true
    check("units", 3, "3 apples")
    check("words", tensor{1, 2}, "1, 2, x")
    check("strings", "abc", "abc")
    nncalc.ascii = nil
  end)
  eq(out:find('FAIL units: expected "3 apples", which is not numbers as nncalc prints them', 1, true) ~= nil, true, out)
  eq(out:find('FAIL words: expected "1, 2, x", which is not numbers as nncalc prints them (a word or sign it cannot read), got a tensor of shape 2', 1, true) ~= nil, true, out)
  eq(out:find("ok strings", 1, true) ~= nil, true, out)
  require("nncalc.check").results = saved
end)

test("models.inception: a misspelt or missing width is an error, not a different module", function()
  -- seed 000, part 5: the module with 1x1 reductions has 346,720 parameters:
  -- 257·128 + 257·64 + 577·192 + 257·64 + 1601·96 + 257·64
  local full = { input = 256, b1 = 128, b3_reduce = 64, b3 = 192, b5_reduce = 64, b5 = 96, pool_proj = 64 }
  eq(summary(models.inception(full), {256, 32, 32}, { quiet = true }).total.params,
    257 * 128 + 257 * 64 + 577 * 192 + 257 * 64 + 1601 * 96 + 257 * 64)
  -- the naive one: 257·128 + 2305·192 + 6401·96 = 1,089,952 (the sheet's 1,147,264 used 128 for every branch)
  eq(summary(models.inception{ input = 256, b1 = 128, b3 = 192, b5 = 96 }, {256, 32, 32}, { quiet = true }).total.params,
    257 * 128 + 2305 * 192 + 6401 * 96)
  local typo = {}; for k, v in pairs(full) do typo[k] = v end
  typo.b3_reduce, typo.b3_redcue = nil, 64
  expect_error(function() models.inception(typo) end, "models.inception: unknown setting 'b3_redcue'")
  local no_proj = {}; for k, v in pairs(full) do no_proj[k] = v end
  no_proj.pool_proj = nil
  expect_error(function() models.inception(no_proj) end, "but not pool_proj")
  expect_error(function() models.inception{ input = 256, b1 = 128, b3 = 192, b5 = 96, pool_proj = 64 } end,
    "but not b3_reduce, b5_reduce")
  expect_error(function() models.inception{ input = 256, b1 = 128, b3 = 192 } end, "but not b5")
  expect_error(function() models.inception{ b3_reduce = false, b1 = 1, b3 = 2, b5 = 3, pool_proj = 4 } end,
    "pool_proj belong to the module with 1x1 reductions")
end)

test("models: a misspelt setting is an error, not the default; {classes=} everywhere", function()
  -- a 10-class head: 1000-class count − (fan·1000 + 1000) + (fan·10 + 10)
  local function with10(full, fan) return full - (fan * 1000 + 1000) + (fan * 10 + 10) end
  local function params(m, shape) return summary(m, shape, { quiet = true }).total.params end
  eq(params(models.alexnet{ classes = 10 }, {3, 224, 224}), with10(61100840, 4096))
  eq(params(models.resnet18{ classes = 10 }, {3, 224, 224}), with10(11689512, 512))
  eq(params(models.resnet50{ classes = 10, v1 = true }, {3, 224, 224}), with10(25557032, 2048))
  expect_error(function() models.resnet50{ clases = 10 } end, "models.resnet50: unknown setting 'clases' (classes, v1)")
  expect_error(function() models.vgg16{ clases = 10 } end, "models.vgg16: unknown setting 'clases' (classes)")
  expect_error(function() models.gpt2{ bais = false } end, "models.gpt2: unknown setting 'bais'")
  expect_error(function() models.bert{ size = "base", layers = 6 } end, "models.bert: unknown setting 'layers'")
  expect_error(function() models.vit{ clases = 10 } end, "models.vit: unknown setting 'clases'")
  expect_error(function() models.gpt{ d = 8, layers = 1, heads = 2, vocab = 10, context = 4, n_embd = 8 } end,
    "models.gpt: unknown setting 'n_embd'")
end)

test("conv_solve says which settings it assumed, in the table and when nothing fits", function()
  -- 32 -> 16 with k = 3: with padding 0 no stride works (floor(29/s) + 1 = 16 has none);
  -- with padding 1, stride 2: floor((32 + 2 - 2 - 1)/2) + 1 = 16
  expect_error(function() conv_solve{ input = 32, output = 16, kernel = 3 } end,
    "no stride gives output 16 from these settings; assumed padding 0 and dilation 1")
  local s = conv_solve{ input = 32, output = 16, kernel = 3, padding = 1, dilation = 1 }
  eq(#s, 1); eq(s[1].stride, 2); eq(#s.assumed, 0)
  local t = conv_solve{ input = 64, output = 6, exact = true }
  eq(table.concat(t.assumed, ", "), "padding 0, dilation 1")
  eq(tostring(t):find("(12 solutions with exact division; assumed padding 0 and dilation 1)", 1, true) ~= nil, true)
end)
