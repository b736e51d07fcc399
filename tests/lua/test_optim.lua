-- Optimizers: PyTorch's update rules against independent hand computations,
-- the two momentum and Nesterov forms, minimum-norm convergence, schedules,
-- training loops and the search arithmetic of the homework.

-- f(w) = w² from w0 = 1, three steps, returning the iterates.
local function three_steps(make)
  local w = tensor{1}:requires_grad():name("w")
  local opt = make({ w })
  local out = {}
  for k = 1, 3 do
    opt:zero_grad()
    ;(w ^ 2):sum():backward()
    opt:step()
    out[k] = w:detach()[1]
  end
  return out
end

local function close_list(got, want, tol, what)
  for k = 1, #want do near(got[k], want[k], tol or 1e-12, (what or "") .. " step " .. k) end
end

test("each optimizer's first three steps on f(w) = w², worked by hand", function()
  -- plain SGD, lr 0.1: w ← w − 0.1·2w
  close_list(three_steps(function(p) return optim.SGD(p, { lr = 0.1 }) end), { 0.8, 0.64, 0.512 }, 1e-12, "SGD")
  -- momentum 0.9 (PyTorch): buf = 2; 3.4; 3.98
  close_list(three_steps(function(p) return optim.SGD(p, { lr = 0.1, momentum = 0.9 }) end), { 0.8, 0.46, 0.062 }, 1e-12, "momentum")
  -- Nesterov (PyTorch): d = g + 0.9·buf
  close_list(three_steps(function(p) return optim.SGD(p, { lr = 0.1, momentum = 0.9, nesterov = true }) end),
    { 0.62, 0.2224, -0.108352 }, 1e-12, "nesterov")
  -- weight decay 0.5: g' = 2w + 0.5w
  close_list(three_steps(function(p) return optim.SGD(p, { lr = 0.1, weight_decay = 0.5 }) end), { 0.75, 0.5625, 0.421875 }, 1e-12, "wd")
  -- AdaGrad, lr 0.1: G += g², w -= 0.1·g/(√G + 1e-10)
  local w, G, want = 1, 0, {}
  for k = 1, 3 do local g = 2 * w; G = G + g * g; w = w - 0.1 * g / (math.sqrt(G) + 1e-10); want[k] = w end
  close_list(three_steps(function(p) return optim.AdaGrad(p, { lr = 0.1 }) end), want, 1e-12, "adagrad")
  -- RMSProp, alpha 0.9
  w, G, want = 1, 0, {}
  for k = 1, 3 do local g = 2 * w; G = 0.9 * G + 0.1 * g * g; w = w - 0.1 * g / (math.sqrt(G) + 1e-8); want[k] = w end
  close_list(three_steps(function(p) return optim.RMSProp(p, { lr = 0.1, alpha = 0.9 }) end), want, 1e-12, "rmsprop")
  -- Adam as Kingma & Ba write it: lr·m̂/(√v̂ + ε)
  local m, v
  w, m, v, want = 1, 0, 0, {}
  for t = 1, 3 do
    local g = 2 * w
    m = 0.9 * m + 0.1 * g; v = 0.999 * v + 0.001 * g * g
    w = w - 0.1 * (m / (1 - 0.9 ^ t)) / (math.sqrt(v / (1 - 0.999 ^ t)) + 1e-8)
    want[t] = w
  end
  close_list(three_steps(function(p) return optim.Adam(p, { lr = 0.1 }) end), want, 1e-12, "adam")
  -- AdamW: decoupled decay w ← w − lr·λ·w before the Adam step
  w, m, v, want = 1, 0, 0, {}
  for t = 1, 3 do
    local g = 2 * w
    w = w * (1 - 0.1 * 0.1)
    m = 0.9 * m + 0.1 * g; v = 0.999 * v + 0.001 * g * g
    w = w - 0.1 * (m / (1 - 0.9 ^ t)) / (math.sqrt(v / (1 - 0.999 ^ t)) + 1e-8)
    want[t] = w
  end
  close_list(three_steps(function(p) return optim.AdamW(p, { lr = 0.1, weight_decay = 0.1 }) end), want, 1e-12, "adamw")
end)

