-- title: Second derivatives
-- summary: gradients of gradients, Hessians, convexity in the learning rate, the 2/λ_max bound, Newton
title("Lesson 16: second derivatives")

say([[backward{create_graph = true} records the backward pass itself, as
PyTorch does: x.grad is then a tensor of a graph (named dL/dx) that can be
differentiated again. For L = x³ at x = 2: dL/dx = 3x² = 12, and the
derivative of that is 6x = 12. The trace of the second pass names each
step d(dL/dx)/d...]])
x = tensor{2}:requires_grad():name("x")
L = (x ^ 3):sum():name("L")
L:backward{create_graph = true}
dLdx = x.grad
x.grad = nil
dLdx:backward{grad = ones(1), trace = true}
check("dL/dx = 3x² at 2", dLdx, {12})
check("d²L/dx² = 6x at 2", x.grad, {12})
say([[grad(L, x, {create_graph = true}) does the same without touching
x.grad (torch.autograd.grad), and hessian(f, x) builds the whole matrix
of second derivatives, one backward pass per row.]])
pause()

say([[Is one gradient step on least squares convex in the learning rate?
L(w) = (1/n)||Xw - y||², one step w1 = w0 - η ∇L(w0), and with the residual
a = X w0 - y the loss after the step is
    L(η) = (1/n) ||(I - (2η/n) X Xᵀ) a||²,
a quadratic in η with L''(η) = (8/n³) ||X Xᵀ a||² ≥ 0: convex. Autograd
through the step itself gives the same numbers:]])
X = tensor{{1, 2}, {0, 1}, {3, -1}, {2, 2}}
y = tensor{1, -1, 2, 0.5}
w0 = tensor{0.3, -0.2}
n = 4
function one_step_loss(eta)
  local g0 = X:t() * (X * w0 - y) * (2 / n)
  local w1 = w0 - eta[1] * g0
  return ((X * w1 - y) ^ 2):sum() / n
end
eta = tensor{0.05}:requires_grad():name("eta")
Leta = one_step_loss(eta)
d1 = grad(Leta, eta, {create_graph = true})
d2 = grad(d1:sum(), eta)
a = X * w0 - y
Ma = X * X:t() * a
r1 = a - (2 * 0.05 / n) * Ma
function digits(v) return ("%.12g"):format(v) end
say("L(0.05) = " .. digits(Leta:item()))
say("L'(0.05) by autograd " .. digits(d1:item()) .. ", closed form -(4/n²) r1ᵀ X Xᵀ a = "
  .. digits(-(4 / n ^ 2) * (r1 * Ma)) .. " (r1 = a - (2η/n) X Xᵀ a)")
say("L''(η) by autograd " .. digits(d2[1]) .. ", closed form (8/n³)||X Xᵀ a||² = "
  .. digits((8 / n ^ 3) * (Ma * Ma)))
check("L'(0.05) matches the closed form (1e-12)", math.abs(d1:item() + (4 / n ^ 2) * (r1 * Ma)) < 1e-12, true)
check("L''(η) matches the closed form (1e-12)", math.abs(d2[1] - (8 / n ^ 3) * (Ma * Ma)) < 1e-12, true)
check("L''(η) > 0: the one-step loss is convex in η", d2[1] > 0, true)
say([[Being a quadratic, L(η) is minimised where L' = 0, one Newton step
from any η: η* = η - L'(η)/L''(η).]])
eta_star = 0.05 - d1:item() / d2[1]
show("η*", eta_star)
check("η* = aᵀ X Xᵀ a / ((2/n) ||X Xᵀ a||²)", math.abs(eta_star - (a * Ma) / ((2 / n) * (Ma * Ma))) < 1e-12, true)
pause()

say([[How large may the step be? Near a minimum the loss is a quadratic
with Hessian H; gradient descent multiplies the error along each
eigenvector of H by (1 - ηλ), so it converges iff η < 2/λ_max. For least
squares H = (2/n) XᵀX exactly; curvature() takes its eigenvalues with eigh
and explains the bound:]])
function lsq(w) return ((X * w - y) ^ 2):sum() / n end
H = hessian(lsq, w0)
check("the Hessian of least squares is (2/n) XᵀX", H, (2 / n) * X:t() * X)
c = curvature(H, {explain = true})
lr_max = c.lr_max
function descend(eta, steps)
  local w = w0:clone()
  for k = 1, steps do
    local g = grad(lsq, w)
    w = w - eta * g
  end
  return lsq(w)   -- a number: w is outside any graph
end
best = lsq(solve(X:t() * X, X:t() * y))
below, above = descend(0.95 * lr_max, 200), descend(1.05 * lr_max, 200)
show("the least-squares minimum", best)
show("after 200 steps at η = 0.95 · 2/λ_max", below)
show("after 200 steps at η = 1.05 · 2/λ_max", above)
check("just below 2/λ_max gradient descent converges", math.abs(below - best) < 1e-6, true)
check("just above 2/λ_max it diverges", above > 1e6, true)
pause()

say([[Newton's method uses the curvature instead of a fixed step:
x ← x - H⁻¹ ∇f. On a quadratic one step lands on the minimum; here it
solves the normal equations XᵀX w = Xᵀy.]])
w1 = newton_step(lsq, w0, {trace = true})
check("one Newton step reaches the least-squares solution", w1, solve(X:t() * X, X:t() * y), 1e-12)
pause()

say([[The Hessian of softmax cross-entropy in the logits z is
diag(p) - p pᵀ with p = softmax(z), whatever the class. Its rows sum to 0
(adding a constant to every logit changes nothing), so it has the
eigenvalue 0: convex, but not strictly.]])
z = tensor{0.5, -1.2, 2.0}
p = softmax(z, 1)
Hce = hessian(function(t) return cross_entropy(t, tensor{2}) end, z)
show("hessian of cross_entropy(z, 2)", Hce)
check("diag(p) - p pᵀ", Hce, eye(3):cmul(outer(p, ones(3))) - outer(p, p), 1e-12)
cz = curvature(Hce, {explain = true})
check("the smallest eigenvalue is 0 (to rounding)", math.abs(cz.lambda_min) < 1e-12, true)
