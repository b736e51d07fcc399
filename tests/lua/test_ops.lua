-- Maths on tensors from Lua, against hand-worked values.

test("homework 1 forward pass (x=(2,1), W1, b1, W2, b2, W3, b3)", function()
  -- worked by hand: a1 = (2,8,9), a2 = (38,22), a3 = -76+66+18 = 8
  -- (the sheet says 9; its own Question 3 then uses 8)
  local x = tensor{2, 1}
  local W1, b1 = tensor{{1, 0}, {3, 4}, {1, 2}}, tensor{0, -2, 5}
  local W2, b2 = tensor{{2, 6, 1}, {0, 3, 1}}, tensor{-23, -11}
  local W3, b3 = tensor{{-2, 3}}, 18
  local a1 = W1 * x + b1
  tensor_eq(a1, {2, 8, 9})
  local a2 = W2 * relu(a1) + b2
  tensor_eq(a2, {38, 22})
  local yhat = relu(W3 * relu(a2) + b3)
  tensor_eq(yhat, {8})
  eq((yhat[1] - 10) ^ 2, 4, "loss (yhat - y)^2")
end)

test("elementwise functions on tensors and on numbers", function()
  local x = tensor{-2, 0, 3}
  tensor_eq(relu(x), {0, 0, 3})
  tensor_eq(abs(x), {2, 0, 3})
  tensor_eq(sign(x), {-1, 0, 1})
  tensor_eq(neg(x), {2, 0, -3})
  tensor_eq(-x, {2, 0, -3})
  tensor_eq(x:exp(), {math.exp(-2), 1, math.exp(3)})
  tensor_eq(sqrt(tensor{4, 9}), {2, 3})
  tensor_eq(log(tensor{1, math.exp(2)}), {0, 2})
  tensor_eq(tanh(tensor{0}), {0})
  tensor_eq(sigmoid(tensor{0, 800, -800}), {0.5, 1, 0})
  tensor_eq(softplus(tensor{0, 800, -800}), {math.log(2), 800, 0})
  near(sigmoid(2), 1 / (1 + math.exp(-2)))
  eq(relu(-3), 0)
  near(exp(1), math.exp(1))
  -- tanh(x/2) = 2 sigmoid(x) - 1
  local z = linspace(-3, 3, 7)
  tensor_eq(tanh(z / 2), (2 * sigmoid(z) - 1):totable(), 1e-12)
end)

test("arithmetic with broadcasting and scalars", function()
  local col, row = tensor{{1}, {2}, {3}}, tensor{{10, 20, 30, 40}}
  tensor_eq(col + row, {{11, 21, 31, 41}, {12, 22, 32, 42}, {13, 23, 33, 43}})
  tensor_eq(tensor{1, 2, 3} + tensor{{0, 0, 0}, {1, 1, 1}}, {{1, 2, 3}, {2, 3, 4}})
  tensor_eq(1 - tensor{1, 2}, {0, -1})
  tensor_eq(tensor{1, 2} - 1, {0, 1})
  tensor_eq(2 / tensor{1, 4}, {2, 0.5})
  tensor_eq(tensor{1, 4} / 2, {0.5, 2})
  tensor_eq(tensor{2, 3} ^ 2, {4, 9})
  tensor_eq(2 ^ tensor{2, 3}, {4, 8})
  tensor_eq(3 * tensor{1, 2}, {3, 6})
  tensor_eq(tensor{1, 2} * 3, {3, 6})
  tensor_eq(tensor{1, 2}:cmul(tensor{3, 4}), {3, 8})
  tensor_eq(tensor{1, 2}:cdiv(tensor{4, 4}), {0.25, 0.5})
  tensor_eq(tensor{{1, 2}} * tensor(2), {{2, 4}})
end)

