-- title: Optimizers step by step
-- summary: SGD, momentum and Nesterov in both forms, AdaGrad/RMSProp/Adam traced, minimum-norm solutions
title("Lesson 11: optimizers step by step")

say([[All optimizers here work on one small quadratic, f(theta) = 1/2 theta' A
theta with A = [3 1; 1 2], whose gradient is A theta and whose minimum is at
0. We start every run at theta = (1, -1). opt:step{trace = true} prints each
update with its numbers.]])
A = tensor{{3, 1}, {1, 2}}
function f(x) return 0.5 * (x:cmul(A * x)):sum() end
-- descend(make, steps): runs an optimizer from (1, -1); returns the iterates (one per row)
function descend(make, steps)
  local th = tensor{1, -1}:requires_grad():name("theta")
  local opt = make({th})
  local path = {}
  for k = 1, steps do
    opt:zero_grad(); f(th):backward(); opt:step()
    path[k] = th:detach():clone()
  end
  return stack(path), opt
end
theta = tensor{1, -1}:requires_grad():name("theta")
sgd = optim.SGD({theta}, {lr = 0.1})
f(theta):backward()
sgd:step{trace = true}
check("one SGD step: theta - 0.1 * A theta", theta, {0.8, -0.9})
pause()

say([[Momentum keeps a running direction. PyTorch writes buf <- mu*buf + g,
theta <- theta - lr*buf; many textbooks (Sutskever) put the learning rate
inside: v <- mu*v - lr*g, theta <- theta + v. With a fixed lr, v = -lr*buf,
so both give the same iterates. The first two steps of each:]])
for _, form in ipairs({"pytorch", "lr_inside"}) do
  local th = tensor{1, -1}:requires_grad():name("theta")
  local opt = optim.SGD({th}, {lr = 0.1, momentum = 0.9, momentum_form = form})
  for k = 1, 2 do opt:zero_grad(); f(th):backward(); opt:step{trace = true} end
end
P1 = descend(function(p) return optim.SGD(p, {lr = 0.1, momentum = 0.9}) end, 30)
P2 = descend(function(p) return optim.SGD(p, {lr = 0.1, momentum = 0.9, momentum_form = "lr_inside"}) end, 30)
ask("What is theta after two momentum steps?", P1[2], 1e-9, "buf = 0.9 * (2, -1) + (1.5, -1)")
check("theta after two momentum steps", P1[2], {0.47, -0.71})
check("the two momentum forms agree for 30 steps (to 1e-12)", (P1 - P2):abs():max() < 1e-12, true)
pause()

