-- Second derivatives through the real binary: backward{create_graph=true},
-- grad, hessian, hvp, gradgradcheck, against closed forms worked by hand
-- (x³, softmax cross-entropy, the one-step least-squares loss in η) and
-- against central differences of the gradient (a 2-2-1 tanh MLP); every
-- op with a backward passes gradgradcheck or refuses create_graph clearly.

seed(20261204)

-- |got - want| <= tol·|want| (exact when want is 0)
local function rel(got, want, tol, what)
  if type(got) ~= "number" then got = got:item() end
  if math.abs(got - want) > (tol or 1e-12) * math.abs(want) then
    error(("%s: expected %.17g, got %.17g (relative error %.3g)"):format(what or "value", want, got,
      math.abs(got - want) / math.max(math.abs(want), 1e-300)), 2)
  end
end

local function mat_rel(got, want, tol, what)
  eq(table.concat(got:shape(), "x"), table.concat(want:shape(), "x"), (what or "matrix") .. " shape")
  local n = got:numel()
  local g, w = got:reshape(n), want:reshape(n)
  local scale = 0
  for i = 1, n do scale = math.max(scale, math.abs(w[i])) end
  for i = 1, n do
    if math.abs(g[i] - w[i]) > tol * scale then
      error(("%s: element %d expected %.17g, got %.17g"):format(what or "matrix", i, w[i], g[i]), 2)
    end
  end
end

-- ---- closed forms --------------------------------------------------------

test("x³: backward{create_graph=true} then backward again gives 6x; grad and hessian agree", function()
  for _, v in ipairs({ 2, -1.5, 0.3, 7 }) do
    local x = tensor{ v }:requires_grad()
    local y = (x ^ 3):sum()
    y:backward{ create_graph = true }
    rel(x.grad[1], 3 * v * v, 1e-15, "dy/dx")
    eq(x.grad:grad_fn() ~= nil, true, "x.grad is recorded")
    local g = x.grad:sum()
    x.grad = nil
    g:backward()
    rel(x.grad[1], 6 * v, 1e-15, "d²y/dx² by backward")
    local x2 = tensor{ v }:requires_grad()
    local d1 = grad((x2 ^ 3):sum(), x2, { create_graph = true })
    eq(x2.grad, nil, "grad leaves .grad alone")
    rel(grad(d1:sum(), x2, { retain_graph = true })[1], 6 * v, 1e-15, "d²y/dx² by grad")
    rel(hessian(function(z) return (z ^ 3):sum() end, tensor{ v })[{ 1, 1 }], 6 * v, 1e-15, "hessian")
    -- third derivative: 6, through two recorded backwards
    local d2 = grad(d1:sum(), x2, { create_graph = true })
    rel(grad(d2:sum(), x2)[1], 6, 1e-15, "d³y/dx³")
  end
end)

test("softmax cross-entropy: the Hessian in the logits is diag(p) - p pᵀ", function()
  local z = tensor{ 0.5, -1.2, 2.0, 0.1 }
  local e = exp(z - 2.0)
  local p = e / e:sum()
  local want = zeros(4, 4)
  for i = 1, 4 do
    for j = 1, 4 do want[{ i, j }] = (i == j and p[i] or 0) - p[i] * p[j] end
  end
  for c = 1, 4 do
    mat_rel(hessian(function(x) return cross_entropy(x, tensor{ c }) end, z), want, 1e-12,
      "cross_entropy, class " .. c)
    mat_rel(hessian(function(x) return -log_softmax(x, 1)[c] end, z), want, 1e-12,
      "-log_softmax[c], class " .. c)
    mat_rel(hessian(function(x) return -log(softmax(x, 1)[c]) end, z), want, 1e-12,
      "-log(softmax[c]), class " .. c)
  end
  -- a batch with the mean: each sample's block divided by N
  local Z = tensor{ { 0.5, -1.2, 2.0 }, { 1.0, 0.0, -1.0 } }
  local H = hessian(function(x) return cross_entropy(x, tensor{ 3, 1 }) end, Z)
  for s = 1, 2 do
    local row = Z[s]
    local ee = exp(row - row:max())
    local ps = ee / ee:sum()
    for i = 1, 3 do
      for j = 1, 3 do
        rel(H[{ s, i, s, j }], ((i == j and ps[i] or 0) - ps[i] * ps[j]) / 2, 1e-12, "batch block")
        rel(H[{ s, i, 3 - s, j }] + 1, 1, 1e-15, "no coupling between samples")
      end
    end
  end
end)

