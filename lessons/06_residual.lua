-- title: Vanishing gradients and residual connections
-- summary: homework 1, Problem 5: products of small derivatives, skip connections, 0.5^n against 1.25^B
title("Lesson 6: vanishing gradients and residual connections")

-- g(t): a number (or a one-entry tensor) as working text
local function g(t)
  if type(t) ~= "number" then t = t:item() end
  return ("%.10g"):format(t)
end

say([[Backprop multiplies local derivatives along the chain:
dL/dx = dL/dz2 * dz2/dz1 * dz1/dx. When every factor is small the product
is tiny, so the first layers hardly change when we train: the gradient
vanishes. Problem 5 uses dL/dz2 = 0.01, dz2/dz1 = 0.005, dz1/dx = 0.1; three
scalings with exactly those derivatives make the chain.]])
x  = tensor(1):requires_grad()
z1 = 0.1 * x
z2 = 0.005 * z1
L  = 0.01 * z2
L:backward{trace = true}
plain = x.grad:item()
ask("dL/dx without a skip connection = ?", plain, 1e-12,
  "0.01 * 0.005 * 0.1 = " .. g(plain))
check("dL/dx, plain chain", plain, 0.000005, 1e-15)
say("The sheet's Question 2 writes 0.00005 - the size of dL/dz1 in the trace above, one " ..
  "factor short - and its Question 4 then compares with 0.000005. The right value is " .. g(plain) .. ".")
pause()

say([[A residual (skip) connection adds the input to the block's output:
y = z2 + x. Now dy/dx = dz2/dx + 1: the +1 is a path on which the gradient
passes unchanged, however small the block's own derivative is.]])
xr = tensor(1):requires_grad()
z2r = 0.005 * (0.1 * xr)
yr = z2r + xr
Lr = 0.01 * yr
Lr:backward()
skip = xr.grad:item()
ask("dL/dx with the skip connection = ?", skip, 1e-12,
  "0.01 * (0.005 * 0.1 + 1) = " .. g(skip))
check("dL/dx, with skip", skip, 0.010005, 1e-15)
ask("How many times larger is it?", skip / plain, 1e-9, g(skip) .. " / " .. g(plain) .. " = " .. g(skip / plain))
pause()

say([[Question 5: a chain of n layers, each with derivative 0.5, and
dL/d(output) = 0.5 too. plain_grad(n) builds the chain and runs backward.]])
function plain_grad(n)
  local x0 = tensor(1):requires_grad()
  local h = x0
  for _ = 1, n do h = 0.5 * h end
  ;(0.5 * h):backward()
  return x0.grad:item()
end
for n = 1, 6 do show(("plain_grad(%d)"):format(n), plain_grad(n)) end
ask("dL/dx for n = 6?", plain_grad(6), 1e-12, "0.5 * 0.5^6 = 0.5^7 = " .. g(plain_grad(6)))
check("plain chain, n = 6", plain_grad(6), 0.0078125, 1e-15)
say(("Every layer halves the gradient: n layers give 0.5 * 0.5^n = 0.5^(n+1). The sheet's " ..
  "values are right, but from 3 layers on its exponents are one short (it writes 0.5^3 = " ..
  "0.0625, yet 0.5^3 = %s)."):format(g(0.5 ^ 3)))
pause()

say([[Question 6: the same layers in residual blocks of two. Block j computes
y_j = y_(j-1) + f(f(y_(j-1))) with f'(.) = 0.5, so dy_j/dy_(j-1) = 0.5*0.5 + 1
= 1.25, and with B blocks dL/dx = 0.5 * 1.25^B.]])
function res_grad(B)
  local x0 = tensor(1):requires_grad()
  local yb = x0
  for _ = 1, B do yb = yb + 0.5 * (0.5 * yb) end
  ;(0.5 * yb):backward()
  return x0.grad:item()
end
ask("dL/dx for n = 2 layers (B = 1 block)?", res_grad(1), 1e-12, "0.5 * 1.25 = " .. g(res_grad(1)))
check("residual, B = 1", res_grad(1), 0.625, 1e-15)
check("residual, B = 3", res_grad(3), 0.9765625, 1e-15)
say(("The sheet writes 0.5 * 0.125^B (which would give %s, %s, %s) and 0.525 for B = 1; the " ..
  "right formula is 0.5 * 1.25^B: %s, %s, %s for B = 1, 2, 3 (its numbers for B = 2 and 3 " ..
  "are these, so only the formula and B = 1 slipped).")
  :format(g(0.5 * 0.125), g(0.5 * 0.125 ^ 2), g(0.5 * 0.125 ^ 3), g(res_grad(1)), g(res_grad(2)), g(res_grad(3))))
pause()

say("Side by side, n layers as a plain chain or as n/2 residual blocks:")
for n = 2, 20, 4 do
  io.write(("  n = %2d   plain %-16.8g residual %.8g\n"):format(n, plain_grad(n), res_grad(n // 2)))
end
say([[The plain chain loses a factor 2 per layer; through the blocks the
gradient never shrinks, because each block's derivative is 1 + (its branch),
never below 1 when the branch is positive. (Here it even grows, 1.25 per
block; real networks keep the branch small at the start, so the product stays
near 1.)]])
pause()

say([[The same with nn modules: nn.Residual(block) computes x + block(x).
Three blocks, each two Linear(1, 1) layers with weight 0.5 and no bias:]])
local function half() return nn.Linear(1, 1, {weight = tensor{{0.5}}, bias = false}) end
local blocks = {}
for j = 1, 3 do blocks[j] = nn.Residual(nn.Sequential{half(), half()}) end
resnet = nn.Sequential(blocks)
print(resnet[1])
show("#resnet, the number of blocks", #resnet)
xin = tensor{1}:requires_grad()
;(0.5 * resnet(xin)[1]):backward()
ask("dL/dx through three nn.Residual blocks?", xin.grad[1], 1e-12, "0.5 * 1.25^3 = " .. g(xin.grad))
check("nn.Residual, B = 3", xin.grad, 0.9765625, 1e-15)

say([[plain_grad(n), res_grad(B) and resnet stay defined: try plain_grad(50)
against res_grad(25), or change the 0.5 in the blocks.]])