test("comparisons give 0/1 tensors; == compares whole tensors", function()
  local x = tensor{1, 2, 3}
  tensor_eq(x:gt(1), {0, 1, 1})
  tensor_eq(x:le(2), {1, 1, 0})
  tensor_eq(x:eq(tensor{1, 0, 3}), {1, 0, 1})
  tensor_eq(x:ne(2), {1, 0, 1})
  tensor_eq(lt(x, 3), {1, 1, 0})
  tensor_eq(maximum(x, 2), {2, 2, 3})
  tensor_eq(minimum(x, tensor{0, 5, 0}), {0, 2, 0})
  eq(x == tensor{1, 2, 3}, true)
  eq(x == tensor{{1, 2, 3}}, false)
  eq(allclose(x, tensor{1, 2, 3 + 1e-9}), true)
  eq(allclose(x, tensor{1, 2, 3.1}), false)
  eq(allclose(x, tensor{1, 2, 3.1}, 0.1), true)
end)

test("reductions over all and along a dim", function()
  local m = tensor{{1, 5, 3}, {4, 2, 6}}
  eq(m:sum(), 21); eq(m:mean(), 3.5); eq(m:max(), 6); eq(m:min(), 1)
  eq(m:prod(), 720); eq(m:argmax(), 6); eq(m:argmin(), 1)
  tensor_eq(m:sum(1), {5, 7, 9})
  tensor_eq(m:sum(2), {9, 12})
  tensor_eq(m:sum(2, true), {{9}, {12}})
  tensor_eq(m:sum{dim = 1, keepdim = true}, {{5, 7, 9}})
  tensor_eq(m:mean(1), {2.5, 3.5, 4.5})
  local v, i = m:max(2)
  tensor_eq(v, {5, 6}); tensor_eq(i, {2, 3})
  v, i = m:min(1)
  tensor_eq(v, {1, 2, 3}); tensor_eq(i, {1, 2, 1})
  tensor_eq(m:argmax(1), {2, 1, 2})
  tensor_eq(m:t():sum(1), {9, 12})
  tensor_eq(sum(m, -1), {9, 12})
  eq(zeros(0):sum(), 0)
  local n = tensor{1, 0/0, 3}:max()
  eq(n ~= n, true, "max with NaN is NaN")
end)

test("softmax and log-softmax, stable for large inputs", function()
  local s = softmax(tensor{1, 2, 3})
  local e = {math.exp(1), math.exp(2), math.exp(3)}
  local z = e[1] + e[2] + e[3]
  tensor_eq(s, {e[1] / z, e[2] / z, e[3] / z})
  tensor_eq(softmax(tensor{1000, 1001, 1002}), s:totable())
  tensor_eq(log_softmax(tensor{1000, 1001, 1002}), log(s):totable(), 1e-12)
  local m = tensor{{1, 2}, {3, 5}}
  tensor_eq(m:softmax(1):sum(1), {1, 1})
  tensor_eq(m:softmax():sum(2), {1, 1})
  tensor_eq(softmax(tensor{0, 0}), {0.5, 0.5})
end)

test("products: dot, mv, vm, mm, bmm, outer", function()
  local A = tensor{{1, 2}, {3, 4}, {5, 6}}
  eq(dot(tensor{1, 2, 3}, tensor{4, 5, 6}), 32)
  tensor_eq(A * tensor{1, 1}, {3, 7, 11})
  tensor_eq(mv(A, tensor{1, 0}), {1, 3, 5})
  tensor_eq(tensor{1, 1, 1} * A, {9, 12})
  tensor_eq(A:t() * A, {{35, 44}, {44, 56}})
  tensor_eq(mm(A, A:t()), {{5, 11, 17}, {11, 25, 39}, {17, 39, 61}})
  tensor_eq(outer(tensor{1, 2}, tensor{3, 4, 5}), {{3, 4, 5}, {6, 8, 10}})
  local B = stack({eye(2), 2 * eye(2)})
  tensor_eq(bmm(B, stack({A[{{1, 2}}], A[{{2, 3}}]})), {{{1, 2}, {3, 4}}, {{6, 8}, {10, 12}}})
  tensor_eq(matmul(tensor{{2}}, tensor{{3}}), {{6}})
  -- a product big enough for the blocked / BLAS path agrees with sums
  seed(1)
  local P, Q = rand(70, 90), rand(90, 50)
  local R = P * Q
  local r = 0
  for k = 1, 90 do r = r + P[{7, k}] * Q[{k, 9}] end
  near(R[{7, 9}], r, 1e-12)
  tensor_eq(P:t():t() * Q, R:totable(), 1e-12)
end)