test("one gradient step on least squares: L(η) and its η-derivatives match the closed form", function()
  -- L(w) = (1/n)||Xw - y||², w1 = w0 - η ∇L(w0), r0 = X w0 - y:
  -- L(η) = (1/n)||(I - (2η/n) X Xᵀ) r0||²,  L'(η) = -(4/n²) r1ᵀ (X Xᵀ r0),
  -- L''(η) = (8/n³) ||X Xᵀ r0||² > 0 (convex in η)
  local X = tensor{ { 1, 2 }, { 0, 1 }, { 3, -1 }, { 2, 2 } }
  local y = tensor{ 1, -1, 2, 0.5 }
  local w0 = tensor{ 0.3, -0.2 }
  local n = 4
  local a = X * w0 - y
  local M = X * X:t()
  local Ma = M * a
  for _, v in ipairs({ 0.0, 0.01, 0.05, 0.2 }) do
    local eta = tensor{ v }:requires_grad()
    -- through the actual step, with autograd: w1 = w0 - η·∇L(w0)
    local g0 = X:t() * (X * w0 - y) * (2 / n)
    local w1 = w0 - eta[1] * g0
    local L = ((X * w1 - y) ^ 2):sum() / n
    local r1 = a - (2 * v / n) * Ma
    rel(L, (r1 * r1) / n, 1e-12, "L(η)")
    local d1 = grad(L, eta, { create_graph = true })
    rel(d1[1], -(4 / n ^ 2) * (r1 * Ma), 1e-12, "L'(η)")
    local d2 = grad(d1:sum(), eta)
    rel(d2[1], (8 / n ^ 3) * (Ma * Ma), 1e-12, "L''(η)")
    -- the same written as (1/n)||(I - (2η/n) X Xᵀ) a||²
    local e2 = tensor{ v }:requires_grad()
    local B = eye(n) - (2 / n) * e2[1] * M
    local L2 = ((B * a) ^ 2):sum() / n
    rel(grad(grad(L2, e2, { create_graph = true }):sum(), e2)[1], (8 / n ^ 3) * (Ma * Ma), 1e-12,
      "L''(η), matrix form")
  end
end)

-- ---- the 2-2-1 tanh MLP -------------------------------------------------------

-- θ = (W1 2x2, b1 2, W2 1x2, b2 1) flattened, 9 numbers
local function mlp_loss(theta)
  local W1 = theta:narrow(1, 1, 4):reshape(2, 2)
  local b1 = theta:narrow(1, 5, 2)
  local W2 = theta:narrow(1, 7, 2):reshape(1, 2)
  local b2 = theta:narrow(1, 9, 1)
  local x, t = tensor{ 0.7, -1.1 }, tensor{ 0.4 }
  local yhat = W2 * tanh(W1 * x + b1) + b2
  return ((yhat - t) ^ 2):sum()
end

test("2-2-1 tanh MLP: the Hessian equals central differences of the gradient", function()
  local theta = tensor{ 0.5, -0.3, 0.8, 0.2, 0.1, -0.4, 1.2, -0.7, 0.05 }
  local H = hessian(mlp_loss, theta)
  -- symmetric, as a Hessian must be
  mat_rel(H, H:t(), 1e-14, "H = Hᵀ")
  -- Richardson-extrapolated central differences of the autograd gradient:
  -- (4 D(h/2) - D(h)) / 3 has error O(h⁴) ≈ 1e-12 at h = 1e-3
  local function g(th) return grad(mlp_loss, th) end
  local function D(h)
    local J = zeros(9, 9)
    for k = 1, 9 do
      local e = zeros(9)
      e[{ k }] = h
      J[{ {}, k }] = (g(theta + e) - g(theta - e)) / (2 * h)
    end
    return J
  end
  local num = (4 * D(5e-4) - D(1e-3)) / 3
  mat_rel(H, num, 1e-9, "H vs differences of the gradient")
  -- hvp is H v
  local v = randn(9)
  mat_rel(hvp(mlp_loss, theta, v), H * v, 1e-13, "hvp = H v")
  local ok, msg = gradgradcheck(mlp_loss, { theta }, { quiet = true })
  eq(ok, true, msg)
  -- the same Hessian from the parameters as four tensors, mixed blocks included
  local Hp = hessian(function(W1, b1, W2, b2)
    return mlp_loss(cat({ W1:reshape(4), b1, W2:reshape(2), b2 }, 1))
  end, { theta:narrow(1, 1, 4):reshape(2, 2), theta:narrow(1, 5, 2), theta:narrow(1, 7, 2):reshape(1, 2),
    theta:narrow(1, 9, 1) })
  mat_rel(Hp, H, 1e-15, "hessian over a list of tensors")
end)

