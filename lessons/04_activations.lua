-- title: Activations and softmax
-- summary: relu, sigmoid, tanh, softplus and their derivatives; softmax, its Jacobian, O(n) backprop
title("Lesson 4: activation functions, their derivatives, softmax")

-- v(t): a number or a small tensor as working text, "(0.25, 0.75)"
local function v(t)
  if type(t) == "number" then return ("%.4g"):format(t) end
  local f, p = t:detach():reshape(t:numel()), {}
  for i = 1, t:numel() do p[i] = ("%.4g"):format(f[i]) end
  return #p == 1 and p[1] or "(" .. table.concat(p, ", ") .. ")"
end

say([[An activation acts on each entry by itself, so its Jacobian is diagonal
and backprop only needs f'(x) entry by entry. deriv(f, x) below gets f'
from autograd: the backward pass of sum(f(x)) puts f'(x_i) in x.grad[i].]])
function deriv(f, x0)
  local x = x0:clone():requires_grad()
  f(x):sum():backward()
  return x.grad
end
xs = tensor{-2, -1, 0, 1, 2}
show("xs", xs)
show("relu(xs)", relu(xs))
ask("relu'(x) at xs = ?", deriv(relu, xs), 1e-9,
  "1 where x > 0, 0 where x < 0; at the kink x = 0 nncalc (like PyTorch) uses 0")
check("relu' at -2 -1 0 1 2", deriv(relu, xs), {0, 0, 0, 1, 1})
pause()

say([[sigmoid(x) = 1 / (1 + e^-x). Its derivative is sigma(1 - sigma): no new
exponential is needed in backprop, the forward value is reused.]])
s = sigmoid(xs)
ds = deriv(sigmoid, xs)
show("sigmoid(xs)", s)
ask("sigma'(0) = ?", ds[3], 1e-6, ("sigma(0) = %s, so %s * (1 - %s) = %s")
  :format(v(s[3]), v(s[3]), v(s[3]), v(ds[3])))
check("sigma'(0)", ds[3], 0.25)
say(("sigma'(x) is never above %s (its value at 0), so each sigmoid in a chain " ..
  "multiplies the gradient by at most that. Lesson 6 comes back to this."):format(v(ds:max())))
local d_ok = allclose(ds, s:cmul(1 - s)) and allclose(deriv(tanh, xs), 1 - tanh(xs)^2)
  and allclose(deriv(softplus, xs), sigmoid(xs))
show("tanh'(xs) by autograd", deriv(tanh, xs))
show("1 - tanh(xs)^2", 1 - tanh(xs)^2)
show("softplus'(xs) by autograd", deriv(softplus, xs))
check("sigma' = sigma(1 - sigma), tanh' = 1 - tanh^2, softplus' = sigma", d_ok, true)
pause()

say([[Three identities from the sheet, checked on 201 points from -5 to 5 (what
is left over is rounding error):
sigma(x) = (tanh(x/2) + 1)/2;  log sigma(x) = -softplus(-x);
softplus(x) - softplus(-x) = x. (The sheet's proof of the last one turns
log a - log b into log a / log b, which is wrong; the right step is
log((1 + e^x)/(1 + e^-x)) = log(e^x) = x.)]])
grid = linspace(-5, 5, 201)
local e1 = (sigmoid(grid) - (tanh(grid / 2) + 1) / 2):abs():max()
local e2 = (log(sigmoid(grid)) + softplus(-grid)):abs():max()
local e3 = (softplus(grid) - softplus(-grid) - grid):abs():max()
show("largest differences", tensor{e1, e2, e3})
check("the three identities hold to rounding", math.max(e1, e2, e3), 0, 1e-12)
pause()

say([[softmax S(x)_i = e^(x_i) / sum_j e^(x_j) turns scores into
probabilities: positive, summing to 1. Adding a constant c to every score
multiplies top and bottom by e^c, so S(x + c) = S(x). Scaling is different.]])
p = tensor{0, log(3)}
ask("S(x) for x = (0, ln 3) = ?", softmax(p), 1e-6,
  ("e^0 = %s and e^(ln 3) = %s, over their sum: %s"):format(v(exp(p[1])), v(exp(p[2])), v(softmax(p))))
check("S(0, ln 3)", softmax(p), {0.25, 0.75})
check("S(x + 100) = S(x)", softmax(p + 100), {0.25, 0.75})
ask("S(2x) = ?", softmax(2 * p), 1e-6,
  ("e^0 = %s and e^(2 ln 3) = %s: %s - not S(x)"):format(v(exp(0)), v(exp(2 * p[2])), v(softmax(2 * p))))
check("S(2x): scaling changes softmax", softmax(2 * p), {0.1, 0.9})
say([[So the sheet's part (i), S(cx) = S(x), is wrong: it replaces the log of a
ratio by a ratio of logs. Scaling by c > 1 sharpens the distribution, c < 1
flattens it (that is the "temperature" of a softmax).]])
pause()

say([[The Jacobian of softmax, dS_i/dx_j = S_i (1[i=j] - S_j), is the matrix
diag(S) - S S^T. jacobian(f, x) builds it by one backward pass per output:]])
J = jacobian(softmax, p)
show("jacobian(softmax, (0, ln 3))", J)
ask("dS_1/dx_1 at x = (0, ln 3)?", J[{1, 1}], 1e-6, ("S_1 (1 - S_1) = %s * %s = %s")
  :format(v(softmax(p)[1]), v(1 - softmax(p)[1]), v(J[{1, 1}])))
local sp = softmax(p)
show("diag(S) - S S^T", eye(2):cmul(sp) - outer(sp, sp))
check("the softmax Jacobian", J, {{0.1875, -0.1875}, {-0.1875, 0.1875}})
pause()

say([[Backprop never builds that n x n matrix. For y = S(x) and an upstream
gradient g = dL/dy, dL/dx = (diag(S) - S S^T) g = S * (g - (g . S)): one dot
product and two elementwise operations, O(n) work instead of O(n^2). For
sigmoid the Jacobian is diagonal, so dL/dx = g * sigma(1 - sigma), also O(n).]])
seed(4)
n = 1000
xb, g = randn(n), randn(n)
local xr = xb:clone():requires_grad()
softmax(xr):backward(g)
local S = softmax(xb)
show("n x n entries the Jacobian would have", n * n)
check("softmax backward = S * (g - g.S)", allclose(xr.grad, S:cmul(g - g:dot(S))), true)
local xq = xb:clone():requires_grad()
sigmoid(xq):backward(g)
check("sigmoid backward = g * sigma(1 - sigma)", allclose(xq.grad, g:cmul(sigmoid(xb):cmul(1 - sigmoid(xb)))), true)

say([[deriv(f, x), xs, grid, p, J, xb and g stay defined: try deriv(tanh,
grid):max(), or jacobian(sigmoid, xs) to see a diagonal Jacobian.]])