test("linear algebra: det, inv, solve, pinv (minimum-norm)", function()
  near(det(tensor{{1, 2}, {3, 4}}), -2, 1e-12)
  near(det(tensor{{0, 1}, {1, 0}}), -1)
  eq(det(tensor{{1, 2}, {2, 4}}), 0)
  tensor_eq(inv(tensor{{4, 7}, {2, 6}}), {{0.6, -0.7}, {-0.2, 0.4}}, 1e-12)
  tensor_eq(solve(tensor{{2, 1}, {1, 3}}, tensor{3, 5}), {0.8, 1.4}, 1e-12)
  tensor_eq(solve(tensor{{2, 0}, {0, 4}}, tensor{{2, 4}, {4, 8}}), {{1, 2}, {1, 2}})
  -- under-determined X w = t: pinv gives the minimum-norm solution
  -- X^T (X X^T)^-1 t, here (-1/18, 1/9, 5/18) worked by hand
  local X, t = tensor{{1, 2, 3}, {4, 5, 6}}, tensor{1, 2}
  local w = pinv(X) * t
  tensor_eq(w, {-1 / 18, 1 / 9, 5 / 18}, 1e-12)
  tensor_eq(X * w, {1, 2}, 1e-12)
  tensor_eq(w, (X:t() * inv(X * X:t()) * t):totable(), 1e-12)
  tensor_eq(pinv(tensor{{1, 2}, {2, 4}}), {{1 / 25, 2 / 25}, {2 / 25, 4 / 25}}, 1e-12)
  eq(rank(tensor{{1, 2}, {2, 4}}), 1)
  eq(rank(eye(3)), 3)
end)

test("arange forgives rounding; batched products share a matrix", function()
  local a = arange(0, 0.3, 0.1)
  eq(a:numel(), 4); eq(a[4], 0.3)
  local B = stack({eye(2), 2 * eye(2)})
  tensor_eq(tensor{{1, 2}} * B, {{{1, 2}}, {{2, 4}}})
  tensor_eq(B * tensor{{1}, {1}}, {{{1}, {1}}, {{2}, {2}}})
end)

-- ---- the homework formulas: rounding, %, diag, trace, matrix_power, norm, var ----
-- Values by hand; gradients as PyTorch defines them (torch 1.13 gives the
-- same: inf-norm ties (0.5, -0.5, 0), norm and std of zeros/constants 0,
-- remainder (1, 1) for a and (-1, 2) for b at a = (5, -5), b = (3, 3)).

local function grad_of(f, v)
  local x = tensor(v):requires_grad()
  f(x):backward()
  return x.grad
end