-- ---- every op: second derivatives, or a clear refusal ------------------------

local function ggc(what, f, inputs)
  local ok, msg = gradgradcheck(f, inputs, { quiet = true })
  if not ok then error(what .. ": " .. msg, 2) end
end

local weights = {}
local function wsum(y)   -- Σ w·y with fixed random w: every element counts differently
  local key = table.concat(y:shape(), "x")
  weights[key] = weights[key] or (y:dim() == 0 and tensor(1.7) or randn(table.unpack(y:shape())))
  return y:cmul(weights[key]):sum()
end
local function cube(f) return function(...) return wsum(f(...) ^ 3) end end   -- curved, even for linear ops
local function pos(...) return rand(...) + 0.5 end
local function away(...) return (rand(...) + 0.3):cmul(sign(randn(...))) end

test("gradgradcheck: unary functions", function()
  local cases = {
    neg = { neg, randn }, abs = { abs, away }, exp = { exp, randn }, log = { log, pos },
    sqrt = { sqrt, pos }, sign = { sign, away }, tanh = { tanh, randn }, sigmoid = { sigmoid, randn },
    relu = { relu, away }, softplus = { softplus, randn },
    erf = { erf, randn }, gelu = { gelu, randn }, gelu_tanh = { gelu_tanh, randn }, silu = { silu, randn },
    relu6 = { relu6, function(...) return away(...) * 4 + 1 end }, sin = { sin, randn }, cos = { cos, randn },
  }
  for name, c in pairs(cases) do
    ggc(name, cube(c[1]), { c[2](2, 3) })
  end
  ggc("leaky_relu", cube(function(x) return leaky_relu(x, 0.1) end), { away(5) })
  ggc("elu", cube(function(x) return elu(x, 0.7) end), { away(5) })
end)

test("gradgradcheck: binary operators with broadcasting, and with numbers", function()
  local ops = {
    add = function(a, b) return a + b end, sub = function(a, b) return a - b end,
    cmul = function(a, b) return a:cmul(b) end, div = function(a, b) return a / b end,
    pow = function(a, b) return a ^ b end, maximum = maximum, minimum = minimum,
  }
  for name, op in pairs(ops) do
    local a, b = randn(3, 1), randn(1, 4)
    if name == "div" then b = away(1, 4) end
    if name == "pow" then a = pos(3, 1) end
    ggc(name .. " 3x1 with 1x4", cube(op), { a, b })
  end
  local nums = {
    ["2 - x"] = function(x) return 2 - x end, ["x * 3"] = function(x) return x * 3 end,
    ["2 / x"] = function(x) return 2 / x end, ["x / 4"] = function(x) return x / 4 end,
    ["x ^ 2.5"] = function(x) return x ^ 2.5 end, ["x + 1"] = function(x) return x + 1 end,
    ["2 ^ x"] = function(x) return pow(2, x) end, ["maximum(x, 0.2)"] = function(x) return maximum(x, 0.2) end,
  }
  for name, f in pairs(nums) do ggc(name, cube(f), { pos(4) }) end
end)

test("gradgradcheck: reductions and softmax", function()
  local x = randn(3, 4)
  ggc("sum", function(t) return t:sum() ^ 3 end, { x })
  ggc("sum dim", cube(function(t) return t:sum(2) end), { x })
  ggc("mean keepdim", cube(function(t) return t:mean{ dim = 1, keepdim = true } end), { x })
  ggc("prod", cube(function(t) return t:prod(2) end), { away(3, 4) })
  ggc("prod all", function(t) return t:prod() ^ 2 end, { away(2, 2) })
  ggc("max dim", cube(function(t) return (t:max(2)) end), { x })
  ggc("min all", function(t) return t:min() ^ 3 end, { x })
  ggc("softmax", function(t) return wsum(softmax(t, 2)) end, { x })
  ggc("log_softmax", function(t) return wsum(log_softmax(t, 1)) end, { x })
end)

