-- Training arithmetic: memory in bytes, compute and time, schedules,
-- clipping, Adam's conventions and nn.init — against values worked out by
-- hand here or published (cited where they come from).

local function quiet(f) return capture(f) end

test("train_compute: nanoGPT's 3.46 days, PaLM's formula, MFU from a measured time", function()
  -- nanoGPT transformer_sizing.ipynb: N = 124,337,664 (bias-free GPT-2 small),
  -- D = 300B tokens, 8 A100s at 312 TFLOPS, 30% MFU -> "3.46 days"
  local r = train_compute{params = 124337664, tokens = 300e9, gpus = 8, peak_flops = 312e12, mfu = 0.3, quiet = true}
  near(r.flops, 6 * 124337664 * 300e9, 1e-15)
  eq(("%.2f"):format(r.days), "3.46")
  near(r.tokens_per_second, 300e9 / r.seconds, 1e-15)
  -- the same notebook: palm_flops() = 879,894,724,608 for one 1024-token sequence
  local p = train_compute{params = 124337664, tokens = 1024, rule = "palm", layers = 12, heads = 12, head_dim = 64,
    context = 1024, quiet = true}
  eq(p.flops, 879894724608)
  -- and its measured MFU: 874,944,921,600 FLOPs per sequence, 100 sequences in 0.755 s on one A100 -> 37.14%
  local m = train_compute{flops_per_token = 874944921600 / 1024, params = 0, tokens = 100 * 1024, time = 0.755,
    peak_flops = 312e12, quiet = true}
  eq(("%.2f"):format(100 * m.mfu), "37.14")
  expect_error(function() train_compute{params = 1} end, "params = N and tokens = D")
  expect_error(function() train_compute{params = 1, tokens = 1, rule = "palm"} end, "needs layers")
end)

test("train_compute on a model: forward from summary, backward twice the forward", function()
  local net = nn.Sequential{ nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2) }
  -- MACs per sample 4·3 + 3·2 = 18: forward 36 FLOPs, backward 72
  local r = train_compute(net, {4}, { samples = 10, quiet = true })
  eq(r.forward, 36); eq(r.backward, 72); eq(r.flops, 1080)
end)

test("memory: the bytes-per-parameter rules and the ledger", function()
  local P = 124337664
  local m = memory{params = P, quiet = true}
  eq(m.bytes_per_param, 16, "fp32 Adam: 4 + 4 + 8")
  eq(m.total, 16 * P)
  -- nanoGPT's checkpoint estimate: params + 2 AdamW buffers in fp32 = 12 B/param (1.49 GB)
  eq(m.checkpoint, 12 * P); eq(("%.2f"):format(m.checkpoint / 1e9), "1.49")
  eq(memory{params = P, dtype = "mixed", quiet = true}.bytes_per_param, 16, "2 + 2 + 12 (fp32 master + m + v)")
  eq(memory{params = P, dtype = "bf16", quiet = true}.bytes_per_param, 8)
  eq(memory{params = P, optimizer = "sgd", quiet = true}.bytes_per_param, 8)
  eq(memory{params = P, optimizer = "momentum", quiet = true}.bytes_per_param, 12)
  eq(memory{params = P, amsgrad = true, quiet = true}.bytes_per_param, 20, "AMSGrad keeps a third buffer")
  eq(memory{params = P, training = false, dtype = "fp16", quiet = true}.total, 2 * P)
  expect_error(function() memory{params = 1, dtype = "fp8"} end, 'dtype must be "fp32"')
  expect_error(function() memory(nn.Linear(2, 2), {2}, {batch = 0}) end, "batch must be a whole number >= 1")
end)

test("memory: activations from the values each layer saves, and the largest batch", function()
  -- Linear(784, 512) saves its input 784, ReLU its output 512, Linear(512, 10) its input 512
  local net = nn.Sequential{ nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10) }
  local P = 784 * 512 + 512 + 512 * 10 + 10
  local m = memory(net, {784}, { batch = 64, quiet = true })
  eq(m.activations, 64 * 1808 * 4)
  eq(m.fixed, 16 * P); eq(m.per_sample, 1808 * 4)
  eq(m.total, 64 * 1808 * 4 + 16 * P)
  local b = fit_batch(net, {784}, 1e8, { quiet = true })
  eq(b, (1e8 - 16 * P) // (1808 * 4))
  -- max pooling keeps its input and an int64 argmax per output:
  -- conv input 36 + pool input 2·4·4 = 32 values, 2·2·2 = 8 indices
  local cnn = nn.Sequential{ nn.Conv2d(1, 2, 3), nn.MaxPool2d(2) }
  eq(memory(cnn, {1, 6, 6}, { quiet = true }).activations, (36 + 32) * 4 + 8 * 8)
end)