test("floor, ceil, round (ties to even), remainder with the sign of the divisor", function()
  local x = tensor{-2.5, -0.5, 0.5, 1.5, 2.5, 2.7}
  tensor_eq(floor(x), {-3, -1, 0, 1, 2, 2})
  tensor_eq(ceil(x), {-2, 0, 1, 2, 3, 3})
  tensor_eq(round(x), {-2, 0, 0, 2, 2, 3})   -- torch.round: half to even
  eq(round(2.5), 2); eq(floor(-0.5), -1)
  tensor_eq(grad_of(function(t) return (floor(t) + ceil(t) + round(t)):sum() end, {2.7, -0.5}), {0, 0})
  -- floored modulo, as Lua's % on numbers: each entry equals math's
  local a, b = tensor{5, -5, 5, -5, 5.5, 5.3}, tensor{3, 3, -3, -3, 2, 1}
  local r = a % b
  for i = 1, 6 do eq(r[i], a[i] % b[i], "entry " .. i) end
  tensor_eq(a % 3, {2, 1, 2, 1, 2.5, 5.3 % 3})
  tensor_eq(7 % tensor{3, -3}, {1, -2})
  tensor_eq(remainder(tensor{{1}, {4}}, tensor{3, 5}), { {1, 1}, {1, 4} })   -- broadcasting
  eq(r:shape()[1], 6)
  local ga, gb = tensor{5, -5}:requires_grad(), tensor{3, 3}:requires_grad()
  local rsum = (ga % gb):sum()
  rsum:backward()
  tensor_eq(ga.grad, {1, 1}); tensor_eq(gb.grad, {-1, 2})   -- -floor(5/3), -floor(-5/3)
  eq(gradcheck(function(p, q) return (p % q):sum() + (p % 0.7):sum() + (3 % q):sum() end,
    { tensor{5.2, -4.1}, tensor{1.4, -2.2} }, { quiet = true }), true)
  expect_error(function() return tensor{1} % "x" end, "remainder")
end)

test("diag (both ways, any diagonal), trace, matrix_power", function()
  tensor_eq(diag(tensor{1, 2, 3}), { {1, 0, 0}, {0, 2, 0}, {0, 0, 3} })
  tensor_eq(diag(tensor{1, 2}, 1), { {0, 1, 0}, {0, 0, 2}, {0, 0, 0} })
  tensor_eq(diag(tensor{1, 2}, -1), { {0, 0, 0}, {1, 0, 0}, {0, 2, 0} })
  local A = tensor{{1, 2, 3}, {4, 5, 6}}
  tensor_eq(diag(A), {1, 5}); tensor_eq(diag(A, 1), {2, 6}); tensor_eq(diag(A, -1), {4})
  eq(trace(A), 6); eq(tensor{{1, 2}, {3, 4}}:trace(), 5)
  tensor_eq(diag(diag(A)), { {1, 0}, {0, 5} })
  -- d trace(A)/dA = the identity pattern; d diag(v)_ii/dv_i = 1
  tensor_eq(grad_of(function(t) return trace(t) end, { {1, 2, 3}, {4, 5, 6} }), { {1, 0, 0}, {0, 1, 0} })
  tensor_eq(grad_of(function(t) return diag(t):cmul(tensor{{1, 2}, {3, 4}}):sum() end, {7, 8}), {1, 4})
  -- [[2,1],[1,3]]^2 = [[5,5],[5,10]], ^3 = [[15,20],[20,35]]
  local B = tensor{{2, 1}, {1, 3}}
  tensor_eq(matrix_power(B, 3), { {15, 20}, {20, 35} }); tensor_eq(matrix_power(B, 0), { {1, 0}, {0, 1} })
  tensor_eq(matrix_power(B, -1) * B, { {1, 0}, {0, 1} }, 1e-12)
  -- d trace(A³)/dA = 3 (A²)ᵀ
  local g = grad_of(function(t) return trace(matrix_power(t, 3)) end, { {2, 1}, {0, 3} })
  tensor_eq(g, { {12, 0}, {15, 27} })   -- A² = [[4, 5], [0, 9]]
  eq(gradcheck(function(t) return trace(matrix_power(t, -2)) + diag(t, 1):sum() end,
    { tensor{{2, 0.5}, {-0.3, 1.5}} }, { quiet = true }), true)
  expect_error(function() diag(zeros(2, 2, 2)) end, "diag: expects a vector", "{2, 2, 2}")
  expect_error(function() diag(A, 5) end, "diag: a 2x3 matrix has no diagonal 5")
  expect_error(function() matrix_power(A, 2) end, "matrix_power: expects a square matrix, got shape {2, 3}")
  expect_error(function() matrix_power(B, 1.5) end, "matrix_power: the power k must be a whole number")
  expect_error(function() trace(tensor{1, 2}) end, "trace: expects a matrix")
end)