test("gradgradcheck: products and linear algebra", function()
  ggc("dot", function(a, b) return dot(a, b) ^ 2 end, { randn(3), randn(3) })
  ggc("mv", cube(function(a, x) return a * x end), { randn(2, 3), randn(3) })
  ggc("vm", cube(function(x, a) return x * a end), { randn(2), randn(2, 3) })
  ggc("mm", cube(function(a, b) return a * b end), { randn(2, 3), randn(3, 2) })
  ggc("bmm", cube(function(a, b) return bmm(a, b) end), { randn(2, 2, 3), randn(2, 3, 2) })
  ggc("outer", cube(outer), { randn(2), randn(3) })
  local A = randn(3, 3) + 3 * eye(3)
  ggc("inv", function(a) return wsum(inv(a)) end, { A })
  ggc("det", function(a) return det(a) ^ 2 end, { A })
  ggc("solve", function(a, b) return wsum(solve(a, b)) end, { A, randn(3) })
  ggc("solve matrix", function(a, b) return wsum(solve(a, b)) end, { A, randn(3, 2) })
  ggc("linear", cube(function(x, w, b) return linear(x, w, b) end), { randn(2, 3), randn(4, 3), randn(4) })
  ggc("linear 1-D", cube(function(x, w) return linear(x, w) end), { randn(3), randn(2, 3) })
end)

test("gradgradcheck: views, indexing and joins", function()
  local x = randn(2, 3)
  local cases = {
    reshape = function(t) return t:reshape(3, 2) end, view = function(t) return t:view(6) end,
    t = function(t) return t:t() end, transpose = function(t) return t:transpose(1, 2) end,
    permute = function(t) return t:unsqueeze(1):permute(3, 1, 2) end,
    squeeze = function(t) return t:unsqueeze(2):squeeze(2) end, clone = function(t) return t:clone() end,
    expand = function(t) return t:narrow(1, 1, 1):expand(4, 3) end,
    index = function(t) return t[2] end, range = function(t) return t[{ {}, { 2, 3 } }] end,
    narrow = function(t) return t:narrow(2, 2, 2) end, select = function(t) return t:select(2, 3) end,
    index_select = function(t) return t:index_select(2, tensor{ 3, 1, 3 }) end,
    cat = function(t) return cat({ t, t * 2 }, 1) end, stack = function(t) return stack({ t, t ^ 2 }, 2) end,
  }
  for name, f in pairs(cases) do ggc(name, cube(f), { x }) end
end)

test("gradgradcheck: losses", function()
  local x, t = randn(2, 3), randn(2, 3)
  ggc("mse_loss", function(a, b) return mse_loss(a, b) ^ 2 end, { x, t })
  ggc("mse_loss sum", function(a) return mse_loss(a, t, { reduction = "sum" }) ^ 2 end, { x })
  ggc("l1_loss", function(a) return l1_loss(a, t) ^ 2 end, { x })
  local p = rand(2, 3) * 0.8 + 0.1
  ggc("binary_cross_entropy", function(a) return binary_cross_entropy(a, tensor{ { 1, 0, 1 }, { 0, 0, 1 } }) end, { p })
  local q = rand(2, 3)
  ggc("bce_with_logits", function(a) return binary_cross_entropy_with_logits(a, q) end, { x })
  ggc("cross_entropy", function(a) return cross_entropy(a, tensor{ 3, 1 }) end, { x })
  ggc("cross_entropy none", function(a) return wsum(cross_entropy(a, tensor{ 3, 1 }, { reduction = "none" })) end, { x })
  ggc("nll_loss", function(a) return nll_loss(log_softmax(a, 2), tensor{ 2, 2 }) end, { x })
end)

