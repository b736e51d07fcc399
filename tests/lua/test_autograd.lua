-- Autograd through the real binary: gradcheck for every differentiable op,
-- the homework network worked by hand, Jacobians, softmax's O(n) backward,
-- the semantics of .grad, traces and graphs, errors, and memory.

seed(20240917)

-- ---- helpers ----------------------------------------------------------------

-- gradcheck must pass; the message names the case.
local function gc(what, f, inputs, o)
  o = o or {}
  o.quiet = true
  local ok, msg = gradcheck(f, inputs, o)
  if not ok then error(what .. ": " .. msg, 2) end
end

-- A fixed random weight per shape, so that f(x) = Σ w·op(x) is a single
-- value whose gradient tells every element apart (a plain sum would not
-- notice a permuted or misplaced gradient).
local weights = {}
local function wsum(y)
  if type(y) == "number" then return y end
  local key = table.concat(y:shape(), "x")
  if not weights[key] then
    weights[key] = y:dim() == 0 and tensor(1.7) or randn(table.unpack(y:shape()))
  end
  return y:cmul(weights[key]):sum()
end

-- Random values with |v| in [lo, lo+1), random signs (away from 0).
local function away(lo, ...)
  local m = rand(...) + lo
  return m:cmul(sign(randn(...)))
end

local function pos(...) return rand(...) + 0.5 end   -- in [0.5, 1.5)