test("norm: p-norms, Frobenius, dim, PyTorch's gradients at 0 and at ties", function()
  eq(norm(tensor{3, 4}), 5); eq(norm(tensor{3, -4}, 1), 7); eq(norm(tensor{3, -4}, math.huge), 4)
  eq(norm(tensor{3, -4}, -math.huge), 3); eq(norm(tensor{3, 0, -4}, 0), 2)
  near(norm(tensor{1, 2, 2}, 3), 17 ^ (1 / 3), 1e-15)
  local A = tensor{{1, 2, 3}, {4, 5, 6}}
  eq(norm(A), math.sqrt(91)); eq(norm(A, "fro"), math.sqrt(91))
  tensor_eq(norm(A, 2, 2), { math.sqrt(14), math.sqrt(77) })
  tensor_eq(norm(A, { p = 1, dim = 1 }), {5, 7, 9})
  tensor_eq(norm(A, 1, 2, true), { {6}, {15} })
  eq(A:norm(1), 21)
  -- gradients: x/||x||, sign(x), 0 at the zero vector, ties split evenly
  tensor_eq(grad_of(function(t) return norm(t) end, {3, 4}), {0.6, 0.8}, 1e-15)
  tensor_eq(grad_of(function(t) return norm(t) end, {0, 0, 0}), {0, 0, 0})
  tensor_eq(grad_of(function(t) return norm(t, 3) end, {0, 0}), {0, 0})
  tensor_eq(grad_of(function(t) return norm(t, 1) end, {1, -2, 0}), {1, -1, 0})
  tensor_eq(grad_of(function(t) return norm(t, math.huge) end, {3, -3, 1}), {0.5, -0.5, 0})
  tensor_eq(grad_of(function(t) return norm(t, -math.huge) end, {1, -2, 0.5}), {0, 0, 1})
  eq(gradcheck(function(t) return norm(t, 3) + norm(t, 2, 2):sum() + norm(t, { p = math.huge, dim = 1 }):sum() end,
    { tensor{{1, 0.5, 3}, {-0.3, 2, 1}} }, { quiet = true }), true)
  expect_error(function() norm(A, "nuc") end, "nuclear norm")
  expect_error(function() norm(A, 2, 3) end, "norm: dim 3 is out of range for shape {2, 3}")
  expect_error(function() norm(A, { q = 1 }) end, "unknown option 'q'")
end)

test("var and std: unbiased by default (correction 1), as PyTorch", function()
  local x = tensor{1, 2, 3, 4}   -- mean 2.5, Σ(x - mean)² = 5
  near(var(x), 5 / 3, 1e-15); eq(var(x, { unbiased = false }), 1.25); eq(var(x, { correction = 0 }), 1.25)
  near(std(x), math.sqrt(5 / 3), 1e-15); eq(std(x, { unbiased = false }), math.sqrt(1.25))
  eq(x:var(1, false):item(), 1.25)
  local A = tensor{{1, 2, 3}, {4, 5, 9}}
  tensor_eq(var(A, 2), {1, 7})   -- (1 + 0 + 1)/2; mean 6: (4 + 1 + 9)/2
  tensor_eq(var(A, { dim = 1, correction = 0, keepdim = true }), { {2.25, 2.25, 9} })
  -- d var/dx = 2(x - mean)/(N - 1); std: that / (2 std)
  tensor_eq(grad_of(function(t) return var(t) end, {1, 2, 3, 4}), {-1, -1 / 3, 1 / 3, 1}, 1e-15)
  tensor_eq(grad_of(function(t) return std(t) end, {1, 2, 3, 4}),
    { -1.5 / (3 * math.sqrt(5 / 3)), -0.5 / (3 * math.sqrt(5 / 3)), 0.5 / (3 * math.sqrt(5 / 3)), 1.5 / (3 * math.sqrt(5 / 3)) }, 1e-15)
  tensor_eq(grad_of(function(t) return std(t) end, {2, 2}), {0, 0})   -- PyTorch: 0, not nan
  eq(gradcheck(function(t) return std(t, 1):sum() + var(t, { unbiased = false }) end,
    { tensor{{1, 0.5, 3}, {-0.3, 2, 1}} }, { quiet = true }), true)
  expect_error(function() var(tensor{1}) end, "var: 1 value with correction 1 leave no degrees of freedom")
  expect_error(function() var(x, { unbiased = true, correction = 0 }) end, "correction or unbiased, not both")
end)