test("gradgradcheck: convolutions and their transposes, with strides, padding and dilation", function()
  local cases = {
    { {}, { 1, 2, 5, 5 }, { 3, 2, 3, 3 } },
    { { stride = 2, padding = 1 }, { 2, 2, 5, 5 }, { 2, 2, 3, 3 } },
    { { stride = 2, padding = 1, dilation = 2 }, { 1, 1, 6, 6 }, { 2, 1, 2, 2 } },
  }
  for k, c in ipairs(cases) do
    local o, xs, ws = c[1], c[2], c[3]
    ggc("conv2d case " .. k, cube(function(x, w, b) return conv2d(x, w, b, o) end),
      { randn(table.unpack(xs)), randn(table.unpack(ws)), randn(ws[1]) })
    local wt = { ws[2], ws[1], ws[3], ws[4] }   -- in x out x kh x kw
    local ot = { stride = o.stride, padding = o.padding, dilation = o.dilation,
      output_padding = (o.stride or 1) > 1 and 1 or nil }
    ggc("conv_transpose2d case " .. k, cube(function(x, w) return conv_transpose2d(x, w, nil, ot) end),
      { randn(xs[1], ws[2], 3, 3), randn(table.unpack(wt)) })
  end
  -- a 3-D image (C x H x W) and a third derivative
  local w = randn(2, 1, 2, 2)
  ggc("conv2d on one image, third order", function(x)
    return (grad(function(t) return wsum(conv2d(t, w) ^ 4) end, x, { create_graph = true }):cmul(x)):sum()
  end, { randn(1, 3, 3) })
end)

test("gradgradcheck: grouped convolutions (groups = 2, and depthwise)", function()
  ggc("conv2d groups 2", cube(function(x, w, b) return conv2d(x, w, b, { groups = 2, padding = 1 }) end),
    { randn(1, 4, 3, 3), randn(2, 2, 2, 2), randn(2) })
  ggc("conv2d depthwise", cube(function(x, w) return conv2d(x, w, nil, { groups = 3, stride = 2 }) end),
    { randn(1, 3, 5, 5), randn(3, 1, 3, 3) })
  ggc("conv_transpose2d groups 2", cube(function(x, w) return conv_transpose2d(x, w, nil, { groups = 2, stride = 2 }) end),
    { randn(1, 2, 2, 2), randn(2, 2, 2, 2) })
end)

test("where nncalc has no second derivative, create_graph says so before anything changes", function()
  local a = tensor{ 2, 0, 3 }:requires_grad()
  expect_error(function() grad(a:prod(), a, { create_graph = true }) end,
    "create_graph: prod#", "the second derivative of prod at a zero element is not available")
  tensor_eq(grad(a:prod(), a), { 0, 6, 0 }, 0, "the first derivative is")
  local s = tensor{ { 1, 2 }, { 2, 4 } }:requires_grad()
  expect_error(function() grad(det(s), s, { create_graph = true }) end,
    "create_graph: det#", "the second derivative of det at a singular matrix is not available")
  -- refused before the pass: b, whose gradient would come first, is untouched
  local b = tensor{ 1, 2 }:requires_grad()
  local L = (b ^ 2):sum() + a:prod()
  expect_error(function() L:backward{ create_graph = true } end, "prod at a zero element")
  eq(b.grad, nil, "nothing delivered")
  eq(a.grad, nil, "nothing delivered")
end)

test("grad: options, errors, zeros for an unused input, and .grad untouched", function()
  local x, y = tensor{ 1, 2 }:requires_grad(), tensor{ 3 }:requires_grad()
  local L = (x ^ 2):sum()
  local g = grad(L, { x, y }, { retain_graph = true })
  tensor_eq(g[1], { 2, 4 })
  tensor_eq(g[2], { 0 })
  eq(x.grad, nil, "x.grad untouched")
  expect_error(function() grad(L, x, { bogus = 1 }) end, "grad: unknown option 'bogus'")
  expect_error(function() grad(L, { x, 3 }) end, "grad: input 2 is a number")
  expect_error(function() grad(tensor{ 1 }, x) end, "does not depend on the inputs")
  expect_error(function() hessian(function(z) return z end, tensor{ 1, 2 }) end, "hessian: f must return a single value")
  expect_error(function() hvp(function(z) return z:sum() end, tensor{ 1, 2 }, tensor{ 1 }) end, "hvp: v must be")
  tensor_eq(hessian(function(z) return (2 * z):sum() end, tensor{ 1, 2 }), { { 0, 0 }, { 0, 0 } })
end)