test("momentum forms: Sutskever (lr inside) and PyTorch give the same iterates", function()
  local a = three_steps(function(p) return optim.SGD(p, { lr = 0.1, momentum = 0.9 }) end)
  local b = three_steps(function(p) return optim.SGD(p, { lr = 0.1, momentum = 0.9, momentum_form = "lr_inside" }) end)
  close_list(b, a, 1e-12, "lr_inside")
end)

test("Nesterov: the look-ahead gradient and the rewritten update are the same method (seed 000 part 3)", function()
  -- look-ahead: v ← μv − α∇f(θ + μv), θ ← θ + v;  rewritten (PyTorch) on
  -- φ = θ + μv: buf ← μ·buf + ∇f(φ), φ ← φ − α(∇f(φ) + μ·buf)
  local A = tensor{{3, 1}, {1, 2}}
  local function f(x) return (x:cmul(A * x)):sum() * 0.5 end
  local theta = tensor{1, -1}:requires_grad()
  local phi = tensor{1, -1}:requires_grad()
  local la = optim.SGD({ theta }, { lr = 0.1, momentum = 0.8, nesterov = true, nesterov_form = "lookahead" })
  local rw = optim.SGD({ phi }, { lr = 0.1, momentum = 0.8, nesterov = true })
  for step = 1, 60 do
    la:step(function() theta.grad = nil; local l = f(theta); l:backward(); return l end)
    phi.grad = nil
    f(phi):backward()
    rw:step()
    local v = la:state()[1].momentum_buffer
    tensor_eq((theta:detach() + 0.8 * v), phi:detach():totable(), 1e-12, "φ = θ + μv at step " .. step)
  end
  tensor_eq(phi:detach(), {0, 0}, 1e-2, "both reach the minimum")
end)

test("SGD and momentum from zero reach the minimum-norm solution (seed 003)", function()
  seed(21)
  local X, t = randn(3, 6), randn(3)   -- under-determined: 3 equations, 6 unknowns
  local wstar = pinv(X) * t
  tensor_eq(wstar, (X:t() * inv(X * X:t()) * t):totable(), 1e-10, "pinv = Xᵀ(XXᵀ)⁻¹t")
  for _, o in ipairs({ { lr = 0.02 }, { lr = 0.01, momentum = 0.9 } }) do
    local w = zeros(6):requires_grad()
    local opt = optim.SGD({ w }, o)
    for _ = 1, 3000 do
      opt:zero_grad()
      ;(((X * w - t) ^ 2):mean()):backward()
      opt:step()
    end
    tensor_eq(w:detach(), wstar:totable(), 1e-6, "minimum-norm solution")
  end
end)

test("one AdaGrad step on X1 = [1 2], t = 3 (seed 003), stated assumptions", function()
  -- PyTorch's Adagrad (eps 1e-10) on L = (X1 w − t)² from w = 0, lr = 0.1:
  -- g = 2 X1ᵀ(X1 w − t) = (−6, −12), G = g² = (36, 144), w = 0.1·(6/6, 12/12)
  local w = zeros(2):requires_grad():name("w")
  local opt = optim.AdaGrad({ w }, { lr = 0.1 })
  ;(((tensor{{1, 2}} * w - 3) ^ 2):sum()):backward()
  tensor_eq(w.grad, {-6, -12})
  opt:step()
  tensor_eq(opt:state().w.sum, {36, 144})
  tensor_eq(w:detach(), {0.1, 0.1}, 1e-9)
end)

test("the optimal step size η* = (n/2)·aᵀXXᵀa / aᵀXXᵀXXᵀa agrees with a line search", function()
  seed(8)
  local n = 5
  local X, t, w0 = randn(n, 3), randn(n), randn(3)
  local a = X * w0 - t
  local XXt = X * X:t()
  local eta = (n / 2) * (a * (XXt * a)) / (a * (XXt * (XXt * a)))
  local function L(e)   -- the loss after one step of size e
    local w1 = w0 - (2 * e / n) * (X:t() * a)
    return ((X * w1 - t) ^ 2):mean()
  end
  -- golden-section search on [0, 10 η*]
  local lo, hi, r = 0, 10 * eta, (math.sqrt(5) - 1) / 2
  for _ = 1, 200 do
    local m1, m2 = hi - r * (hi - lo), lo + r * (hi - lo)
    if L(m1) < L(m2) then hi = m2 else lo = m1 end
  end
  near((lo + hi) / 2, eta, 1e-8, "η* vs line search")
end)

