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