test("create_graph: gradients are named, traces show d(dL/dw)/dw, and memory is freed", function()
  collectgarbage(); collectgarbage()
  local before = stats().nodes
  do
    local w = tensor{ 1.5, -0.5 }:requires_grad():name("w")
    local L = (w ^ 3):sum():name("L")
    L:backward{ create_graph = true }
    eq(w.grad:name(), "dL/dw", "the gradient's name")
    local g = w.grad
    w.grad = nil
    local out = capture(function() g:backward{ grad = ones(2), trace = true } end)
    expect_error(function() error(out) end, "backward from dL/dw", "d(dL/dw)/dw = ", "w.grad = d(dL/dw)/dw")
    tensor_eq(w.grad, { 9, -3 }, 1e-15, "d(dL/dw)/dw = 6w")
  end
  collectgarbage(); collectgarbage()
  eq(stats().nodes, before, "the nodes of x.grad's graph are freed with x")
end)

test("jacobian of a gradient is the Hessian; numjacobian runs f with autograd on", function()
  local f = function(z) return (z ^ 3):sum() + z[1] * z[2] end
  local J = jacobian(function(z) return grad(f, z, { create_graph = true }) end, tensor{ 1, 2 })
  tensor_eq(J, { { 6, 1 }, { 1, 12 } }, 1e-14)
  local N = numjacobian(function(z) return grad(f, z) end, tensor{ 1, 2 })
  tensor_eq(N, { { 6, 1 }, { 1, 12 } }, 1e-7)
end)

-- ---- eigh, curvature, Newton ----------------------------------------------------

test("eigh: known spectra, A V = V diag(w), VᵀV = I, trace and det", function()
  local w, V = eigh(tensor{ { 2, 1 }, { 1, 2 } })
  tensor_eq(w, { 1, 3 }, 1e-15)
  -- the second difference matrix: eigenvalues 2 - 2cos(kπ/4) = 2 - √2, 2, 2 + √2
  local T = tensor{ { 2, -1, 0 }, { -1, 2, -1 }, { 0, -1, 2 } }
  w, V = eigh(T)
  tensor_eq(w, { 2 - math.sqrt(2), 2, 2 + math.sqrt(2) }, 1e-15)
  local B = randn(6, 6)
  local S = B + B:t()
  w, V = eigh(S)
  mat_rel(S * V, V * (eye(6):cmul(outer(ones(6), w))), 1e-13, "A V = V diag(w)")
  mat_rel(V:t() * V, eye(6), 1e-14, "VᵀV = I")
  local tr, pr = 0, 1
  for i = 1, 6 do tr = tr + S[{ i, i }]; pr = pr * w[i] end
  rel(w:sum(), tr, 1e-13, "Σλ = trace")
  rel(pr, det(S), 1e-11, "Πλ = det")
  for i = 2, 6 do eq(w[i - 1] <= w[i], true, "ascending") end
  expect_error(function() eigh(tensor{ { 1, 2 }, { 3, 4 } }) end, "eigh: needs a symmetric matrix; entry (1,2) is 2 but (2,1) is 3")
  expect_error(function() eigh(zeros(2, 3)) end, "eigh: needs a square matrix")
  expect_error(function() eigh(tensor{ { 1, 0 }, { 0, 1 } }:requires_grad()) end, "eigh: has no gradient")
end)

test("curvature: 2/λ_max separates converging from diverging gradient descent", function()
  local A = tensor{ { 3, 1 }, { 1, 2 } }
  local f = function(x) return 0.5 * (x:cmul(A * x)):sum() end
  local c = curvature(f, tensor{ 1, -1 })
  rel(c.lambda_max, (5 + math.sqrt(5)) / 2, 1e-15, "λ_max")
  rel(c.lambda_min, (5 - math.sqrt(5)) / 2, 1e-15, "λ_min")
  rel(c.lr_max, 4 / (5 + math.sqrt(5)), 1e-15, "2/λ_max")
  rel(c.lr_best, 0.4, 1e-15, "2/(λ_min + λ_max)")
  eq(c.strictly_convex, true, "positive definite")
  local function run(eta)
    local x = tensor{ 1, -1 }
    for _ = 1, 300 do x = x - eta * (A * x) end
    return x:abs():max()
  end
  eq(run(0.99 * c.lr_max) < 1e-3, true, "just below converges")
  eq(run(1.01 * c.lr_max) > 10, true, "just above diverges")
  local out = capture(function() curvature(A, { explain = true }) end)
  expect_error(function() error(out) end, "2/λ_max = 0.552786", "positive definite")
  local s = curvature(tensor{ { 1, 0 }, { 0, -2 } })
  eq(s.convex, false, "a saddle is not convex")
  expect_error(function() curvature(tensor{ 1, 2 }) end, "curvature: a square Hessian matrix expected")
end)