say([[Nesterov momentum takes the gradient at the look-ahead point theta + mu*v:
v <- mu*v - lr*grad f(theta + mu*v), theta <- theta + v. That needs a second
evaluation point, so it is usually rewritten in the variable phi = theta + mu*v,
which gives buf <- mu*buf + g(phi), phi <- phi - lr*(g(phi) + mu*buf): the
gradient is then taken at the parameters themselves (PyTorch's form). The
look-ahead form needs a closure that recomputes the loss:]])
theta = tensor{1, -1}:requires_grad():name("theta")
phi = tensor{1, -1}:requires_grad():name("phi")
look = optim.SGD({theta}, {lr = 0.1, momentum = 0.8, nesterov = true, nesterov_form = "lookahead"})
rewr = optim.SGD({phi}, {lr = 0.1, momentum = 0.8, nesterov = true})
gap = 0
for k = 1, 60 do
  look:step{closure = function() local l = f(theta); l:backward(); return l end, trace = k == 1}
  rewr:zero_grad(); f(phi):backward(); rewr:step{trace = k == 1}
  if k == 1 then phi_1 = phi:detach():clone() end
  gap = math.max(gap, (theta:detach() + 0.8 * look:state()[1].momentum_buffer - phi:detach()):abs():max())
end
ask("What was phi after the first step?", phi_1, 1e-12, "phi - 0.1 * (g + 0.8 * g) with buf = g = (2, -1)")
check("phi = theta + mu*v at every one of 60 steps (to 1e-12)", gap < 1e-12, true)
show("phi after 60 steps", phi)
pause()

say([[Adaptive methods scale each coordinate by its own gradient history.
AdaGrad divides by the root of the summed squared gradients G, RMSProp by the
root of a running average E[g^2], Adam also averages the gradient itself and
corrects both averages for starting at 0. One step of each:]])
for _, make in ipairs({ function(p) return optim.AdaGrad(p, {lr = 0.1}) end,
    function(p) return optim.RMSProp(p, {lr = 0.01}) end, function(p) return optim.Adam(p, {lr = 0.1}) end }) do
  local th = tensor{1, -1}:requires_grad():name("theta")
  local opt = make({th})
  f(th):backward()
  opt:step{trace = true}
end
say([[Every first step moves each coordinate by the same amount, whatever the
size of its gradient: g / sqrt(g^2) = sign(g) (for RMSProp 1/sqrt(1 - 0.99)
= 10 times lr). After 50 steps:]])
for _, case in ipairs({ {"SGD lr 0.1", function(p) return optim.SGD(p, {lr = 0.1}) end},
    {"momentum 0.9", function(p) return optim.SGD(p, {lr = 0.1, momentum = 0.9}) end},
    {"AdaGrad lr 0.1", function(p) return optim.AdaGrad(p, {lr = 0.1}) end},
    {"Adam lr 0.1", function(p) return optim.Adam(p, {lr = 0.1}) end} }) do
  show(("f(theta) after 50 steps of %-14s"):format(case[1]), f(descend(case[2], 50)[50]))
end
say([[Momentum is not always faster: on this well-conditioned quadratic,
mu = 0.9 overshoots and circles the minimum, and AdaGrad's steps keep
shrinking as G grows.]])
P_adam = descend(function(p) return optim.Adam(p, {lr = 0.1}) end, 1)
check("Adam's first step is lr * sign(g)", P_adam[1], {0.9, -0.9}, 1e-7)
pause()

say([[Minimum-norm solutions. X w = t with 2 equations and 3 unknowns has
infinitely many solutions. Gradient descent on mean((X w - t)^2) from w = 0
only ever adds multiples of X' (X w - t), so w stays in the row space of X,
and the only solution there is w* = X'(X X')^-1 t = pinv(X) t, the one of
smallest norm.]])
X = tensor{{1, 2, 0}, {0, 1, 1}}
t = tensor{3, 2}
wstar = pinv(X) * t
show("pinv(X) * t", wstar)
show("X:t() * inv(X * X:t()) * t", X:t() * inv(X * X:t()) * t)
function least_squares(o, steps)
  local w = zeros(3):requires_grad():name("w")
  local opt = optim.SGD({w}, o)
  for k = 1, steps do opt:zero_grad(); ((X * w - t) ^ 2):mean():backward(); opt:step() end
  return w:detach()
end
w_sgd = least_squares({lr = 0.1}, 300)
w_mom = least_squares({lr = 0.05, momentum = 0.9}, 300)
show("SGD from 0, 300 steps", w_sgd)
check("SGD reaches (1/3, 4/3, 2/3)", w_sgd, {1 / 3, 4 / 3, 2 / 3}, 1e-9)
check("momentum reaches it too", w_mom, {1 / 3, 4 / 3, 2 / 3}, 1e-6)
check("w is orthogonal to the null direction (2, -1, 1)", math.abs(w_sgd * tensor{2, -1, 1}) < 1e-9, true)
ask("|w*|^2 of the minimum-norm solution?", wstar * wstar, 1e-9)
ask("|w|^2 of the other solution (3, 0, 2)?", tensor{3, 0, 2} * tensor{3, 0, 2}, 0,
  ("X (3, 0, 2) = (%g, %g) also solves it"):format((X * tensor{3, 0, 2})[1], (X * tensor{3, 0, 2})[2]))
pause()

say([[One AdaGrad step from the homework: X1 = [1 2], t = 3, loss
(X1 w - t)^2, w0 = 0, lr 0.1. PyTorch adds g^2 to G BEFORE dividing, so the
first step has size lr in each coordinate. (Dividing by sqrt(G0) + eps with
G0 = 0 instead would give an enormous step.)]])
w = zeros(2):requires_grad():name("w")
ada = optim.AdaGrad({w}, {lr = 0.1})
;((tensor{{1, 2}} * w - 3) ^ 2):sum():backward()
ask("What is the gradient g at w = 0?", w.grad, 1e-12, "2 X1'(X1 w - t) = 2 (1, 2)' (0 - 3)")
ada:step{trace = true}
check("g = (-6, -12)", w.grad, {-6, -12})
check("G = (36, 144) and w = (0.1, 0.1)", cat({ada:state().w.sum, w:detach()}), {36, 144, 0.1, 0.1}, 1e-9)

say("The runs are in P1, P2, theta, phi, w_sgd, w_mom and w; descend() and f() are yours to reuse.")