-- stderr captured (the accumulation warning goes there).
local function capture_stderr(fn)
  local out, old = {}, io.stderr
  io.stderr = { write = function(self, ...)
    for _, v in ipairs({ ... }) do out[#out + 1] = tostring(v) end
    return self
  end }
  local ok, err = pcall(fn)
  io.stderr = old
  if not ok then error(err, 0) end
  return table.concat(out)
end

local function count(s, pat)
  local n = 0
  for _ in s:gmatch(pat) do n = n + 1 end
  return n
end

-- ---- 0. gradcheck itself can fail --------------------------------------------

test("gradcheck notices a wrong gradient and perturbs each element by ±eps", function()
  -- detach() cuts the graph, so the analytic gradient of x·detach(x) is x,
  -- while the numeric one is 2x: gradcheck must report the mismatch
  local ok, msg = gradcheck(function(x) return x:cmul(x:detach()):sum() end,
    { tensor{1, 2, 3} }, { quiet = true })
  eq(ok, false, "gradcheck of a wrong gradient")
  expect_error(function() error(msg) end, "FAILED", "analytic", "numeric")
  -- a right one passes, with numeric = analytic = 3x² (exact central
  -- differences need the element restored between +eps and -eps)
  local ok2, msg2, worst = gradcheck(function(x) return (x ^ 3):sum() end, { tensor{1, 2} },
    { quiet = true })
  eq(ok2, true, msg2)
  near(worst.numeric, worst.element == 1 and 3 or 12, 1e-6, "numeric derivative")
end)

test("gradcheck leaves every .grad as it found it and warns about nothing of its own", function()
  -- L = h² with h = 1·(Wx), W = [1 0 2; .5 1 -1], x = (1, 2, 3): Wx = (7, -0.5),
  -- h = 6.5, dL/dh = 13, dL/dx = 13·Wᵀ1 = 13·(1.5, 1, 1), dL/dW = 13·[xᵀ; xᵀ]
  local x = tensor{1, 2, 3}:requires_grad()
  local W = tensor{{1, 0, 2}, {0.5, 1, -1}}:requires_grad()
  local h = (W * x):sum()
  h:retain_grad()
  local L = h * h
  L:backward()
  local xg, Wg, hg = x.grad, W.grad, h.grad
  tensor_eq(xg, {19.5, 13, 13})
  local warned = {}
  local saved_warn = nncalc.warn
  nncalc.warn = function(m) warned[#warned + 1] = m end
  local y = tensor{1, 1, 1}:requires_grad()   -- a captured leaf without a gradient
  local ok, msg = pcall(gradcheck, function(w) return ((w * x):sum() + (w * y):sum()) ^ 2 end, { W }, { quiet = true })
  nncalc.warn = saved_warn
  eq(ok, true, msg)
  eq(#warned, 0, table.concat(warned))
  -- the same tensor objects, with the same values; y still has none
  eq(nncalc._id(x.grad), nncalc._id(xg)); eq(nncalc._id(W.grad), nncalc._id(Wg)); eq(nncalc._id(h.grad), nncalc._id(hg))
  tensor_eq(x.grad, {19.5, 13, 13}); tensor_eq(W.grad, { {13, 26, 39}, {13, 26, 39} }); eq(h.grad:item(), 13)
  eq(y.grad, nil)
end)

-- ---- 1. gradcheck for every differentiable op ---------------------------------

test("gradcheck: unary functions on vectors, matrices and transposed views", function()
  local fns = {
    neg = { neg, function(...) return randn(...) end },
    abs = { abs, function(...) return away(0.2, ...) end },
    exp = { exp, function(...) return randn(...) end },
    log = { log, pos },
    sqrt = { sqrt, pos },
    tanh = { tanh, function(...) return randn(...) end },
    sigmoid = { sigmoid, function(...) return randn(...) end },
    relu = { relu, function(...) return away(0.2, ...) end },
    softplus = { softplus, function(...) return randn(...) end },
  }
  for name, p in pairs(fns) do
    local f, gen = p[1], p[2]
    gc(name .. " on 4", function(x) return wsum(f(x)) end, { gen(4) })
    gc(name .. " on 2x3", function(x) return wsum(f(x)) end, { gen(2, 3) })
    gc(name .. " on a transposed 3x2", function(x) return wsum(f(x:t())) end, { gen(3, 2) })
    gc(name .. " method on 2x2x2", function(x) return wsum(x[name](x)) end, { gen(2, 2, 2) })
  end
  -- -x through the operator
  gc("unary minus", function(x) return wsum(-x) end, { randn(3) })
end)

test("gradcheck: binary operators, same shapes and broadcasting", function()
  local ops = {
    add = function(a, b) return a + b end,
    sub = function(a, b) return a - b end,
    cmul = function(a, b) return a:cmul(b) end,
    div = function(a, b) return a / b end,
    pow = function(a, b) return a ^ b end,
    maximum = function(a, b) return maximum(a, b) end,
    minimum = function(a, b) return minimum(a, b) end,
    max2 = function(a, b) return max(a, b) end,
    min2 = function(a, b) return min(a, b) end,
  }
  local shapes = {
    { { 2, 3 }, { 2, 3 } }, { { 3, 1 }, { 1, 4 } }, { { 4 }, { 3, 4 } },
    { { 2, 3, 1 }, { 3, 4 } }, { {}, { 2, 3 } }, { { 2, 3 }, {} },
  }
  for name, op in pairs(ops) do
    for _, sh in ipairs(shapes) do
      local a = #sh[1] == 0 and tensor(randn(1)[1]) or randn(table.unpack(sh[1]))
      local b = #sh[2] == 0 and tensor(randn(1)[1]) or randn(table.unpack(sh[2]))
      if name == "div" then b = #sh[2] == 0 and tensor(1.3) or away(0.5, table.unpack(sh[2])) end
      if name == "pow" then a = #sh[1] == 0 and tensor(1.2) or pos(table.unpack(sh[1])) end
      local what = ("%s %s with %s"):format(name, table.concat(sh[1], "x"), table.concat(sh[2], "x"))
      gc(what, function(p, q) return wsum(op(p, q)) end, { a, b })
    end
    -- non-contiguous operands
    local a, b = randn(3, 2), randn(2, 3)
    if name == "div" then a = away(0.5, 3, 2) end
    if name == "pow" then b = pos(2, 3); a = pos(3, 2) end
    gc(name .. " with transposed operands",
      function(p, q) return wsum(op(q, p:t())) end, { a, b })
  end
  -- a 0-d tensor times a matrix through `*`
  gc("0-d * matrix", function(s, m) return wsum(s * m) end, { tensor(1.5), randn(2, 3) })
  gc("matrix * 0-d", function(m, s) return wsum(m * s) end, { randn(2, 3), tensor(-0.5) })
end)

test("gradcheck: a number on either side", function()
  local x = pos(2, 3)
  local cases = {
    ["2 - x"] = function(x) return 2 - x end, ["x - 2"] = function(x) return x - 2 end,
    ["2 + x"] = function(x) return 2 + x end, ["x + 2"] = function(x) return x + 2 end,
    ["2 * x"] = function(x) return 2 * x end, ["x * 2"] = function(x) return x * 2 end,
    ["2 / x"] = function(x) return 2 / x end, ["x / 2"] = function(x) return x / 2 end,
    ["x ^ 3"] = function(x) return x ^ 3 end, ["2 ^ x"] = function(x) return 2 ^ x end,
    ["x ^ 0.5"] = function(x) return x ^ 0.5 end, ["x ^ -2"] = function(x) return x ^ -2 end,
    ["maximum(x, 1)"] = function(x) return maximum(x, 1) end,
    ["maximum(1, x)"] = function(x) return maximum(1, x) end,
    ["minimum(x, 1)"] = function(x) return minimum(x, 1) end,
    ["max(1, x)"] = function(x) return max(1, x) end,
    ["x:cmul(3)"] = function(x) return x:cmul(3) end,
  }
  for what, f in pairs(cases) do
    gc(what, function(x) return wsum(f(x)) end, { x })
    gc(what .. " on x:t()", function(x) return wsum(f(x:t())) end, { x })
  end
  -- and by hand: d(2/x)/dx = -2/x², d(2^x)/dx = 2^x ln 2, d(x^3)/dx = 3x²
  local v = tensor{1, 2}:requires_grad()
  local L = (2 / v):sum() + (2 ^ v):sum() + (v ^ 3):sum()
  L:backward()
  tensor_eq(v.grad, { -2 + 2 * math.log(2) + 3, -0.5 + 4 * math.log(2) + 12 }, 1e-12)
end)

test("gradcheck: sum, mean, prod, max, min over all and along each dim", function()
  local x = randn(2, 3, 4)
  for _, op in ipairs({ "sum", "mean", "prod", "max", "min" }) do
    gc(op .. " of all", function(x) return x[op](x) end, { x })
    gc(op .. " of all of x:t()", function(x) return x:t()[op](x:t()) end, { randn(3, 2) })
    for d = 1, 3 do
      for _, keep in ipairs({ false, true }) do
        gc(("%s along %d keepdim=%s"):format(op, d, tostring(keep)),
          function(x) return wsum((x[op](x, d, keep))) end, { x })
      end
      gc(("%s{dim=%d} of a permuted view"):format(op, d),
        function(x) local p = x:permute{3, 1, 2}; return wsum((p[op](p, { dim = d }))) end, { x })
    end
    -- a row picked by indexing is a view with an offset into x
    gc(op .. " of all of the row x[2]", function(x) return x[2][op](x[2]) end, { randn(3, 4) })
    gc(op .. " of all of a column x[{{}, 3}]",
      function(x) local c = x[{ {}, 3 }]; return c[op](c) end, { randn(3, 4) })
  end
end)

test("max and min along a dim with a NaN: the gradient goes to the position returned", function()
  for _, op in ipairs({ "max", "min" }) do
    local x = tensor{{1, 0 / 0, 3}, {5, 2, 4}}:requires_grad()
    local v, i = x[op](x, 2)
    eq(i[1], 2, op .. " returns the NaN's position")
    v:sum():backward()
    eq(x.grad[{1, 2}], 1, op .. ": the NaN's position gets the gradient")
    eq(x.grad[{1, 3}] + x.grad[{1, 1}], 0, op .. ": nothing elsewhere in that row")
  end
end)

test("prod with zeros: gradient is the product of the others", function()
  local z = tensor{{2, 0, 3}, {1, 4, 5}}
  gc("prod of all with one zero", function(x) return x:prod() end, { z })
  gc("prod along 2 with one zero", function(x) return wsum(x:prod(2)) end, { z })
  gc("prod along 1 with two zeros",
    function(x) return wsum(x:prod(1)) end, { tensor{{0, 2}, {0, 3}, {4, 5}} })
  local x = z:clone():requires_grad()
  x:prod():backward()
  tensor_eq(x.grad, { { 0, 120, 0 }, { 0, 0, 0 } })   -- 2·3·1·4·5
  x = tensor{2, 0, 3}:requires_grad()
  x:prod():backward()
  tensor_eq(x.grad, { 0, 6, 0 })
  x = tensor{0, 0, 3}:requires_grad()
  x:prod():backward()
  tensor_eq(x.grad, { 0, 0, 0 })
end)

test("max and min: the gradient goes to the winner", function()
  local x = tensor{{1, 5, 3}, {4, 2, 6}}:requires_grad()
  local v = x:max(2)
  v:sum():backward()
  tensor_eq(x.grad, { { 0, 1, 0 }, { 0, 0, 1 } })
  x.grad = nil
  x:min():backward()
  tensor_eq(x.grad, { { 1, 0, 0 }, { 0, 0, 0 } })
  -- ties in a max over everything share the gradient
  local t = tensor{3, 1, 3}:requires_grad()
  t:max():backward()
  tensor_eq(t.grad, { 0.5, 0, 0.5 })
end)

test("gradcheck: softmax and log_softmax along each dim", function()
  local x = randn(2, 3, 4)
  for _, f in ipairs({ { "softmax", softmax }, { "log_softmax", log_softmax } }) do
    gc(f[1] .. " of a vector", function(v) return wsum(f[2](v)) end, { randn(5) })
    for d = 1, 3 do
      gc(f[1] .. " along " .. d, function(x) return wsum(f[2](x, d)) end, { x })
    end
    gc(f[1] .. " default dim", function(x) return wsum(f[2](x)) end, { x })
    gc(f[1] .. " of a transposed matrix along 1",
      function(m) return wsum(f[2](m:t(), 1)) end, { randn(3, 4) })
    gc(f[1] .. " of a row x[2]", function(m) return wsum(f[2](m[2])) end, { randn(3, 4) })
  end
end)

test("gradcheck: dot, mv, vm, mm, outer", function()
  local u, v = randn(4), randn(4)
  gc("dot", function(a, b) return dot(a, b) end, { u, v })
  gc("vector * vector", function(a, b) return a * b end, { u, v })
  gc("dot of a row and a column", function(m) return dot(m[1], m[{ {}, 2 }]) end, { randn(3, 3) })
  local A, x = randn(3, 4), randn(4)
  gc("mv", function(A, x) return wsum(mv(A, x)) end, { A, x })
  gc("matrix * vector", function(A, x) return wsum(A * x) end, { A, x })
  gc("Aᵀ * vector", function(A, y) return wsum(A:t() * y) end, { A, randn(3) })
  gc("vector * matrix", function(y, A) return wsum(y * A) end, { randn(3), A })
  gc("vector * Aᵀ", function(y, A) return wsum(y * A:t()) end, { randn(4), A })
  local B = randn(4, 2)
  gc("mm", function(A, B) return wsum(mm(A, B)) end, { A, B })
  gc("matrix * matrix", function(A, B) return wsum(A * B) end, { A, B })
  gc("Bᵀ * Aᵀ", function(A, B) return wsum(B:t() * A:t()) end, { A, B })
  gc("A * Aᵀ (one input twice)", function(A) return wsum(A * A:t()) end, { A })
  gc("outer", function(a, b) return wsum(outer(a, b)) end, { randn(3), randn(2) })
  gc("matmul", function(A, B) return wsum(matmul(A, B)) end, { A, B })
end)

test("gradcheck: bmm, batch broadcasting, 3-D with 2-D", function()
  gc("bmm", function(a, b) return wsum(bmm(a, b)) end, { randn(2, 3, 4), randn(2, 4, 5) })
  gc("bmm 1xnxk with bxkxm", function(a, b) return wsum(bmm(a, b)) end,
    { randn(1, 3, 4), randn(2, 4, 5) })
  gc("bmm bxnxk with 1xkxm", function(a, b) return wsum(bmm(a, b)) end,
    { randn(2, 3, 4), randn(1, 4, 5) })
  gc("3-D * 2-D", function(a, b) return wsum(a * b) end, { randn(2, 3, 4), randn(4, 2) })
  gc("2-D * 3-D", function(a, b) return wsum(a * b) end, { randn(3, 4), randn(2, 4, 2) })
  gc("3-D * 3-D", function(a, b) return wsum(a * b) end, { randn(2, 3, 4), randn(2, 4, 2) })
  gc("bmm of transposed batches", function(a, b) return wsum(bmm(a:transpose(2, 3), b)) end,
    { randn(2, 4, 3), randn(2, 4, 2) })
  -- the graph products agree with the plain ones
  local a, b = randn(2, 3, 4), randn(4, 2)
  local plain = a * b
  tensor_eq((a:clone():requires_grad() * b):detach(), plain:totable(), 1e-12, "3-D * 2-D in a graph")
end)

test("gradcheck: inv, det, solve", function()
  local A = randn(3, 3) + 3 * eye(3)
  gc("inv", function(A) return wsum(inv(A)) end, { A })
  gc("inv of Aᵀ", function(A) return wsum(inv(A:t())) end, { A })
  gc("det", function(A) return det(A) end, { A })
  gc("det * 2 + 1", function(A) return 2 * det(A) + 1 end, { A })
  gc("solve with a vector", function(A, b) return wsum(solve(A, b)) end, { A, randn(3) })
  gc("solve with a matrix", function(A, B) return wsum(solve(A, B)) end, { A, randn(3, 2) })
  gc("solve with Aᵀ", function(A, b) return wsum(solve(A:t(), b)) end, { A, randn(3) })
  -- at a singular matrix the gradient is the cofactor matrix (no inverse
  -- exists; d(ad - bc) = (d, -c; -b, a) all the same), checked numerically
  local S = tensor{{1, 2}, {2, 4}}:requires_grad()
  local dS = det(S)
  eq(dS:item(), 0)
  dS:backward()
  tensor_eq(S.grad, { { 4, -2 }, { -2, 1 } }, 1e-12)
  local S3 = tensor{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}
  gc("det at a singular 3x3", function(A) return det(A) end, { S3 })
  gc("det at a rank-1 3x3 (zero gradient)", function(A) return det(A) end, { tensor{{1, 2, 3}, {2, 4, 6}, {3, 6, 9}} })
  local S3g = S3:clone():requires_grad()
  det(S3g):backward()
  tensor_eq(S3g.grad, { { -3, 6, -3 }, { 6, -12, 6 }, { -3, 6, -3 } }, 1e-9)
  -- d det / dA = det(A) A⁻ᵀ by hand for a 2x2: d(ad - bc) = (d, -c; -b, a)
  local M = tensor{{1, 2}, {3, 4}}:requires_grad()
  det(M):backward()
  tensor_eq(M.grad, { { 4, -3 }, { -2, 1 } }, 1e-12)
end)

test("gradcheck: views and copies", function()
  local x = randn(2, 3, 4)
  gc("view", function(x) return wsum(x:view(4, 6)) end, { x })
  gc("view -1", function(x) return wsum(x:view(-1)) end, { x })
  gc("reshape", function(x) return wsum(x:reshape(3, 8)) end, { x })
  gc("reshape of a transposed view (a copy)", function(m) return wsum(m:t():reshape(12)) end,
    { randn(3, 4) })
  gc("t", function(m) return wsum(m:t()) end, { randn(3, 4) })
  gc("t of a vector", function(v) return wsum(v:t()) end, { randn(3) })
  gc("transpose 1 3", function(x) return wsum(x:transpose(1, 3)) end, { x })
  gc("transpose 2 3 then contiguous", function(x) return wsum(x:transpose(2, 3):contiguous()) end,
    { x })
  gc("permute", function(x) return wsum(x:permute{3, 1, 2}) end, { x })
  gc("permute twice", function(x) return wsum(x:permute{2, 3, 1}:permute{3, 1, 2}:cmul(x)) end, { x })
  gc("squeeze all", function(y) return wsum(y:squeeze()) end, { randn(1, 3, 1) })
  gc("squeeze one", function(y) return wsum(y:squeeze(3)) end, { randn(1, 3, 1) })
  gc("unsqueeze", function(v) return wsum(v:unsqueeze(2)) end, { randn(3, 2) })
  gc("unsqueeze at the end", function(v) return wsum(v:unsqueeze(3)) end, { randn(3, 2) })
  gc("narrow dim 1", function(x) return wsum(x:narrow(1, 2, 1)) end, { x })
  gc("narrow dim 3", function(x) return wsum(x:narrow(3, 2, 2)) end, { x })
  gc("select dim 2", function(x) return wsum(x:select(2, 3)) end, { x })
  gc("select dim 3", function(x) return wsum(x:select(3, -1)) end, { x })
  gc("expand", function(c) return wsum(c:expand(3, 4)) end, { randn(3, 1) })
  gc("expand adding a dim", function(r) return wsum(r:expand(2, 3, 4)) end, { randn(4) })
  gc("clone", function(x) return wsum(x:clone()) end, { x })
  gc("contiguous of a transposed view", function(m) return wsum(m:t():contiguous()) end,
    { randn(3, 4) })
  gc("contiguous of a contiguous tensor", function(m) return wsum(m:contiguous()) end,
    { randn(3, 4) })
  gc("index_select with a repeated index", function(m) return wsum(m:index_select(1, {3, 1, 3, 3})) end,
    { randn(3, 2) })
  gc("index_select dim 2 from a tensor of indices",
    function(m) return wsum(m:index_select(2, tensor{2, 2, 1})) end, { randn(3, 2) })
  -- repeated indices add up: row 3 was picked three times
  local m = tensor{{1, 2}, {3, 4}, {5, 6}}:requires_grad()
  m:index_select(1, {3, 1, 3, 3}):sum():backward()
  tensor_eq(m.grad, { { 1, 1 }, { 0, 0 }, { 3, 3 } })
end)

test("gradcheck: cat and stack", function()
  local a, b, c = randn(2, 3), randn(1, 3), randn(4, 3)
  gc("cat dim 1", function(a, b, c) return wsum(cat({a, b, c})) end, { a, b, c })
  gc("cat dim 2", function(a, b) return wsum(cat({a, b}, 2)) end, { randn(2, 3), randn(2, 1) })
  gc("cat of four (more inputs than a node holds inline)",
    function(a, b, c, d) return wsum(cat({a, b, c, d})) end, { randn(2), randn(3), randn(1), randn(2) })
  gc("cat of a tensor with itself", function(a) return wsum(cat({a, a:t()}, 1)) end, { randn(2, 2) })
  gc("stack dim 1", function(a, b) return wsum(stack({a, b})) end, { randn(2, 3), randn(2, 3) })
  gc("stack dim 2", function(a, b) return wsum(stack({a, b}, 2)) end, { randn(2, 3), randn(2, 3) })
  gc("stack dim 3", function(a, b) return wsum(stack({a, b}, 3)) end, { randn(2, 3), randn(2, 3) })
  -- only one input requires grad
  local p = tensor{1, 2}:requires_grad()
  local q = tensor{3, 4, 5}
  local y = cat({q, p})
  wsum(y):backward()
  local w = weights["5"]
  tensor_eq(p.grad, { w[4], w[5] })
end)

test("gradcheck: indexing x[i], x[{i,j}], x[{{a,b},j}] and ranges", function()
  local x = randn(3, 4)
  gc("x[i]", function(x) return wsum(x[2]) end, { x })
  gc("x[-1]", function(x) return wsum(x[-1]) end, { x })
  gc("x[{i,j}]", function(x) return x[{2, 3}] end, { x })
  gc("x[{i,j}] * x[{k,l}] + x[{i,j}]", function(x) return x[{2, 3}] * x[{1, 4}] + x[{2, 3}] end, { x })
  gc("x[{{a,b},j}]", function(x) return wsum(x[{{1, 2}, 3}]) end, { x })
  gc("x[{i,{a,b}}]", function(x) return wsum(x[{3, {2, 4}}]) end, { x })
  gc("x[{{a,b},{c,d}}]", function(x) return wsum(x[{{2, 3}, {1, 2}}]) end, { x })
  gc("x[{{}, j}]", function(x) return wsum(x[{{}, 4}]) end, { x })
  gc("x:t()[{i,j}]", function(x) return x:t()[{4, 1}] * 2 end, { x })
  gc("3-D x[{i,{a,b},k}]", function(x) return wsum(x[{2, {1, 2}, 4}]) end, { randn(2, 3, 4) })
  gc("an element read twice", function(v) return v[2] * v[2] + v[1] end, { randn(3) })
  -- by hand: only the picked place gets a gradient
  local v = tensor{{1, 2}, {3, 4}}:requires_grad()
  local e = v[{2, 1}]
  eq(e:dim(), 0, "x[{i,j}] in a graph is 0-d")
  local r = e * 5
  r:backward()
  tensor_eq(v.grad, { { 0, 0 }, { 5, 0 } })
end)

test("gradcheck: a small network with everything together", function()
  gc("two layers, softmax cross-entropy",
    function(W1, b1, W2, x)
      local h = tanh(W1 * x + b1)
      return -log_softmax(W2 * h)[2]
    end, { randn(4, 3), randn(4), randn(3, 4), randn(3) })
end)

-- ---- 2. the homework network, worked by hand ----------------------------------

-- x = (2, 1), y = 10; relu after each layer; L = (yhat - y)^2, yhat = z3[1].
-- Forward:  a1 = W1 x + b1 = (2+0+0, 6+4-2, 2+2+5) = (2, 8, 9) = z1
--           a2 = W2 z1 + b2 = (4+48+9-23, 0+24+9-11) = (38, 22) = z2
--           a3 = W3 z2 + b3 = -76 + 66 + 18 = 8 = z3   (yhat = 8, not 9)
--           L = (8 - 10)^2 = 4
-- Backward: dL/dyhat = 2(8 - 10) = -4 = dL/da3 (relu'(8) = 1)
--           dW3 = -4 (38, 22) = (-152, -88), db3 = -4
--           dz2 = W3ᵀ (-4) = (8, -12) = da2 = db2 (both a2 > 0)
--           dW2 = (8, -12)ᵀ (2, 8, 9) = [16 64 72; -24 -96 -108]
--           dz1 = W2ᵀ (8, -12) = (16 + 0, 48 - 36, 8 - 12) = (16, 12, -4) = db1
--           dW1 = (16, 12, -4)ᵀ (2, 1) = [32 16; 24 12; -8 -4]
local function homework(globals)
  local env = globals and _G or {}
  env.x, env.y = tensor{2, 1}, 10
  env.W1 = tensor{{1, 0}, {3, 4}, {1, 2}}:requires_grad()
  env.b1 = tensor{0, -2, 5}:requires_grad()
  env.W2 = tensor{{2, 6, 1}, {0, 3, 1}}:requires_grad()
  env.b2 = tensor{-23, -11}:requires_grad()
  env.W3 = tensor{{-2, 3}}:requires_grad()
  env.b3 = tensor{18}:requires_grad()
  env.a1 = env.W1 * env.x + env.b1; env.z1 = relu(env.a1)
  env.a2 = env.W2 * env.z1 + env.b2; env.z2 = relu(env.a2)
  env.a3 = env.W3 * env.z2 + env.b3; env.z3 = relu(env.a3)
  env.yhat = env.z3[1]
  env.L = (env.yhat - env.y) ^ 2
  return env
end

test("homework network: forward values and every gradient", function()
  local h = homework()
  tensor_eq(h.a1:detach(), { 2, 8, 9 })
  tensor_eq(h.a2:detach(), { 38, 22 })
  eq(h.yhat:item(), 8, "yhat")
  eq(h.L:item(), 4, "L")
  h.L:backward()
  tensor_eq(h.W3.grad, { { -152, -88 } })
  tensor_eq(h.b3.grad, { -4 })
  tensor_eq(h.W2.grad, { { 16, 64, 72 }, { -24, -96, -108 } })
  tensor_eq(h.b2.grad, { 8, -12 })
  tensor_eq(h.W1.grad, { { 32, 16 }, { 24, 12 }, { -8, -4 } })
  tensor_eq(h.b1.grad, { 16, 12, -4 })
  eq(h.x.grad, nil, "x does not require grad")
  eq(h.a2.grad, nil, "an intermediate keeps no gradient")
end)

test("homework network: gradcheck of every parameter", function()
  local h = homework()
  gc("homework L", function(W1, b1, W2, b2, W3, b3)
    local z1 = relu(W1 * h.x + b1)
    local z2 = relu(W2 * z1 + b2)
    return (relu(W3 * z2 + b3)[1] - 10) ^ 2
  end, { h.W1, h.b1, h.W2, h.b2, h.W3, h.b3 })
end)

-- ---- 3. Jacobians ------------------------------------------------------------------

test("jacobian of softmax is diag(s) - s sᵀ and matches numjacobian", function()
  local x = tensor{0.5, -1, 2, 0.3}
  local s = softmax(x)
  local want = eye(4):cmul(s) - outer(s, s)
  local J = jacobian(softmax, x)
  tensor_eq(J, want:totable(), 1e-12, "jacobian(softmax)")
  local N = numjacobian(softmax, x)
  tensor_eq(N, want:totable(), 1e-6, "numjacobian(softmax)")
  eq(allclose(J, N, 0, 1e-6), true, "jacobian vs numjacobian")
  -- rows of a softmax Jacobian sum to 0 (the outputs sum to 1)
  tensor_eq(J:sum(2), { 0, 0, 0, 0 }, 1e-12)
end)

test("jacobian of sigmoid is diag(σ(1-σ)); tanh(x/2) = 2σ(x) - 1", function()
  local x = tensor{-2, 0, 0.5, 3}
  local s = sigmoid(x)
  local J = jacobian(sigmoid, x)
  tensor_eq(J, eye(4):cmul(s:cmul(1 - s)):totable(), 1e-12)
  tensor_eq(numjacobian(sigmoid, x), J:totable(), 1e-6)
  -- tanh(x/2) = 2σ(x) - 1, so their Jacobians agree: ½(1 - tanh²(x/2)) = 2σ(1-σ)
  local f = function(v) return tanh(v / 2) end
  local g = function(v) return 2 * sigmoid(v) - 1 end
  tensor_eq(f(x), g(x):totable(), 1e-12)
  tensor_eq(jacobian(f, x), jacobian(g, x):totable(), 1e-12)
  tensor_eq(numjacobian(f, x), jacobian(g, x):totable(), 1e-6)
end)

test("jacobian of log_softmax is I - 1 sᵀ and matches numjacobian", function()
  local x = tensor{1, 2, -0.5}
  local s = softmax(x)
  local J = jacobian(log_softmax, x)
  tensor_eq(J, (eye(3) - ones(3, 1) * s:view(1, 3)):totable(), 1e-12)
  tensor_eq(numjacobian(log_softmax, x), J:totable(), 1e-6)
  -- a matrix input: the Jacobian is 6x6, block-diagonal by rows
  local m = tensor{{1, 2, 3}, {0, -1, 1}}
  local f = function(v) return log_softmax(v, 2) end
  local Jm = jacobian(f, m)
  eq(Jm:size(1), 6); eq(Jm:size(2), 6)
  tensor_eq(numjacobian(f, m), Jm:totable(), 1e-6)
  eq(Jm[{1, 4}], 0, "rows do not mix")
end)

-- ---- 4. softmax backward is O(n) ----------------------------------------------------

test("softmax backward of 200000 elements builds no n×n matrix", function()
  local n = 200000
  local x = (randn(n) * 2):requires_grad()
  local w = randn(n)
  local s = softmax(x)
  local L = s:cmul(w):sum()
  local old = limits().max_elements
  limits{ max_elements = 1000000 }
  -- the limit is real: an n×n matrix would be refused
  local ok_big = pcall(zeros, n, n)
  local ok, err = pcall(function() L:backward() end)
  limits{ max_elements = old }
  eq(ok_big, false, "an n×n allocation under the limit")
  eq(ok, true, "backward under max_elements=1e6: " .. tostring(err))
  -- dL/dx = s·(w - Σ w·s)
  local sw = s:detach():cmul(w):sum()
  local want = s:detach():cmul(w - sw)
  eq(allclose(x.grad, want, 1e-9, 1e-15), true, "softmax gradient")
  eq(limits().max_elements, old, "limits restored")
end)

-- ---- 5. semantics -----------------------------------------------------------------

test("gradients accumulate across backward calls; zero_grad resets", function()
  local x = tensor{1, 2, 3}:requires_grad()
  local err = capture_stderr(function()
    x:cmul(x):sum():backward()
  end)
  tensor_eq(x.grad, { 2, 4, 6 })
  eq(err, "", "no warning on the first backward")
  err = capture_stderr(function()
    x:cmul(x):sum():backward()
  end)
  tensor_eq(x.grad, { 4, 8, 12 }, 0, "x.grad doubles")
  eq(count(err, "warning:"), 1, "one warning: " .. err)
  expect_error(function() error(err) end, "already held a gradient", "zero_grad")
  x:zero_grad()
  tensor_eq(x.grad, { 0, 0, 0 })
  err = capture_stderr(function() (x:cmul(x)):sum():backward() end)
  eq(err, "", "no warning after zero_grad")
  tensor_eq(x.grad, { 2, 4, 6 })
  x.grad = nil
  eq(x.grad, nil, "x.grad = nil drops it")
end)

test("the accumulation warning: once for x*x, silenced by warnings{accumulate=false}", function()
  local x = tensor{1, 2}:requires_grad()
  local err = capture_stderr(function() (x * x):backward() end)   -- a dot: x twice
  eq(err, "", "the same leaf twice in one pass is not accumulation")
  tensor_eq(x.grad, { 2, 4 })
  err = capture_stderr(function() (x * x):backward() end)
  eq(count(err, "warning:"), 1, "warned once, not once per use: " .. err)
  eq(err:find("(and", 1, true), nil, "only one leaf: " .. err)
  tensor_eq(x.grad, { 4, 8 })
  -- two leaves accumulating: one line, the other counted
  local a, b = tensor{1}:requires_grad(), tensor{2}:requires_grad()
  a:cmul(b):sum():backward()
  err = capture_stderr(function() a:cmul(b):sum():backward() end)
  eq(count(err, "warning:"), 1)
  expect_error(function() error(err) end, "(and 1 more)")
  local before = warnings().accumulate
  warnings{ accumulate = false }
  -- silenced, the names the warning would print are not looked up: that
  -- walks every global (pairs(_G)), and made each such backward of a
  -- training loop that accumulates on purpose 50 times slower
  local walks, mt, counting = 0, getmetatable(_G), {}
  for k, v in pairs(mt or {}) do counting[k] = v end   -- _G's own (name hints)
  counting.__pairs = function(t) walks = walks + 1; return next, t, nil end
  setmetatable(_G, counting)
  local ok, e = pcall(function()
    err = capture_stderr(function() (x * x):backward() end)
  end)
  local silenced_walks = walks
  warnings{ accumulate = before }
  local err2 = capture_stderr(function() (x * x):backward() end)
  setmetatable(_G, mt)
  assert(ok, e)
  eq(err, "", "silenced")
  eq(silenced_walks, 0, "no names looked up for a silenced warning")
  assert(walks > 0 and err2:find(".grad already held a gradient", 1, true), "warned, naming: " .. err2)
  tensor_eq(x.grad, { 8, 16 }, 0, "still accumulated")
  eq(warnings().accumulate, true)
end)

test("retain_grad keeps an intermediate's gradient", function()
  local x = tensor{1, -2}:requires_grad()
  local z = 3 * x
  z:retain_grad()
  local u = z:cmul(z)
  u:sum():backward()
  tensor_eq(z.grad, { 6, -12 })
  tensor_eq(x.grad, { 18, -36 })
  eq(u.grad, nil, "not retained")
  expect_error(function() tensor{1}:retain_grad() end, "does not require grad")
end)

test("no_grad records nothing; detach gives a new leaf", function()
  local x = tensor{1, 2}:requires_grad()
  eq(grad_enabled(), true)
  local inside, y, r = nil, nil, nil
  r = no_grad(function()
    inside = grad_enabled()
    y = x * 2
    return 7, 8
  end)
  eq(r, 7, "no_grad returns what f returns")
  eq(inside, false, "grad_enabled() inside no_grad")
  eq(grad_enabled(), true, "restored")
  eq(y:is_leaf(), true)
  eq(y:grad_fn(), nil)
  eq(type(y[1]), "number", "no graph: elements are numbers")
  expect_error(function() y:backward(tensor{1, 1}) end, "does not require grad")
  -- an error inside no_grad restores recording too
  pcall(no_grad, function() error("boom") end)
  eq(grad_enabled(), true, "restored after an error")
  -- detach
  local z = x * 3
  eq(z:is_leaf(), false)
  eq(z:grad_fn():match("^mul#%d+$") ~= nil, true, z:grad_fn())
  local d = z:detach()
  eq(d:is_leaf(), true)
  eq(type(d[1]), "number")
  tensor_eq(d, { 3, 6 })
  expect_error(function() d:backward(tensor{1, 1}) end, "does not require grad")
end)

test("0-d values inside graphs; numbers outside", function()
  local o = tensor{1, 2, 0.5}:requires_grad()
  local L = -log_softmax(o)[2]
  eq(type(L), "userdata")
  eq(L:dim(), 0, "a 0-d tensor")
  near(L:item(), -(2 - math.log(math.exp(1) + math.exp(2) + math.exp(0.5))), 1e-12)
  L:backward()
  local s = softmax(o:detach())
  tensor_eq(o.grad, (s - tensor{0, 1, 0}):totable(), 1e-12, "softmax(o) - onehot(2)")
  -- a 0-d value works with numbers
  local v = o[1] * 2 + 1
  eq(v:item(), 3)
  eq(o:sum() < 4, true, "0-d compares with a number")
  -- outside graphs a single value is a plain number
  local p = tensor{{1, 2}, {3, 4}}
  eq(type(p[{2, 1}]), "number"); eq(p[{2, 1}], 3)
  eq(type(p:sum()), "number"); eq(p:sum(), 10)
  eq(type(tensor{1, 2} * tensor{3, 4}), "number")
  eq(type(dot(tensor{1, 2}, tensor{3, 4})), "number")
  eq(type(det(p)), "number")
  eq(type(o:sum()), "userdata", "inside a graph: a 0-d tensor")
  eq(type(o:detach():sum()), "number")
end)

test("relu'(0) = 0 and |x|' at 0 = 0", function()
  local x = tensor{-1, 0, 2}:requires_grad()
  relu(x):sum():backward()
  tensor_eq(x.grad, { 0, 0, 1 })
  local y = tensor{-1, 0, 2}:requires_grad()
  abs(y):sum():backward()
  tensor_eq(y.grad, { -1, 0, 1 })
end)

test("backward with an explicit upstream gradient", function()
  local x = tensor{{1, 2}, {3, 4}}:requires_grad()
  local y = x:cmul(x)
  y:backward(tensor{{1, 0}, {10, 100}})
  tensor_eq(x.grad, { { 2, 0 }, { 60, 800 } })
  x.grad = nil
  local z = x:t() * 3
  z:backward{ grad = tensor{{1, 2}, {3, 4}} }
  tensor_eq(x.grad, { { 3, 9 }, { 6, 12 } })
  -- backward on a leaf: its gradient is the upstream one (or 1)
  local l = tensor{5}:requires_grad()
  l:backward()
  tensor_eq(l.grad, { 1 })
end)

test("backward{record=true} returns the steps", function()
  local x = tensor{-1, 2, 3}:requires_grad()
  local y = relu(x)
  local L = y:sum()
  local steps = L:backward{ record = true }
  eq(#steps, 2, "steps")
  eq(steps[1].op, "sum"); eq(steps[2].op, "relu")
  tensor_eq(steps[1].gout, 1)
  tensor_eq(steps[1].gin[1], { 1, 1, 1 })
  tensor_eq(steps[2].gin[1], { 0, 1, 1 })
  tensor_eq(steps[2].locals[1], { 0, 1, 1 })
  eq(nncalc._id(steps[2].inputs[1]), nncalc._id(x), "relu's input is x")
  eq(nncalc._id(steps[2].out), nncalc._id(y), "relu's output is y")
  -- a leaf that does not require grad gets no gradient step
  local w = tensor{1, 1, 1}
  local x2 = tensor{1, 2, 3}:requires_grad()
  local st = dot(x2, w):backward{ record = true }
  eq(#st, 1)
  eq(st[1].op, "dot")
  tensor_eq(st[1].gin[1], { 1, 1, 1 })
  eq(st[1].gin[2], false, "w needs no gradient")
  local x3 = tensor{1}:requires_grad()
  eq(exp(x3):sum():backward(), nil, "nothing returned without record")
end)

-- The trace and graph name tensors by the globals holding them: the
-- homework network as globals for fn, removed afterwards whatever happens.
local hw_globals = { "x", "y", "W1", "b1", "W2", "b2", "W3", "b3", "a1", "z1", "a2", "z2",
  "a3", "z3", "yhat", "L" }
local function with_homework_globals(fn)
  return function()
    homework(true)
    local ok, err = pcall(fn)
    for _, k in ipairs(hw_globals) do _G[k] = nil end
    if not ok then error(err, 0) end
  end
end

test("backward{trace=true} prints the chain rule with global names", with_homework_globals(function()
  local out = capture(function() L:backward{ trace = true } end)
  local want = "dL/da3 = dL/dz3 · relu'(a3) = -4 · 1 = -4"
  eq(out:find(want, 1, true) ~= nil, true, "trace line missing:\n" .. out)
  eq(out:find("backward from L = 4", 1, true) ~= nil, true, "header:\n" .. out)
  eq(out:find("W3.grad = dL/dW3", 1, true) ~= nil, true, "leaf line:\n" .. out)
  eq(out:find("(-152 -88)", 1, true) ~= nil or out:find("[-152 -88]", 1, true) ~= nil, true,
    "dW3 value:\n" .. out)
  tensor_eq(W1.grad, { { 32, 16 }, { 24, 12 }, { -8, -4 } })
  -- trace steps are in backward order: pow first, the first mv last
  local first = out:match("step 1: [^\n]*")
  eq(first:find("= pow(", 1, true) ~= nil, true, first)
end))

test("trace: a tensor used twice shows each path's share and their sum", function()
  local out
  local ok, err = pcall(function()
    tc = tensor{10, 20}:requires_grad()
    local L = (tc * 3 - tc):sum():name("L")
    out = capture(function() L:backward{ trace = true } end)
    tx = tensor{1, -2}:requires_grad()
    tz = tx * 2
    local L2 = (tz:cmul(tz) - tz):sum():name("L")
    out = out .. capture(function() L2:backward{ trace = true } end)
    tensor_eq(tx.grad, { 6, -18 }, 0, "d(z^2 - z)/dx = (2z - 1)*2")
  end)
  tc, tx, tz = nil, nil, nil
  assert(ok, err)
  for _, line in ipairs({
    "dL/dtc = -dL/dsub#", "= (-1, -1)\n  tc.grad = dL/dtc\n",       -- the first path's own share
    "dL/dtc = dL/dmul#", "= (3, 3)\n",
    "(tc is used by more than one op and the chain rule adds the paths: dL/dtc so far = (2, 2), from 2 paths)",
    "tc.grad += dL/dtc",
    "dL/dtz = -dL/dsub#", "= (-1, -1)",
    "dL/dtz so far = (1, -5), from 2 paths", "dL/dtz so far = (3, -9), from 3 paths",
    "dL/dtz = the sum of its 3 paths above = (3, -9)",
  }) do
    eq(out:find(line, 1, true) ~= nil, true, ("%q missing from\n%s"):format(line, out))
  end
  -- a bias broadcast over a batch: its gradient is the column sum
  local x = tensor{{1, 2}, {3, 4}}
  local b = tensor{1, -1}:requires_grad()
  out = capture(function() ((x + b):cmul(x)):sum():backward{ trace = true } end)
  eq(out:find("summed over the broadcast 2x2 -> 2 = (4, 6)", 1, true) ~= nil, true, out)
end)

test("parameters of modules held in globals are named by their path", function()
  local out
  local ok, err = pcall(function()
    seed(1)
    tnet = nn.Sequential{ nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1) }
    local y = tnet(tensor{1, 2}):sum():name("L")
    out = capture(function() y:backward{ trace = true } end)
    tnet[3].bias:name("b3")   -- a name the user gives wins
    local y2 = tnet(tensor{1, 2}):sum():name("L")
    tnet:zero_grad()
    out = out .. capture(function() y2:backward{ trace = true } end)
  end)
  tnet = nil
  assert(ok, err)
  for _, line in ipairs({ "tnet[1].weight.grad = dL/dtnet[1].weight", "tnet[3].bias.grad = dL/dtnet[3].bias",
    "b3.grad = dL/db3" }) do
    eq(out:find(line, 1, true) ~= nil, true, ("%q missing from\n%s"):format(line, out))
  end
end)

test("trace names every input of an op with more than two (cat of three)", function()
  local out
  local ok, err = pcall(function()
    ta, tb, tc = tensor{1}:requires_grad(), tensor{2}:requires_grad(), tensor{3}:requires_grad()
    local y = cat({ ta, tb, tc })
    local loss = y:cmul(tensor{1, 2, 3}):sum():name("L")
    out = capture(function() loss:backward{ trace = true } end)
  end)
  ta, tb, tc = nil, nil, nil
  assert(ok, err)
  for _, line in ipairs({ "dL/dta = the part of dL/dcat#", "dL/dtb = the part of dL/dcat#",
    "dL/dtc = the part of dL/dcat#", "tc.grad = dL/dtc" }) do
    eq(out:find(line, 1, true) ~= nil, true, ("%q missing from\n%s"):format(line, out))
  end
  eq(out:find("that came from tc = 3", 1, true) ~= nil, true, out)
end)

test("graph(L) prints names and shapes; :dot writes Graphviz", with_homework_globals(function()
  local g = graph(L)
  local s = tostring(g)
  for _, part in ipairs({ "L = pow", "yhat = index", "z3 = relu", "a3 = add", "W1  [3x2]",
    "b1  [3]", "z2 = relu  [2]", "[scalar]" }) do
    eq(s:find(part, 1, true) ~= nil, true, ("%q missing from the graph:\n%s"):format(part, s))
  end
  local path = os.tmpname()
  local text = g:dot(path)
  local f = assert(io.open(path))
  local content = f:read("a")
  f:close()
  os.remove(path)
  eq(content:sub(1, 7), "digraph", "DOT file")
  eq(content, text)
  eq(content:find("W1 [3x2]", 1, true) ~= nil, true, content)
  eq(content:find("relu#", 1, true) ~= nil, true, content)
  -- every tensor an edge names is declared as a box
  local boxes, edges = {}, 0
  for id in content:gmatch("\n  (t%d+) %[shape=box") do boxes[id] = true end
  for a, b in content:gmatch("\n  (%w+) %-> (%w+);") do
    edges = edges + 1
    local t = a:match("^t%d+$") and a or b
    eq(boxes[t], true, t .. " has no box in\n" .. content)
  end
  -- inputs: mv, add 2 each, relu 1, three layers (15), index, sub, pow 1 each (3);
  -- outputs: 12; and the numbers y = 10 (sub) and the exponent 2 (pow)
  eq(edges, 15 + 3 + 12 + 2, "edges: one per input, one per output, one per constant")
end))

test("forward_trace lists the values in forward order", with_homework_globals(function()
  local list = forward_trace(L, { quiet = true })
  local ops = {}
  for i, e in ipairs(list) do ops[i] = e.op end
  eq(table.concat(ops, " "), "mv add relu mv add relu mv add relu index sub pow")
  local pos_of = {}
  for i, e in ipairs(list) do pos_of[e.name] = i end
  for _, pair in ipairs({ { "a1", "z1" }, { "z1", "a2" }, { "a2", "z2" }, { "z2", "a3" },
    { "a3", "z3" }, { "z3", "yhat" }, { "yhat", "L" } }) do
    eq(pos_of[pair[1]] ~= nil and pos_of[pair[2]] ~= nil and pos_of[pair[1]] < pos_of[pair[2]],
      true, pair[1] .. " before " .. pair[2])
  end
  eq(list[#list].name, "L")
  eq(list[3].shape, "3")
  tensor_eq(list[#list].value:detach(), 4)
  eq(table.concat(list[2].inputs, ","):find("b1", 1, true) ~= nil, true)
  -- printed when not quiet
  local out = capture(function() forward_trace(L) end)
  eq(out:find("z3 = relu(a3)", 1, true) ~= nil, true, out)
end))

-- ---- 6. errors -------------------------------------------------------------------

test("backward errors: non-scalar, no requires_grad, shape mismatch", function()
  local x = tensor{1, 2}:requires_grad()
  expect_error(function() (x * 2):backward() end, "backward needs a single value", "shape 2")
  expect_error(function() tensor{1}:backward() end, "does not require grad")
  local y = x:cmul(x)
  expect_error(function() y:backward(tensor{1, 2, 3}) end, "gradient has shape 3", "shape 2")
  local m = tensor{{1, 2, 3}, {4, 5, 6}}:requires_grad()
  local mm2 = m * 1
  -- same number of elements but the shape of mᵀ: refused, not reinterpreted
  expect_error(function() mm2:backward(ones(3, 2)) end, "gradient has shape 3x2")
  eq(m.grad, nil, "a refused backward changes nothing")
  expect_error(function() y:backward("a") end, "expected a gradient (a tensor, or a number for a single value)")
  expect_error(function() y:backward(0.5) end, "a number as the upstream gradient needs a single value", "shape 2")
  expect_error(function() y:backward{ grad = "g" } end, "grad must be a tensor shaped like z")
  expect_error(function() y:backward{ gard = 1 } end, "unknown option 'gard'")
  eq(x.grad, nil)
end)

test("z:backward(0.01): a number as the upstream gradient; the trace says dL/d...", function()
  -- z = w·x = 14 with w = (2, 3), x = (1, 4); dL/dz = 0.01 gives dL/dw = 0.01·x
  local w = tensor{2, 3}:requires_grad():name("w")
  local x = tensor{1, 4}:name("x")
  local z = w:dot(x):name("z")
  local out = capture(function() z:backward{ grad = 0.01, trace = true } end)
  tensor_eq(w.grad, {0.01, 0.04}, 1e-15)
  eq(out:find("backward from z = 14   (dL/dz = the given gradient 0.01)", 1, true) ~= nil, true, out)
  eq(out:find("dL/dw = dL/dz · x = 0.01 · (1, 4) = (0.01, 0.04)", 1, true) ~= nil, true, out)
  eq(out:find("w.grad = dL/dw", 1, true) ~= nil, true, out)
  eq(out:find("dz/d", 1, true), nil, out)
  -- the positional number, on a 0-d and on a one-element tensor
  w.grad = nil
  local z2 = w:cmul(x):sum()
  z2:backward(0.5)
  tensor_eq(w.grad, {0.5, 2})
  w.grad = nil
  local z3 = w:cmul(x):sum(1, true)   -- shape {1}
  z3:backward(2)
  tensor_eq(w.grad, {2, 8})
  -- without one, the root names itself: dz/dw
  w.grad = nil
  local z4 = w:dot(x):name("z4")
  local out4 = capture(function() z4:backward{ trace = true } end)
  eq(out4:find("dz4/dw = dz4/dz4 · x", 1, true) ~= nil, true, out4)
end)

test("backward twice through the same graph needs retain_graph", function()
  local x = tensor{1, 2}:requires_grad()
  local L = x:cmul(x):sum()
  L:backward()
  expect_error(function() L:backward() end, "already used by a backward pass", "retain_graph")
  tensor_eq(x.grad, { 2, 4 }, 0, "the refused pass added nothing")
  local x2 = tensor{1, 2}:requires_grad()
  local L2 = x2:cmul(x2):sum()
  L2:backward{ retain_graph = true }
  local warned = capture_stderr(function() L2:backward() end)
  eq(count(warned, "warning:"), 1, "the second pass accumulates")
  tensor_eq(x2.grad, { 4, 8 })
  expect_error(function() L2:backward() end, "already used")
  -- a graph sharing a used part is refused too
  local x3 = tensor{1}:requires_grad()
  local h = exp(x3)
  h:sum():backward()
  expect_error(function() (h * 2):sum():backward() end, "already used", "exp#")
end)

test("in-place modification of a saved tensor", function()
  local x = tensor{1, 2, 3}:requires_grad()
  local y = x:cmul(x)
  x[{1}] = 5
  expect_error(function() y:sum():backward() end, "modified in place", "mul#")
  eq(x.grad, nil)
  -- through a view of the same storage as well
  local x2 = tensor{1, 2, 3}:requires_grad()
  local y2 = exp(x2)
  x2:detach():fill(0)
  expect_error(function() y2:sum():backward() end, "modified in place")
  -- recomputing works
  local y3 = x:cmul(x)
  y3:sum():backward()
  tensor_eq(x.grad, { 10, 4, 6 })
end)

test("requires_grad only on leaves; no writing into a computed tensor", function()
  local x = tensor{1, 2}:requires_grad()
  local y = x * 2
  expect_error(function() y:requires_grad() end, "only leaf tensors can be marked")
  expect_error(function() y[{1}] = 3 end, "cannot write into a tensor computed in a gradient graph")
  expect_error(function() y:fill(0) end, "cannot write into")
  expect_error(function() y:copy(tensor{0, 0}) end, "cannot write into")
  tensor_eq(y:detach(), { 2, 4 }, 0, "unchanged")
  -- requires_grad(false) unmarks a leaf
  local w = tensor{1}:requires_grad():requires_grad(false)
  eq(type(w:sum()), "number")
end)

test("a parameter is editable through its views; the version check still guards recorded backwards", function()
  local W = tensor{{1, 2}, {3, 4}}:requires_grad()
  W[1][2] = 7                              -- a row view, then its element
  tensor_eq(W:detach(), { {1, 7}, {3, 4} })
  W:t()[1][2] = 9                          -- through a transpose: W[2][1]
  tensor_eq(W:detach(), { {1, 7}, {9, 4} })
  local c = nn.Linear(2, 2)
  for i = 1, 2 do c.weight[i][i]:fill(0.25) end
  eq(c.weight[{1, 1}]:item(), 0.25); eq(c.weight[{2, 2}]:item(), 0.25)
  c.weight[2]:copy(tensor{1, 2})
  tensor_eq(c.weight[2]:detach(), {1, 2})
  -- a view written before it is used in a graph: its gradient is right
  local v = W[1]
  v[2] = 5
  local L = v:sum()
  L:backward()
  tensor_eq(W.grad, { {1, 1}, {0, 0} })
  -- a write after W's values were saved for a backward is caught there
  local y = (W * tensor{1, 1}):sum()
  W[1][1] = 100
  expect_error(function() y:backward() end, "modified in place after it was used")
  -- views of a computed tensor stay read-only
  local h = W * tensor{1, 1}
  expect_error(function() h[1] = 0 end, "cannot write into a tensor computed in a gradient graph")
  expect_error(function() h:view(2)[1] = 0 end, "cannot write into a tensor computed in a gradient graph")
  expect_error(function() W:reshape(4):clone():fill(0) end, "cannot write into")
end)

test("a non-leaf's .grad is nil and says so once; retain_grad keeps it", function()
  local said = {}
  local saved_warn = nncalc.warn
  nncalc.warn = function(m) said[#said + 1] = m end
  warnings{ nonleaf_grad = true }   -- armed, whatever ran before
  local W = tensor{{1, 2}, {3, 4}}:requires_grad()
  local h = relu(W * tensor{1, 1})
  local L = h:sum()
  L:backward()
  local g1, g2 = h.grad, h.grad
  local ok = pcall(function() return tostring(graph(L)) end)   -- nncalc's own reads are silent
  W.grad = nil
  local z = W * tensor{1, 0}
  z:retain_grad()
  z:sum():backward()
  local kept = z.grad
  nncalc.warn = saved_warn
  eq(g1, nil); eq(g2, nil); eq(ok, true)
  eq(#said, 1, table.concat(said))
  eq(said[1]:find("is not a leaf", 1, true) ~= nil, true, said[1])
  eq(said[1]:find("retain_grad() on it before backward", 1, true) ~= nil, true, said[1])
  tensor_eq(kept, {1, 1})
  local off = warnings{ nonleaf_grad = false }
  eq(off.nonleaf_grad, false)
  warnings{ nonleaf_grad = true }
end)

test("detect_anomaly: NaN in forward and Inf in backward are errors", function()
  local old = detect_anomaly(true)
  local ok, err = pcall(function()
    expect_error(function() return log(tensor{-1}:requires_grad()) end, "log", "NaN")
    expect_error(function() return log(tensor{1, 0}) end, "log", "Inf", "element 2")
    local x = tensor{0, 4}:requires_grad()
    local y = sqrt(x)
    tensor_eq(y:detach(), { 0, 2 })
    expect_error(function() y:sum():backward() end, "detect_anomaly", "sqrt", "NaN or Inf")
  end)
  detect_anomaly(old)
  assert(ok, err)
  eq(detect_anomaly(), false, "restored")
  -- without it, the same graph runs and gives inf
  local x = tensor{0, 4}:requires_grad()
  sqrt(x):sum():backward()
  eq(x.grad[1], math.huge)
  eq(x.grad[2], 0.25)
end)

-- ---- 7. memory ----------------------------------------------------------------------

test("2000 forward+backward passes free their graphs", function()
  local h = homework()
  local params = { h.W1, h.b1, h.W2, h.b2, h.W3, h.b3 }
  local function pass()
    for _, p in ipairs(params) do p:zero_grad() end
    local z1 = relu(h.W1 * h.x + h.b1)
    local z2 = relu(h.W2 * z1 + h.b2)
    local L = (relu(h.W3 * z2 + h.b3)[1] - 10) ^ 2
    local alive = stats().nodes
    L:backward()
    return alive
  end
  h.L:backward()   -- the first pass makes every .grad
  h.L = nil; h.a1 = nil; h.z1 = nil; h.a2 = nil; h.z2 = nil; h.a3 = nil; h.z3 = nil; h.yhat = nil
  collectgarbage(); collectgarbage()
  local before = stats()
  local during = 0
  local err = capture_stderr(function()
    for i = 1, 2000 do
      local alive = pass()
      if i == 1 then during = alive end
    end
  end)
  eq(err, "", "zero_grad before each pass: no accumulation warning")
  tensor_eq(h.W1.grad, { { 32, 16 }, { 24, 12 }, { -8, -4 } }, 0, "still right after 2000 passes")
  eq(during - before.nodes, 12, "nodes of one pass (3 x mv add relu, index sub pow)")
  collectgarbage(); collectgarbage()
  local after = stats()
  eq(after.nodes, before.nodes, "nodes")
  eq(after.tensors - before.tensors <= 2, true,
    ("tensors grew from %d to %d"):format(before.tensors, after.tensors))
  eq(after.storages - before.storages <= 2, true,
    ("storages grew from %d to %d"):format(before.storages, after.storages))
end)

test("a graph dies with its last tensor, whatever holds it", function()
  collectgarbage(); collectgarbage()
  local n0 = stats().nodes
  local x = tensor{1, 2}:requires_grad()
  local L = exp(x * 2):sum()
  local g = graph(L)
  eq(stats().nodes, n0 + 3)
  L = nil; g = nil
  collectgarbage(); collectgarbage()
  eq(stats().nodes, n0, "graph and its nodes freed")
  -- a step record holds nodes until it dies
  local st = exp(x):sum():backward{ record = true }
  collectgarbage(); collectgarbage()
  eq(stats().nodes, n0 + 2, "the steps keep their nodes")
  st = nil
  collectgarbage(); collectgarbage()
  eq(stats().nodes, n0)
end)

test("a deep graph prints with bounded indentation, each line saying its depth past 16", function()
  local x = tensor{1, 2}:requires_grad():name("x")
  local y = x
  for _ = 1, 30 do y = y * 2 end            -- 30 muls, then the sum: depth 0..31
  local lines = {}
  for l in tostring(graph(y:sum())):gmatch("[^\n]+") do lines[#lines + 1] = l end
  eq(#lines, 32, "the sum, 30 muls and x")
  eq(lines[1]:match("^sum"), "sum")
  eq(lines[17]:match("^(%s*)mul"), ("  "):rep(16), "depth 16 is still indented as deep")
  eq(lines[18]:match("^(%s*)%(depth 17%) mul") ~= nil, true, lines[18])
  eq(lines[32]:match("^(%s*)%(depth 31%) x  %[2%]") == ("  "):rep(16), true, lines[32])
  local longest = 0
  for _, l in ipairs(lines) do longest = math.max(longest, #l) end
  eq(longest < 100, true, "longest line " .. longest)
end)

test("graph(L):svg draws with Graphviz when it is installed, else says how to get it", function()
  local x = tensor{1, 2}:requires_grad()
  local g = graph(relu(x):sum())
  local path = os.tmpname()
  if os.execute("command -v dot >/dev/null 2>&1") then
    g:svg(path)
    local f = assert(io.open(path))
    local content = f:read("a")
    f:close()
    eq(content:find("<svg", 1, true) ~= nil, true, "an SVG file")
  else
    expect_error(function() g:svg(path) end, "graph:svg: Graphviz 'dot' is not installed")
  end
  os.remove(path)
end)

test("jacobian with respect to a matrix: rows are outputs, columns A's elements in row-major order (as help says)", function()
  seed(4)
  local A, x, b = randn(3, 4), randn(4), randn(3)
  local J = jacobian(function(B) return sigmoid(B * x + b) end, A)
  eq(J:size(1), 3); eq(J:size(2), 12)
  local s = sigmoid(A * x + b)
  -- d y_i / d A_kj = σ'(z_i)·x_j when k = i, else 0 (seed 001, 6b)
  for i = 1, 3 do for k = 1, 3 do for j = 1, 4 do
    near(J[{i, (k - 1) * 4 + j}], i == k and s[i] * (1 - s[i]) * x[j] or 0, 1e-12, ("dy%d/dA%d%d"):format(i, k, j))
  end end end
  near(J:view(3, 3, 4)[{2, 2, 3}], s[2] * (1 - s[2]) * x[3], 1e-12, "PyTorch's layout by a view")
end)

-- A spent upstream gradient (big enough not to be kept for graph()) is
-- overwritten by an elementwise backward instead of copied: the gradients
-- must be those of the paths that never reuse (grad(), retain_grad), and
-- an upstream gradient the user passed in must stay as it was.
test("reusing a spent upstream gradient changes no gradient", function()
  seed(7)
  local x = randn(300, 300):requires_grad()
  local R = randn(300, 300)
  local function loss() return relu(tanh(x * 2 - 0.5)):cmul(R):sum() end
  loss():backward()
  local plain = x.grad:clone()
  local via_grad = grad(loss(), { x })[1]
  eq(allclose(plain, via_grad, 0, 0), true, "backward vs grad()")
  -- by hand: dL/dx = R·[h > 0]·(1 − h²)·2 with h = tanh(2x − 0.5)
  local h = tanh(x:detach() * 2 - 0.5)
  local want = R:cmul(h:gt(0)):cmul(1 - h ^ 2) * 2
  eq(allclose(plain, want, 1e-12, 1e-15), true, "the chain rule by hand")
  -- an intermediate that retains its gradient keeps the right one
  x:zero_grad()
  local t = tanh(x * 2 - 0.5)
  t:retain_grad()
  local y = relu(t)
  y:retain_grad()
  y:cmul(R):sum():backward()
  eq(allclose(t.grad, R:cmul(t:detach():gt(0)), 0, 0), true, "t.grad")
  eq(allclose(y.grad, R, 0, 0), true, "y.grad")
  -- the user's upstream gradient is read, never written
  local G = randn(300, 300)
  local G0 = G:clone()
  local z = relu(tanh(x))
  z:backward{ grad = G }
  eq(allclose(G, G0, 0, 0), true, "the upstream gradient passed in")
end)

-- ---- strided inputs to the loops that read element by element ------------------
-- leaky_relu, elu, the elementwise losses (each reduction), the scalar
-- operators and anomaly mode walk their inputs in row-major order; a
-- transposed or expanded input must give the values and gradients of its copy.

test("leaky_relu, elu and the losses on transposed views match their contiguous copies", function()
  -- (a loss without gradients is a plain number, which wsum would not scale)
  local function ws(y) return (type(y) == "number" or y:dim() == 0) and y or wsum(y) end
  local function both(what, f, make)
    local a = make()
    local v = a:t():requires_grad()     -- a view: the gradient reaches a
    local c = a:t():contiguous():requires_grad()
    local yv, yc = f(v), f(c)
    eq(allclose(yv:detach(), yc:detach(), 0, 0), true, what .. ": forward")
    ws(yv):backward()
    ws(yc):backward()
    eq(allclose(v.grad, c.grad, 0, 0), true, what .. ": gradient")
    gc(what .. " on a transposed view", function(x) return ws(f(x:t())) end, { make() })
  end
  local target = randn(3, 2)
  both("leaky_relu", function(x) return leaky_relu(x, 0.1) end, function() return away(0.2, 2, 3) end)
  both("elu", function(x) return elu(x, 1.5) end, function() return away(0.2, 2, 3) end)
  for _, red in ipairs{ "none", "mean", "sum" } do
    both("mse " .. red, function(x) return mse_loss(x, target, { reduction = red }) end,
         function() return randn(2, 3) end)
    both("l1 " .. red, function(x) return l1_loss(x, target, { reduction = red }) end,
         function() return away(0.2, 2, 3) + 3 end)
  end
  -- the target a view too, with the upstream gradient of reduction "none"
  local x, t = randn(2, 3):requires_grad(), randn(3, 2)
  local G = randn(2, 3)
  mse_loss(x, t:t(), { reduction = "none" }):backward(G)
  tensor_eq(x.grad, (2 * (x:detach() - t:t())):cmul(G):totable(), 1e-12, "d mse / dx by hand")
end)

test("a number on either side of a view: gradients by hand", function()
  local a = tensor{{1, 2}, {4, 8}}
  local cases = {   -- f, its derivative as a function of the element
    { "x + 3", function(x) return x + 3 end, function(_) return 1 end },
    { "3 - x", function(x) return 3 - x end, function(_) return -1 end },
    { "x * 3", function(x) return x * 3 end, function(_) return 3 end },
    { "x / 4", function(x) return x / 4 end, function(_) return 0.25 end },
    { "4 / x", function(x) return 4 / x end, function(v) return -4 / v ^ 2 end },
    { "x ^ 3", function(x) return x ^ 3 end, function(v) return 3 * v ^ 2 end },
  }
  for _, c in ipairs(cases) do
    local w = a:clone():requires_grad()
    c[2](w:t()):cmul(tensor{{1, 10}, {100, 1000}}):sum():backward()
    -- w:t()[i][j] = w[j][i] carries weight 10^(2(i-1) + (j-1))
    local want = {}
    for i = 1, 2 do
      want[i] = {}
      for j = 1, 2 do want[i][j] = c[3](a[i][j]) * 10 ^ (2 * (j - 1) + (i - 1)) end
    end
    tensor_eq(w.grad, want, 1e-12, c[1])
  end
end)

test("detect_anomaly names the element of a view in row-major order", function()
  local old = detect_anomaly(true)
  local ok, err = pcall(function()
    -- the view [[1, -1], [4, 9]]: its NaN is element 2, though it sits 3rd in memory
    local base = tensor{{1, 4}, {-1, 9}}
    expect_error(function() return sqrt(base:t()) end, "sqrt", "NaN", "element 2")
    expect_error(function() return log(tensor{0, 2}:expand(3, 2)) end, "log", "Inf", "element 1")
  end)
  detect_anomaly(old)
  assert(ok, err)
end)