test("newton_step: one step to the minimum of a quadratic, trace, errors", function()
  local A, b = tensor{ { 3, 1 }, { 1, 2 } }, tensor{ 1, -2 }
  local f = function(x) return 0.5 * (x:cmul(A * x)):sum() - b * x end
  local x1, info = newton_step(f, tensor{ 5, 7 })
  tensor_eq(x1, { 4 / 5, -7 / 5 }, 1e-14, "A⁻¹ b")
  tensor_eq(info.H, { { 3, 1 }, { 1, 2 } }, 1e-15, "H")
  tensor_eq(info.g, { 21, 21 }, 1e-14, "g = A x - b = (22, 19) - (1, -2)")
  local out = capture(function() newton_step(f, tensor{ 5, 7 }, { trace = true }) end)
  expect_error(function() error(out) end, "g = ∇f(x) = (21, 21)", "H = ∇²f(x) = [3 1; 1 2]", "step = −H⁻¹ g")
  -- x⁴ at 1: x - 4x³/12x² = 2/3
  tensor_eq(newton_step(function(x) return (x ^ 4):sum() end, tensor{ 1 }), { 2 / 3 }, 1e-15)
  expect_error(function() newton_step(function(x) return (x ^ 3):sum() end, tensor{ 0 }) end,
    "newton_step: the Hessian is singular")
  expect_error(function() newton_step(f, tensor{ 1, 2 }, { lr = 1 }) end, "unknown option 'lr'")
  tensor_eq(newton_step(function(x) return (x ^ 3):sum() end, tensor{ 0 }, { damping = 1 }), { 0 }, 1e-15)
end)

test("third derivatives: the gradients of index and index_select are differentiable in turn", function()
  local x = tensor{ 1, 2, 3 }:requires_grad()
  -- f = x₂⁴ (through an index) + x₃³ twice (through index_select): f''' = 24 x₂, 6·2
  local f = function(t) return t[2] ^ 4 + (t:index_select(1, tensor{ 3, 3 }) ^ 3):sum() end
  local g1 = grad(f(x), x, { create_graph = true })
  local g2 = grad(g1[2] + g1[3], x, { create_graph = true })
  tensor_eq(g2:detach(), { 0, 12 * 4, 2 * 6 * 3 }, 1e-14, "f''")
  local g3 = grad(g2:sum(), x)
  tensor_eq(g3, { 0, 24 * 2, 2 * 6 }, 1e-14, "f'''")
  -- and through cat / stack, whose gradients are narrows and selects
  local h = function(t) return (cat({ t, t }, 1) ^ 3):sum() + (stack({ t, 2 * t }, 1) ^ 2):sum() end
  tensor_eq(hessian(h, tensor{ 1, -1 }), { { 12 + 10, 0 }, { 0, -12 + 10 } }, 1e-14, "cat, stack")
end)

test("gradgradcheck: batch_norm in training and evaluation; a jacobian of an f that calls backward inside", function()
  local x2, x4 = randn(4, 3), randn(3, 2, 2, 2)
  ggc("batch_norm N x C, training", cube(function(t, w, b) return batch_norm(t, { weight = w, bias = b }) end),
    { x2, rand(3) + 0.5, randn(3) })
  ggc("batch_norm N x C x H x W, training", cube(function(t, w) return batch_norm(t, { weight = w }) end),
    { x4, rand(2) + 0.5 })
  ggc("batch_norm, no affine", function(t) return wsum(batch_norm(t) ^ 2) end, { x2 })
  local rm, rv = randn(3), rand(3) + 0.5
  ggc("batch_norm, evaluation", cube(function(t, w) return batch_norm(t, { weight = w, running_mean = rm,
    running_var = rv, training = false }) end), { x2, rand(3) + 0.5 })
  -- the Hessian of Σ bn(x)² in training is not 0: the batch statistics couple the samples
  local H = hessian(function(t) return (batch_norm(t:reshape(3, 1)) ^ 3):sum() end, tensor{ 0.5, -1, 2 })
  mat_rel(H, H:t(), 1e-13, "symmetric")
  -- f writes z.grad itself (create_graph), jacobian reads only grad()
  local f = function(z)
    local y = (z ^ 3):sum()
    y:backward{ create_graph = true }
    return z.grad
  end
  tensor_eq(jacobian(f, tensor{ 1, 2 }), { { 6, 0 }, { 0, 12 } }, 1e-14)
end)