test("memory: the KV cache counts KV heads (GQA), not query heads", function()
  -- Llama-2-70B: 80 layers, 8 KV heads (64 query heads), head_dim 128, fp16;
  -- 4096 tokens: 2·80·8·128·4096·2 B = 1.25 GiB per sequence, 8x less than with 64
  local kv = { layers = 80, kv_heads = 8, head_dim = 128, tokens = 4096 }
  local m = memory{params = 0, training = false, dtype = "fp16", kv_cache = kv, quiet = true}
  eq(m.kv_cache, 2 * 80 * 8 * 128 * 4096 * 2); eq(m.kv_cache / 2 ^ 30, 1.25)
  kv.kv_heads = 64
  eq(memory{params = 0, training = false, dtype = "fp16", kv_cache = kv, batch = 2, quiet = true}.kv_cache, 8 * 2 * m.kv_cache)
  expect_error(function() memory{params = 0, kv_cache = true} end, "kv_cache needs layers")
  local text = quiet(function() memory{params = 0, training = false, kv_cache = kv, explain = true} end)
  eq(text:find("2·layers·kv_heads·head_dim·tokens·batch·bytes = 2·80·64·128·4096·1·4", 1, true) ~= nil, true, text)
end)

test("schedules: the three warmup conventions, PyTorch's closed forms, per step", function()
  local lr, W, T = 6e-4, 2000, 600000
  local nano = optim.warmup_cosine{lr = lr, min_lr = 6e-5, warmup = W, total = T}
  near(nano(0), lr * 1 / (W + 1)); near(nano(W - 1), lr * W / (W + 1))
  near(nano(W), lr); near(nano(T), 6e-5); near(nano(T + 1), 6e-5)
  near(nano((W + T) // 2), 6e-5 + 0.5 * (lr - 6e-5), 1e-12)   -- halfway down the cosine
  near(optim.warmup_cosine{lr = lr, warmup = W, total = T, convention = "build-nanogpt"}(0), lr / W)
  eq(optim.warmup_cosine{lr = lr, warmup = W, total = T, convention = "cs336"}(0), 0)
  near(optim.warmup_cosine{lr = 1, warmup = 10, total = 100, convention = "cs336"}(5), 0.5)
  -- Attention is all you need: d^-0.5·min(t^-0.5, t·w^-1.5), t from 1
  local noam = optim.inverse_sqrt{d_model = 512, warmup = 4000}
  near(noam(3999), 512 ^ -0.5 * 4000 ^ -0.5); near(noam(0), 512 ^ -0.5 * 4000 ^ -1.5)
  -- LinearLR base·(s + (e − s)·min(t, T)/T); OneCycle: max_lr/25 up to max_lr at 0.3·T − 1
  local lin = optim.LinearLR{lr = 0.1, start_factor = 0.5, total_iters = 4}
  near(lin(0), 0.05); near(lin(2), 0.075); near(lin(9), 0.1)
  local oc = optim.OneCycleLR{max_lr = 1, total_steps = 10}
  near(oc(0), 1 / 25); eq(oc(2), 1); near(oc(9), 1 / 25 / 1e4)
  near(oc(1), 1 + (1 / 25 - 1) / 2 * (1 + math.cos(math.pi * 0.5)))
  local seq = optim.SequentialLR{lr = 1, schedulers = { optim.LinearLR{lr = 1, start_factor = 0.5, total_iters = 2},
    optim.ExponentialLR{lr = 1, gamma = 0.5} }, milestones = {3}}
  near(seq(0), 0.5); near(seq(3), 1); near(seq(5), 0.25)
  eq(optim.LambdaLR{lr = 2, lr_lambda = function(t) return 1 / (t + 1) end}(3), 0.5)
  -- attached to an optimizer (per epoch) and given as its lr (per step)
  local W1 = tensor{1}:requires_grad()
  local opt = optim.SGD({W1}, {lr = 0.1})
  local st = optim.StepLR(opt, {step_size = 2, gamma = 0.5})
  st:step(); st:step(); near(opt.lr, 0.05)
  local per_step = optim.SGD({W1}, {lr = optim.warmup_cosine{lr = 1, warmup = 10, total = 100, convention = "cs336"}})
  for _ = 1, 3 do W1:zero_grad(); W1:sum():backward(); per_step:step() end
  near(per_step.lr, 0.2, 1e-15, "the rate of the third step, t = 2")
  expect_error(function() optim.warmup_cosine{lr = 1, warmup = 10, total = 5} end, "total must be larger than warmup")
  expect_error(function() optim.warmup_cosine{lr = 1, warmup = 1, total = 5, convention = "x"} end, 'convention must be')
  eq(#nano:values(5), 5)
  eq(quiet(function() optim.LinearLR{lr = 1, total_iters = 2}:table(3) end):find("2  1", 1, true) ~= nil, true)
end)

test("clip_grad_norm and clip_grad_value as torch.nn.utils", function()
  local W = tensor{3, 4}:requires_grad()
  local b = tensor{0}:requires_grad()
  W:zero_grad(); W:cmul(W):sum():backward()   -- W.grad = (6, 8): norm 10
  b:cmul(tensor{0}):sum():backward()          -- b.grad = 0
  local text = capture(function() eq(clip_grad_norm({W, b}, 5, {trace = true}), 10) end)
  local f = 5 / (10 + 1e-6)
  near(W.grad[1], 6 * f); near(W.grad[2], 8 * f)
  eq(text:find("factor = max_norm / (total + 1e-6)", 1, true) ~= nil, true, text)
  eq(clip_grad_norm({W}, 100), 10 * f, "no change below max_norm")
  W:zero_grad(); (W:cmul(W)):sum():backward()
  eq(clip_grad_norm({W}, 1, {norm_type = math.huge}), 8)
  W:zero_grad(); (W:cmul(W)):sum():backward()
  eq(clip_grad_value({W}, 7), 1); eq(W.grad[2], 7); eq(W.grad[1], 6)
  expect_error(function() clip_grad_norm({W}, -1) end, "max_norm must be a number >= 0")
  expect_error(function() clip_grad_norm({1}, 1) end, "parameter 1 is a number")
end)

test("Adam without bias correction (CS224n) and AMSGrad, by hand", function()
  local W = tensor{1}:requires_grad()
  local opt = optim.Adam({W}, {lr = 0.1, bias_correction = false})
  W:cmul(tensor{2}):sum():backward()   -- g = 2
  opt:step()
  -- m = 0.1·2 = 0.2, v = 0.001·4 = 0.004, θ = 1 − 0.1·0.2/(√0.004 + 1e-8)
  near(W:item(), 1 - 0.1 * 0.2 / (math.sqrt(0.004) + 1e-8), 1e-14)
  local A = tensor{1}:requires_grad()
  local ams = optim.Adam({A}, {lr = 0.1, amsgrad = true})
  A:zero_grad(); A:cmul(tensor{3}):sum():backward(); ams:step()    -- v1 = 0.009
  A:zero_grad(); A:cmul(tensor{0}):sum():backward()   -- g = 0: v2 = 0.999·0.009 < vmax = 0.009
  local before = A:item()
  local trace = capture(function() ams:step{trace = true} end)
  local m2 = 0.9 * 0.3
  local vmax = 0.009
  near(A:item(), before - 0.1 / (1 - 0.9 ^ 2) * m2 / (math.sqrt(vmax) / math.sqrt(1 - 0.999 ^ 2) + 1e-8), 1e-12)
  eq(trace:find("vmax ← max(vmax, v)", 1, true) ~= nil, true, trace)
end)

test("nn.init: PyTorch's bounds and stds, fans of conv weights, gains", function()
  seed(3)
  local _, x = nn.init.xavier_uniform(zeros(20, 10, 3, 3))
  eq(x.fan_in, 90); eq(x.fan_out, 180); near(x.bound, math.sqrt(6 / 270))
  -- nn.Linear's default, kaiming_uniform(a = √5), is U(±1/√fan_in)
  local W, k = nn.init.kaiming_uniform(zeros(50, 40), {a = math.sqrt(5)})
  near(k.bound, 1 / math.sqrt(40), 1e-15)
  eq(W:abs():max() <= k.bound, true)
  local _, h = nn.init.kaiming_normal(zeros(30, 128), {nonlinearity = "relu", mode = "fan_out"})
  near(h.std, math.sqrt(2) / math.sqrt(30))
  near(nn.init.calculate_gain("tanh"), 5 / 3); near(nn.init.calculate_gain("leaky_relu", 0.2), math.sqrt(2 / 1.04))
  eq(nn.init.calculate_gain("selu"), 0.75)
  local text = capture(function() nn.init.kaiming_normal(zeros(8, 16), {nonlinearity = "relu", explain = true}) end)
  eq(text:find("predicted Var(out) = fan_in·Var(w)·Var(x) = 16·0.125·1 = 2", 1, true) ~= nil, true, text)
  local Q = nn.init.orthogonal(zeros(3, 5))
  local I = Q * Q:t()
  for i = 1, 3 do for j = 1, 3 do near(I[{i, j}], i == j and 1 or 0, 1e-12) end end
  local T = nn.init.trunc_normal(zeros(500), {std = 2, a = -1, b = 1})
  eq(T:max() <= 1 and T:min() >= -1, true)
  -- seeded: the same numbers again
  seed(7); local a = nn.init.normal(zeros(4)):clone(); seed(7); local b2 = nn.init.normal(zeros(4))
  tensor_eq(a, b2:totable())
  expect_error(function() nn.init.xavier_uniform(zeros(3)) end, "at least 2 dims")
  expect_error(function() nn.init.kaiming_normal(zeros(2, 2), {mode = "fan"}) end, 'mode must be "fan_in" or "fan_out"')
  expect_error(function() nn.init.calculate_gain("swish") end, "unknown nonlinearity 'swish'")
end)

test("fit: accumulate = k takes the step of a k-times larger batch", function()
  local function run(bs, k)
    seed(11)
    local net = nn.Linear(3, 1)
    local X, Y = randn(8, 3), randn(8, 1)
    fit(net, nn.MSELoss(), {X, Y}, { epochs = 1, batch_size = bs, accumulate = k, shuffle = false, quiet = true,
      opt = optim.SGD(net:parameters(), {lr = 0.1}) })
    return net.weight:detach():clone()
  end
  local a, b = run(4, 1), run(2, 2)
  for j = 1, 3 do near(a[{1, j}], b[{1, j}], 1e-13) end
  local text = capture(function()
    fit(nn.Linear(1, 1), nn.MSELoss(), {tensor{{1}, {2}, {3}}, tensor{{2}, {4}, {6}}}, { epochs = 1, batch_size = 1,
      accumulate = 3, quiet = true, explain = true })
  end)
  eq(text:find("batch_size 1 x accumulate 3 = 3 samples per step", 1, true) ~= nil, true, text)
  expect_error(function() fit(nn.Linear(1, 1), nn.MSELoss(), {tensor{{1}}, tensor{{1}}}, {accumulate = 0}) end,
    "accumulate must be a positive whole number")
end)

test("summary's bytes column: parameters and saved values, argmax indices at 8 B", function()
  local s = summary(nn.Sequential{ nn.Conv2d(1, 2, 3), nn.MaxPool2d(2) }, {1, 6, 6}, { quiet = true, columns = { "bytes" } })
  eq(s[2].bytes, (20 + 36) * 4); eq(s[3].bytes, 32 * 4 + 8 * 8); eq(s.total.bytes, 416)
  eq(summary(nn.Linear(3, 2), {3}, { quiet = true, dtype = "bf16" }).total.bytes, (8 + 3) * 2)
  -- the conventions are wrapped to the table's width: compare with the line breaks as spaces
  eq(tostring(s):gsub("%s+", " "):find("Bytes: parameters and the values saved for the backward, 4 B each", 1, true) ~= nil, true)
end)

test("memory and train_compute on a transformer: the KV cache from its attention layers, FlashAttention's backward", function()
  local m = models.gpt2()
  -- GPT-2 small: 12 layers x 12 heads x 64 per head, 1024 tokens, fp16
  local mem = memory(m, {1024}, { training = false, dtype = "fp16", kv_cache = true, quiet = true })
  eq(mem.kv_cache, 2 * 12 * 12 * 64 * 1024 * 2)
  eq(mem.n_params, 124439808)
  local plain = train_compute(m, {1024}, { samples = 1, quiet = true })
  local flash = train_compute(m, {1024}, { samples = 1, flash = true, quiet = true })
  -- one block's scores and attention x V: 2·1024²·768 FLOPs each (nanoGPT)
  local attn = 12 * 2 * 1610612736
  eq(plain.backward, 2 * plain.forward)
  eq(flash.backward - plain.backward, 0.5 * attn)
end)

test("inverse_sqrt: s(t) is step t + 1 of the paper, as its help says", function()
  local s = optim.inverse_sqrt{d_model = 64, warmup = 10}
  for t = 0, 30 do
    local n = t + 1
    near(s(t), 64 ^ -0.5 * math.min(n ^ -0.5, n * 10 ^ -1.5), 1e-15, "t = " .. t)
  end
  near(s(9), 64 ^ -0.5 * 10 ^ -0.5, 1e-15, "the peak at s(warmup - 1)")
  local h = capture(function() help("optim.inverse_sqrt") end)
  eq(h:find("peak", 1, true) ~= nil and h:find("s(warmup - 1)", 1, true) ~= nil, true, h)
end)

test("memory's activations: each layer's saved values summed, the rule says a shared tensor counts twice", function()
  -- Conv(1->2, 3) on 1x8x8 keeps its input (64), ReLU its output (2·6·6 = 72),
  -- Conv(2->2, 3) its input, the same 72 values again: 208 x 4 B
  local net = nn.Sequential{ nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3) }
  local m = memory(net, {1, 8, 8}, { quiet = true })
  eq(m.activations, (64 + 72 + 72) * 4)
  local out = capture(function() memory(net, {1, 8, 8}) end)
  eq(out:find("counts twice where PyTorch stores it once: an upper bound", 1, true) ~= nil, true, out)
end)
