-- derivatives.lua — derivatives of derivatives and their checks:
-- grad (torch.autograd.grad), hessian, hvp (Hessian-vector products by
-- reverse-over-reverse), jacobian, numjacobian, gradcheck and gradgradcheck.
-- The backward passes are C (autograd.c); create_graph makes them record.

local is_tensor = nncalc.is_tensor
local format_ = require("nncalc.format")
local num = format_.num


local function scalar_of(v, who)
  if type(v) == "number" then return v end
  if is_tensor(v) and v:numel() == 1 then return v:item() end
  error(who .. ": f must return a single value (a number or a one-element tensor)", 3)
end

-- gradcheck(f, {x, W, ...}, {eps=1e-6, atol=1e-5, rtol=1e-3}): compares
-- the backward gradient of f(x, W, ...) with central differences for every
-- element of every input; returns ok, report.
-- The options both checks take; a misspelt one is named, not dropped.
local function check_opts(fname, o)
  o = o or {}
  if type(o) ~= "table" then error(fname .. ": the third argument is {eps=, atol=, rtol=, quiet=}", 3) end
  for k in pairs(o) do
    if k ~= "eps" and k ~= "atol" and k ~= "rtol" and k ~= "quiet" then
      error(("%s: unknown option '%s' (eps, atol, rtol, quiet)"):format(fname, tostring(k)), 3)
    end
  end
  return o
end