test("the new ops have second derivatives (create_graph through them)", function()
  local ok, msg = gradgradcheck(function(x)
    return norm(x, 3) + var(x) + std(x) + trace(matrix_power(x:reshape(2, 2), 2)) + (x % 0.7):sum()
      + (floor(x):cmul(x)):sum() + (round(x) + ceil(x)):sum() + norm(x, math.huge) + diag(x):sum()
  end, { tensor{0.3, -1.2, 2.1, 0.9} }, { quiet = true })
  eq(ok, true, msg)
  local ok2, msg2 = gradgradcheck(function(a, b) return ((a % b):cmul(a)):sum() + (3 % b):sum() end,
    { tensor{5.2, -4.1}, tensor{1.4, -2.2} }, { quiet = true })
  eq(ok2, true, msg2)
end)

test("sums are pairwise: a million 0.1s add up to 1e5 within a few ulps", function()
  -- 0.1 is 0.1000000000000000055511151231257827 in binary; a million of them
  -- are exactly 100000.0000000000055511..., so the right double is 1e5
  -- (or its neighbour, 1.45e-11 away).  One running sum drifts by ~1.3e-6
  -- (n·ε·sum/2), which is what this tool printed before; NumPy's pairwise
  -- order (and PyTorch's cascade) stay within a few ulps.
  local x = full({1000000}, 0.1)
  near(x:sum(), 1e5, 1e-15, "sum of a million 0.1s")
  near(x:mean(), 0.1, 1e-15, "mean of a million 0.1s")
  local naive = 0
  for _ = 1, 1000000 do naive = naive + 0.1 end
  assert(math.abs(naive - 1e5) > 1e-7, "the naive loop really does drift (so the test can fail)")
  -- along a dim of a strided view, and in a loss's mean: the same order
  local m = full({1000, 1000}, 0.1)
  near(m:t():sum(1)[1], 100, 1e-15, "a column of a transposed view")
  near(mse_loss(m, zeros(1000, 1000)), 0.01, 1e-14, "mse over a million items")
  -- short lines keep the written order: 1e16 + 1 - 1e16 is 0 in doubles
  eq(tensor{1e16, 1, -1e16}:sum(), 0, "three values left to right")
  -- every length around the blocks of eight and the 128 split is exact on integers
  for _, n in ipairs{ 7, 8, 9, 15, 16, 17, 127, 128, 129, 255, 256, 257, 1000 } do
    eq(arange(n):sum(), n * (n + 1) / 2, "1 + ... + " .. n)
  end
end)

test("== and allclose read views and broadcasts in the right order", function()
  local a = tensor{{1, 2, 3}, {4, 5, 6}}
  local at = a:t()                      -- a non-contiguous 3x2 view
  eq(at == tensor{{1, 4}, {2, 5}, {3, 6}}, true, "a:t() equals its copy")
  eq(at == tensor{{1, 2}, {3, 4}, {5, 6}}, false, "same values, other order")
  eq(allclose(at, at:contiguous()), true)
  eq(allclose(at, tensor{{1, 2}, {3, 4}, {5, 6}}), false, "allclose notices the order too")
  -- a row broadcast against a matrix: every row must match
  eq(allclose(tensor{{1, 2}, {1, 2}}, tensor{1, 2}), true)
  eq(allclose(tensor{{1, 2}, {1, 2.5}}, tensor{1, 2}), false, "the second row differs")
  eq(allclose(at, tensor{{1, 4}, {2, 5}, {3, 0 / 0}}), false, "NaN is never close")
end)