test("grid and random search arithmetic (seed 002 problem 2)", function()
  local g = grid_search{ 10, 6, 5, epochs = 10, minutes_per_epoch = 2 }
  eq(g.runs, 300); eq(g.epochs, 3000); eq(g.minutes, 6000)
  eq(random_trials(0.05, 0.95), 59)
  eq(random_trials(0.05, 0.995), 104)
  local _, r = random_trials(0.05, 0.95)
  near(r.exact, math.log(0.05) / math.log(0.95))
  expect_error(function() random_trials(1.5, 0.9) end, "p must be a probability")
end)

test("trace prints each step in homework notation", function()
  local w = tensor{1, 2}:requires_grad():name("w")
  local opt = optim.Adam({ w }, { lr = 0.1 })
  ;(w:cmul(w)):sum():backward()
  local out = capture(function() opt:step{ trace = true } end)
  for _, line in ipairs({ "step 1 of optim.Adam (PyTorch Adam)", "  w: g = (2, 4)", "    m ← 0.9·m + 0.1·g = (0.2, 0.4)",
    "    v ← 0.999·v + 0.001·g² = (0.004, 0.016)", "m̂ = m / (1 − 0.9^1) = (2, 4)", "    w = (0.9, 1.9)   (was (1, 2))" }) do
    eq(out:find(line, 1, true) ~= nil, true, ("%q in\n%s"):format(line, out))
  end
  local s = optim.SGD({ tensor{1}:requires_grad():name("b") }, { lr = 0.5, momentum = 0.9, momentum_form = "lr_inside" })
  s.params[1].tensor:sum():backward()
  out = capture(function() s:step{ trace = true } end)
  eq(out:find("Sutskever form v ← μv − lr·g, θ ← θ + v", 1, true) ~= nil, true, out)
  eq(out:find("v ← 0.9·v − 0.5·g = -0.5", 1, true) ~= nil, true, out)
end)

test("the trace names parameters by their global or module path; step() returns nothing", function()
  trace_W1 = tensor{{1, 2}, {3, 4}}:requires_grad()
  trace_net = nn.Sequential{ nn.Linear(2, 1) }
  local anon = tensor{5}:requires_grad()
  local opt = optim.SGD({ trace_W1, trace_net[1].weight, anon }, { lr = 0.1 })
  local L = (trace_W1 * tensor{1, 1}):sum() + trace_net(tensor{1, 1}):sum() + anon:sum()
  L:backward()
  local out = capture(function() opt:step{ trace = true } end)
  trace_W1, trace_net = nil, nil
  eq(out:find("  trace_W1: g = [1 1; 1 1]", 1, true) ~= nil, true, out)
  eq(out:find("    trace_W1 ← trace_W1 − 0.1·g", 1, true) ~= nil, true, out)
  eq(out:find("  trace_net[1].weight: g = [1 1]", 1, true) ~= nil, true, out)
  eq(out:find("  p3: g = 1", 1, true) ~= nil, true, out)   -- held by no global: its position
  eq(out:find("p1", 1, true), nil, out)
  -- opt:step() has no result (the REPL shows nothing); with a closure, its loss
  eq(select("#", opt:step()), 0)
  eq(opt:step(function() return 42 end), 42)
end)

test("learning-rate schedules", function()
  local p = tensor{1}:requires_grad()
  local opt = optim.SGD({ p }, { lr = 1 })
  local s = optim.StepLR(opt, { step_size = 2, gamma = 0.5 })
  local lrs = {}
  for k = 1, 5 do lrs[k] = s:step() end
  close_list(lrs, { 1, 0.5, 0.5, 0.25, 0.25 })
  opt.lr = 1
  local e = optim.ExponentialLR(opt, { gamma = 0.9 })
  near(e:step(), 0.9); near(e:step(), 0.81)
  opt.lr = 1
  local c = optim.CosineAnnealingLR(opt, { T_max = 4, eta_min = 0 })
  close_list({ c:step(), c:step(), c:step(), c:step() }, { (1 + math.cos(math.pi / 4)) / 2, 0.5, (1 + math.cos(3 * math.pi / 4)) / 2, 0 })
end)