function gradcheck(f, inputs, o)
  if type(f) ~= "function" then error("gradcheck: a function expected", 2) end
  if is_tensor(inputs) then inputs = { inputs } end
  if type(inputs) ~= "table" or #inputs == 0 then error("gradcheck: a list of input tensors expected", 2) end
  o = check_opts("gradcheck", o)
  local eps, atol, rtol = o.eps or 1e-6, o.atol or 1e-5, o.rtol or 1e-3
  local leaves = {}
  for i, x in ipairs(inputs) do
    if not is_tensor(x) then error(("gradcheck: input %d is not a tensor"):format(i), 2) end
    leaves[i] = x:detach():clone():requires_grad()
  end
  local out = f(table.unpack(leaves))
  scalar_of(out, "gradcheck")
  if not is_tensor(out) or not out:grad_fn() and not out:is_leaf() then
    error("gradcheck: f's result does not depend on the inputs through the graph", 2)
  end
  -- grad() leaves every .grad as it was (f may capture other leaves: a
  -- weight, an input), so nothing accumulates and nothing warns
  local grads = nncalc._grad(out, leaves)
  local worst = { err = 0 }
  local report = {}
  for i, x in ipairs(leaves) do
    local n = x:numel()
    -- outside the graph, so flat[k] reads a number (not a 0-d view that
    -- would change with the element while it is perturbed)
    local flat = x:detach():view(n)
    local g = grads[i]:reshape(n)
    for k = 1, n do
      local old = flat[k]
      local fp, fm
      no_grad(function()
        flat[{ k }] = old + eps; fp = scalar_of(f(table.unpack(leaves)), "gradcheck")
        flat[{ k }] = old - eps; fm = scalar_of(f(table.unpack(leaves)), "gradcheck")
        flat[{ k }] = old
      end)
      local num_g, ana = (fp - fm) / (2 * eps), g[k]
      local err = math.abs(num_g - ana)
      local bad = err > atol + rtol * math.abs(num_g)
      if err > worst.err or (bad and not worst.bad) then
        worst = { err = err, input = i, element = k, analytic = ana, numeric = num_g, bad = bad }
      end
      if bad then report[#report + 1] = worst end
    end
  end
  local ok = #report == 0
  local msg
  if worst.input then
    local a, n = format_.apart(worst.analytic, worst.numeric)
    msg = ("gradcheck: %s, worst |analytic - numeric| = %s at input %d element %d (analytic %s, numeric %s)")
      :format(ok and "ok" or "FAILED", num(worst.err), worst.input, worst.element, a, n)
  else
    msg = "gradcheck: ok (no elements)"
  end
  if not (o.quiet) then io.write(msg, "\n") end
  return ok, msg, worst
end


-- ---- grad: gradients without touching .grad -------------------------------

local GRAD_OPTIONS = { create_graph = 1, retain_graph = 1, grad = 1 }

local function tensor_list(who, inputs)
  local single = is_tensor(inputs)
  if single then inputs = { inputs } end
  if type(inputs) ~= "table" or #inputs == 0 then
    error(who .. ": the inputs must be a tensor or a list of tensors", 3)
  end
  for i, x in ipairs(inputs) do
    if not is_tensor(x) then error(("%s: input %d is a %s, not a tensor"):format(who, i, type(x)), 3) end
  end
  return inputs, single
end

-- grad(L, inputs [, {create_graph=, retain_graph=, grad=}]) or
-- grad(f, inputs [, {...}]): dL/dx for each input (a tensor for a tensor,
-- a list for a list), as torch.autograd.grad, leaving every .grad as it
-- was.  With f, L = f(inputs...); an input that is not part of a graph is
-- replaced by a leaf copy first.  An
-- input that L does not depend on gets zeros.  create_graph records the
-- gradients, so they can be differentiated again; retain_graph defaults to it.
function grad(f, inputs, o)
  local single
  inputs, single = tensor_list("grad", inputs)
  o = o or {}
  if type(o) ~= "table" then error("grad: the options must be a table {create_graph=, retain_graph=, grad=}", 2) end
  for k in pairs(o) do
    if not GRAD_OPTIONS[k] then
      error(("grad: unknown option '%s' (create_graph, retain_graph, grad)"):format(tostring(k)), 2)
    end
  end
  local L = f
  if type(f) == "function" then
    local args = {}
    for i, x in ipairs(inputs) do
      args[i] = nncalc._requires_grad(x) and x or x:detach():clone():requires_grad()
    end
    inputs = args
    L = f(table.unpack(args))
  end
  if not is_tensor(L) then
    error(("grad: %s is a %s, not a tensor of a graph"):format(type(f) == "function" and "f's result" or "L",
      type(L)), 2)
  end
  if not nncalc._requires_grad(L) then
    error("grad: the result does not depend on the inputs through a graph (no input requires grad)", 2)
  end
  local retain = o.retain_graph
  if retain == nil then retain = o.create_graph end
  local gs = nncalc._grad(L, inputs, o.grad, o.create_graph, retain)
  if single then return gs[1] end
  return gs
end

-- ---- Hessians ---------------------------------------------------------------

local function scalar_graph(who, y)
  if not is_tensor(y) or y:numel() ~= 1 then
    error(who .. ": f must return a single value (a one-element tensor computed from x)", 3)
  end
  return y
end

-- The Hessian of the leaves xs (a list) of y: H[i][j] = d²y / dx_i dx_j
-- over the elements of all the leaves, in order; rows by reverse-over-reverse.
local function hessian_of(y, xs)
  local g = grad(y, xs, { create_graph = true })
  local n, flat = 0, {}
  for i, x in ipairs(xs) do n = n + x:numel(); flat[i] = g[i]:reshape(x:numel()) end
  local H = zeros(n, n)
  local row = 0
  for i, x in ipairs(xs) do
    for k = 1, x:numel() do
      row = row + 1
      local gk = flat[i][k]
      if is_tensor(gk) and nncalc._requires_grad(gk) then
        local r = grad(gk, xs, { retain_graph = true })
        local col = 0
        for j, xj in ipairs(xs) do
          local m = xj:numel()
          H[{ row, { col + 1, col + m } }] = r[j]:reshape(m)
          col = col + m
        end
      end   -- else this gradient entry is constant in x: a zero row
    end
  end
  return H, n
end

-- hessian(f, x): the matrix of d²f / dx_i dx_j (n x n for an x of n
-- elements; x's shape twice, as PyTorch's, for a matrix x), by one
-- backward pass per row through the recorded gradient.  hessian(f, {W, b,
-- ...}) of f(W, b, ...): one N x N matrix over all their elements, in
-- order (W's row by row, then b's ...), the mixed blocks included.
function hessian(f, x)
  if type(f) ~= "function" then error("hessian: f must be a function of x", 2) end
  if type(x) == "table" and not is_tensor(x) then
    local xs = tensor_list("hessian", x)
    local leaves = {}
    for i, t in ipairs(xs) do leaves[i] = t:detach():clone():requires_grad() end
    return (hessian_of(scalar_graph("hessian", f(table.unpack(leaves))), leaves))
  end
  if not is_tensor(x) then error("hessian: x must be a tensor or a list of tensors", 2) end
  local leaf = x:detach():clone():requires_grad()
  local H = hessian_of(scalar_graph("hessian", f(leaf)), { leaf })
  if x:dim() <= 1 then return H end
  local shape = x:shape()
  for _, s in ipairs(x:shape()) do shape[#shape + 1] = s end
  return H:reshape(table.unpack(shape))
end

-- hvp(f, x, v): H v without forming H, by reverse-over-reverse:
-- d/dx (∇f(x) · v).  Returns H v (shaped like x) and f(x).
function hvp(f, x, v)
  if type(f) ~= "function" then error("hvp: f must be a function of x", 2) end
  if not is_tensor(x) then error("hvp: x must be a tensor", 2) end
  if not is_tensor(v) or v:numel() ~= x:numel() then
    error(("hvp: v must be a tensor with as many elements as x (%d)"):format(x:numel()), 2)
  end
  local leaf = x:detach():clone():requires_grad()
  local y = scalar_graph("hvp", f(leaf))
  local g = grad(y, leaf, { create_graph = true })
  local s = (g:reshape(x:numel()) * v:detach():reshape(x:numel()))
  if not (is_tensor(s) and nncalc._requires_grad(s)) then return zeros(table.unpack(x:shape())), y:item() end
  return grad(s, leaf):reshape(table.unpack(x:shape())), y:item()
end

-- ---- Jacobians ---------------------------------------------------------------

-- jacobian(f, x): d f(x) / dx as a matrix (outputs x inputs), one backward
-- pass per output element through grad(), so f may itself use autograd
-- (grad, backward) and .grad is left alone.
function jacobian(f, x)
  if type(f) ~= "function" then error("jacobian: f must be a function", 2) end
  if not is_tensor(x) then error("jacobian: x must be a tensor", 2) end
  local leaf = x:detach():clone():requires_grad()
  local y = f(leaf)
  if type(y) == "number" or not is_tensor(y) then error("jacobian: f must return a tensor", 2) end
  local m, n = y:numel(), x:numel()
  local J = zeros(m, n)
  if not nncalc._requires_grad(y) then return J end   -- f does not depend on x
  local flat = y:reshape(m)
  for i = 1, m do
    local yi = flat[i]
    if is_tensor(yi) and nncalc._requires_grad(yi) then
      J[i] = grad(yi, leaf, { retain_graph = true }):reshape(n)
    end
  end
  return J
end

-- numjacobian(f, x [, eps]): the same by central differences.  f runs
-- with recording on, on a fresh copy of x for every evaluation, so an f
-- that uses autograd inside (grad(...), backward) works; its result is
-- read as plain numbers.
function numjacobian(f, x, eps)
  if type(f) ~= "function" then error("numjacobian: f must be a function", 2) end
  if not is_tensor(x) then error("numjacobian: x must be a tensor", 2) end
  eps = eps or 1e-6
  local base = x:detach():clone()
  local n = base:numel()
  local flat = base:view(n)
  local function at()
    local y = f(base:clone())
    if type(y) == "number" then return tensor{ y } end
    if not is_tensor(y) then error("numjacobian: f must return a tensor or a number", 3) end
    return y:detach():clone()
  end
  local J
  for k = 1, n do
    local old = flat[k]
    flat[{ k }] = old + eps; local yp = at()
    flat[{ k }] = old - eps; local ym = at()
    flat[{ k }] = old
    local col = (yp - ym) / (2 * eps)
    J = J or zeros(col:numel(), n)
    J[{ {}, k }] = col:reshape(col:numel())
  end
  return J
end

-- ---- gradgradcheck --------------------------------------------------------------

-- gradgradcheck(f, {x, W, ...} [, {eps=1e-6, atol=1e-5, rtol=1e-3, quiet}]):
-- the second derivatives by autograd (create_graph, then a backward pass
-- per gradient entry) against central differences of the first gradient,
-- over every pair of elements of all the inputs; returns ok, report, worst.
-- f returns a single value.
function gradgradcheck(f, inputs, o)
  if type(f) ~= "function" then error("gradgradcheck: a function expected", 2) end
  inputs = tensor_list("gradgradcheck", inputs)
  o = check_opts("gradgradcheck", o)
  local eps, atol, rtol = o.eps or 1e-6, o.atol or 1e-5, o.rtol or 1e-3
  local leaves = {}
  for i, x in ipairs(inputs) do leaves[i] = x:detach():clone():requires_grad() end
  local H, n = hessian_of(scalar_graph("gradgradcheck", f(table.unpack(leaves))), leaves)
  local function flat_grad()
    local g = grad(f(table.unpack(leaves)), leaves)
    local parts = {}
    for i, x in ipairs(leaves) do parts[i] = g[i]:reshape(x:numel()) end
    return cat(parts, 1)
  end
  local worst, report, col = { err = 0 }, {}, 0
  for i, x in ipairs(leaves) do
    local m = x:numel()
    local view = x:detach():view(m)
    for k = 1, m do
      col = col + 1
      local old = view[k]
      view[{ k }] = old + eps; local gp = flat_grad()
      view[{ k }] = old - eps; local gm = flat_grad()
      view[{ k }] = old
      local num_col = (gp - gm) / (2 * eps)
      for r = 1, n do
        local ana, num_h = H[{ r, col }], num_col[r]
        local err = math.abs(ana - num_h)
        local bad = err > atol + rtol * math.abs(num_h)
        if err > worst.err or (bad and not worst.bad) then
          worst = { err = err, row = r, col = col, input = i, element = k, analytic = ana, numeric = num_h, bad = bad }
        end
        if bad then report[#report + 1] = worst end
      end
    end
  end
  local ok = #report == 0
  local msg
  if worst.row then
    local a, n = format_.apart(worst.analytic, worst.numeric)
    msg = ("gradgradcheck: %s, worst |analytic - numeric| = %s at d²f/dθ%d dθ%d (input %d element %d; analytic %s, numeric %s)")
      :format(ok and "ok" or "FAILED", num(worst.err), worst.row, worst.col, worst.input, worst.element, a, n)
  else
    msg = "gradgradcheck: ok (no elements)"
  end
  if not o.quiet then io.write(msg, "\n") end
  return ok, msg, worst
end

return { gradcheck = gradcheck, jacobian = jacobian, numjacobian = numjacobian, grad = grad,
  hessian = hessian, hvp = hvp, gradgradcheck = gradgradcheck, hessian_of = hessian_of }