test("gradgradcheck: the pools, to the third derivative", function()
  local x = randn(1, 4, 4)
  ggc("max_pool2d", cube(function(t) return max_pool2d(t, 2) end), { x })
  ggc("max_pool2d overlapping", cube(function(t) return max_pool2d(t, 3, { stride = 1, padding = 1 }) end), { x })
  ggc("avg_pool2d", cube(function(t) return avg_pool2d(t, 2, { stride = 1 }) end), { x })
  ggc("avg_pool2d padded", cube(function(t) return avg_pool2d(t, 3, { stride = 2, padding = 1 }) end), { x })
  ggc("adaptive_avg_pool2d", cube(function(t) return adaptive_avg_pool2d(t, 3) end), { x })
  -- third derivatives: gradgradcheck of v·∇f, whose gradient is recorded
  local v = randn(1, 4, 4)
  for name, pool in pairs({
    max = function(t) return max_pool2d(t, 2, { stride = 1 }) end,
    avg = function(t) return avg_pool2d(t, 2, { stride = 1 }) end,
    adaptive = function(t) return adaptive_avg_pool2d(t, 3) end,
  }) do
    local f = function(t) return wsum(pool(t) ^ 4) end
    ggc(name .. " pool, third order", function(t) return (grad(f, t, { create_graph = true }):cmul(v)):sum() end, { x })
  end
  -- through tanh then a pool: one entry of the Hessian by hand.  With
  -- y = max over the window of tanh(t) = tanh(t_k) at the winner k,
  -- d²(y²)/dt_k² = 2(s² + y·(-2 y s)) where s = 1 - y²
  local t0 = tensor{ { { 0.3, -0.5 }, { 0.9, 0.1 } } }
  local H = hessian(function(t) return (max_pool2d(tanh(t), 2) ^ 2):sum() end, t0):reshape(4, 4)
  local y = math.tanh(0.9)
  local s2 = 1 - y * y
  rel(H[{ 3, 3 }], 2 * (s2 * s2 - 2 * y * y * s2), 1e-14, "d²/dt² at the winner")
  eq(H[{ 1, 1 }], 0, "a loser has no curvature")
end)

test("gauss_newton: 2JᵀJ equals the Hessian for linear residuals and differs by 2Σ rᵢ∇²rᵢ otherwise", function()
  local A, b = tensor{ { 1, 2 }, { 3, -1 }, { 0, 1 } }, tensor{ 1, 0, 2 }
  local G, info = gauss_newton(function(x) return A * x - b end, tensor{ 0.5, -1 })
  mat_rel(G, 2 * (A:t() * A), 1e-15, "G = 2AᵀA")
  mat_rel(info.H, 2 * (A:t() * A), 1e-15, "H = 2AᵀA")
  -- r = (x₁² − 1, x₁x₂): J = [2x₁ 0; x₂ x₁], ∇²r₁ = [2 0; 0 0], ∇²r₂ = [0 1; 1 0]
  local x1, x2 = 1.5, -0.5
  local G2, i2 = gauss_newton(function(x) return stack({ x[1] ^ 2 - 1, x[1] * x[2] }) end, tensor{ x1, x2 })
  local J = tensor{ { 2 * x1, 0 }, { x2, x1 } }
  mat_rel(G2, 2 * (J:t() * J), 1e-15, "G = 2JᵀJ")
  local r1, r2 = x1 ^ 2 - 1, x1 * x2
  mat_rel(i2.rest, tensor{ { 4 * r1, 2 * r2 }, { 2 * r2, 0 } }, 1e-14, "H − G = 2(r₁∇²r₁ + r₂∇²r₂)")
  local out = capture(function() gauss_newton(function(x) return A * x - b end, tensor{ 0, 0 }, { explain = true }) end)
  expect_error(function() error(out) end, "Gauss-Newton G = 2 JᵀJ", "H − G = 2 Σ rᵢ ∇²rᵢ")
  expect_error(function() gauss_newton(function(x) return x end, 3) end, "gauss_newton: x must be a tensor")
end)