test("fit is deterministic with a seed and learns", function()
  local function run()
    seed(5)
    local X = randn(40, 2)
    local Y = X:sum(2):gt(0) + 1
    seed(6)
    local net = nn.Sequential{ nn.Linear(2, 6), nn.Tanh(), nn.Linear(6, 2) }
    return fit(net, nn.CrossEntropyLoss(), { X, Y }, { epochs = 8, batch_size = 10,
      opt = optim.Adam(net:parameters(), { lr = 0.05 }), seed = 11, quiet = true })
  end
  local h1, h2 = run(), run()
  eq(#h1, 8)
  for k = 1, 8 do eq(h1[k], h2[k], "epoch " .. k .. " repeats exactly") end
  eq(h1[8] < h1[1] / 2, true, "the loss falls")
  local out = capture(function()
    seed(1)
    local net = nn.Linear(1, 1)
    fit(net, nn.MSELoss(), { randn(4, 1), randn(4, 1) }, { epochs = 2 })
  end)
  eq(out:find("epoch 2/2  loss", 1, true) ~= nil, true, out)
end)

test("plot draws a loss history and functions", function()
  nncalc.ascii = true
  local text = plot({ 3, 2, 1.5, 1.2, 1 }, { quiet = true, width = 20, height = 5 })
  nncalc.ascii = nil
  local lines = {}
  for l in text:gmatch("[^\n]+") do lines[#lines + 1] = l end
  eq(#lines, 9)   -- "loss", 5 rows, the axis, its labels, "epoch"
  eq(lines[2]:sub(1, 3), "3 +")
  eq(lines[2]:sub(4, 4), "*", "the first value is at the top left")
  eq(plot(sigmoid, -5, 5, { quiet = true }):find("⠀", 1, true) == nil, true)
  expect_error(function() plot(sigmoid, 1, 0) end, "plot: give the interval")
end)

test("bad input: unknown options, negative rates, non-leaves, step before backward", function()
  local p = tensor{1}:requires_grad()
  expect_error(function() optim.SGD({ p }, { lr = 0.1, momentun = 0.9 }) end, "optim.SGD: unknown option 'momentun'")
  expect_error(function() optim.Adam({ p }, { lr = -1 }) end, "the learning rate must be >= 0")
  expect_error(function() optim.SGD({ p * 2 }, { lr = 0.1 }) end, "parameter 1 is not a leaf")
  expect_error(function() optim.SGD({ 3 }, { lr = 0.1 }) end, "parameter 1 is a number, not a tensor")
  expect_error(function() optim.SGD({}, { lr = 0.1 }) end, "a list of parameters expected")
  expect_error(function() optim.SGD({ tensor{1}:requires_grad() }, { lr = 0.1 }):step() end, "no parameter has a gradient yet")
  expect_error(function() optim.SGD({ p }, { lr = 0.1, nesterov = true }) end, "Nesterov momentum needs momentum > 0")
  expect_error(function() optim.SGD({ p }, { lr = "fast" }) end, "option 'lr' must be a number")
  expect_error(function() optim.StepLR({}, {}) end, "give an optimizer (optim.StepLR(opt, {...})) or the base rate lr")
  expect_error(function() fit(nn.Linear(1, 1), nn.MSELoss(), { zeros(3, 1), zeros(2, 1) }) end, "X has 3 samples but Y has 2")
  expect_error(function() fit(nn.Linear(2, 1), nn.MSELoss(), { zeros(0, 2), zeros(0, 1) }, { epochs = 1 }) end,
    "fit: no samples (X has 0 rows)")
  expect_error(function() fit(nn.Linear(2, 1), nn.MSELoss(), { tensor(1), zeros(1, 1) }) end,
    "fit: X and Y need a first dimension of samples")
end)

test("step(closure) recomputes the gradient first, for every optimizer (PyTorch's contract)", function()
  -- f(w) = (w − 3)², w0 = 1: the closure's gradient at w0 is −4; a stale .grad of
  -- +100 left from before must not be the one used
  local function first_step(make)
    local w = tensor{1}:requires_grad()
    local opt = make({ w })
    ;(100 * w):sum():backward()           -- the stale gradient
    local loss = opt:step(function()
      opt:zero_grad()
      local l = ((w - 3) ^ 2):sum()
      l:backward()
      return l
    end)
    return w:detach()[1], loss
  end
  local w, loss = first_step(function(p) return optim.SGD(p, { lr = 0.1 }) end)
  near(w, 1 + 0.1 * 4, 1e-12, "SGD")                       -- 1 − 0.1·(−4)
  near(loss:item(), 4, 1e-12, "the closure's loss is returned")
  -- Adam's first step is lr·ĝ/|ĝ| (m̂ = g, v̂ = g²): + lr for a negative gradient
  near((first_step(function(p) return optim.Adam(p, { lr = 0.1 }) end)), 1 + 0.1 * 4 / (4 + 1e-8), 1e-12, "Adam")
  near((first_step(function(p) return optim.AdamW(p, { lr = 0.1, weight_decay = 0 }) end)), 1 + 0.1 * 4 / (4 + 1e-8), 1e-12, "AdamW")
  -- AdaGrad: G = 16, w ← w − lr·g/(√G + eps)
  near((first_step(function(p) return optim.AdaGrad(p, { lr = 0.1 }) end)), 1 + 0.1 * 4 / (4 + 1e-10), 1e-12, "AdaGrad")
  -- RMSProp (alpha 0.99): E = 0.01·16, w ← w − lr·g/(√E + eps)
  near((first_step(function(p) return optim.RMSProp(p, { lr = 0.01 }) end)), 1 + 0.01 * 4 / (math.sqrt(0.16) + 1e-8), 1e-12, "RMSProp")
  local w2 = tensor{1}:requires_grad()
  local o = optim.Adam({ w2 }, { lr = 0.1 })
  expect_error(function() o:step(5) end, "Adam:step: the closure must be a function")
end)

test("step() and zero_grad() return nothing (the REPL prints no nil); traces name parameters as backward does", function()
  local w = tensor{1, 2}:requires_grad()
  local opt = optim.SGD({ w }, { lr = 0.1 })
  w:sum():backward()
  eq(select("#", opt:step()), 0, "step() results")
  eq(select("#", opt:zero_grad()), 0, "zero_grad() results")
  -- a global tensor is traced by its global name, a module's parameter by its path
  rawset(_G, "w_optim_test", w)
  rawset(_G, "net_optim_test", nn.Sequential{ nn.Linear(2, 1) })
  local net = rawget(_G, "net_optim_test")
  local o2 = optim.SGD({ w, net[1].weight, tensor{5}:requires_grad() }, { lr = 0.5 })
  ;(w:sum() + net(tensor{1, 2}):sum() + o2.params[3].tensor:sum()):backward()
  local out = capture(function() o2:step{ trace = true } end)
  eq(out:find("  w_optim_test: g = (1, 1)", 1, true) ~= nil, true, out)
  eq(out:find("  net_optim_test[1].weight: g = [1 2]", 1, true) ~= nil, true, out)
  eq(out:find("  p3: g = 1", 1, true) ~= nil, true, out)   -- nothing names it
  eq(o2:state().w_optim_test.step, 1, "state() by the same name")
  rawset(_G, "w_optim_test", nil); rawset(_G, "net_optim_test", nil)
  -- a name given with the parameter wins
  local v = tensor{1}:requires_grad()
  local o3 = optim.SGD({ { "theta", v } }, { lr = 1 })
  v:sum():backward()
  out = capture(function() o3:step{ trace = true } end)
  eq(out:find("theta ← theta − 1·g", 1, true) ~= nil, true, out)
end)

test("grid_search and receptive_field name a misspelt setting instead of dropping it", function()
  expect_error(function() grid_search{10, 6, 5, epoch = 10, minutes_per_epoch = 2} end, "grid_search: unknown setting 'epoch'")
  expect_error(function() grid_search{10, 6, 5, minutes_per_epoch = 2} end, "minutes_per_epoch needs epochs=")
  eq(grid_search{10, 6, 5, epochs = 10, minutes_per_epoch = 2}.minutes, 10 * 6 * 5 * 10 * 2)
  expect_error(function() receptive_field(models.lenet5(), {1, 32, 32}, {quite = true}) end, "receptive_field: unknown option 'quite' (quiet)")
end)
