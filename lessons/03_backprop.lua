-- title: Backprop step by step
-- summary: the chain rule on the homework network by hand, with a trace, then with nn modules
title("Lesson 3: backprop step by step")

-- v(t): a number or a small tensor as working text: "(16, 12, -4)", a
-- matrix row by row "[32 16; 24 12; -8 -4]"
local function v(t)
  if type(t) == "number" then return ("%g"):format(t) end
  t = t:detach()
  if t:dim() == 2 then
    local r = {}
    for i = 1, t:size(1) do r[i] = v(t[i]):gsub("[(),]", "") end
    return "[" .. table.concat(r, "; ") .. "]"
  end
  local f, p = t:reshape(t:numel()), {}
  for i = 1, t:numel() do p[i] = ("%g"):format(f[i]) end
  return #p == 1 and p[1] or "(" .. table.concat(p, ", ") .. ")"
end

say([[The network of lesson 2 again, but now the weights are marked with
requires_grad(): every operation on them is recorded in a graph, so that
backward() can later apply the chain rule through it. The loss is
L = (yhat - y)^2.]])
x  = tensor{2, 1}
y  = 10
W1 = tensor{{1, 0}, {3, 4}, {1, 2}}:requires_grad();  b1 = tensor{0, -2, 5}:requires_grad()
W2 = tensor{{2, 6, 1}, {0, 3, 1}}:requires_grad();    b2 = tensor{-23, -11}:requires_grad()
W3 = tensor{{-2, 3}}:requires_grad();                 b3 = tensor{18}:requires_grad()
a1 = W1 * x + b1;  z1 = relu(a1)
a2 = W2 * z1 + b2; z2 = relu(a2)
a3 = W3 * z2 + b3; z3 = relu(a3)
yhat = z3[1]
L = (yhat - y)^2
show("yhat", yhat)
show("L", L)
pause()

say([[Backwards, one step at a time. We work on copies without the graph
(detach) and write each rule as a tensor expression. relu'(a) is 1 where
a > 0 and 0 elsewhere: a:gt(0).]])
local A1, A2, A3 = a1:detach(), a2:detach(), a3:detach()
local Z1, Z2 = z1:detach(), z2:detach()
dyhat = 2 * (yhat:item() - y)
ask("dL/dyhat = 2 (yhat - y) = ?", dyhat, 1e-9, ("2 (%s - %s) = %s. (The sheet's first line " ..
  "writes -2(yhat - y); the minus sign is a slip.)"):format(v(yhat:item()), v(y), v(dyhat)))
da3 = dyhat * A3:gt(0)
ask("dL/da3 = dL/dyhat * relu'(a3) = ?", da3[1], 1e-9, ("a3 = %s > 0, so relu'(a3) = 1 and dL/da3 = %s"):format(v(A3), v(da3)))
pause()

say([[Layer 3: a3 = W3 z2 + b3. The bias gradient is dL/da3 itself; the weight
gradient is the outer product dL/da3 z2^T (each weight W3[1,j] multiplied
z2[j]); and the gradient passed down is W3^T dL/da3.]])
db3 = da3
dW3 = outer(da3, Z2)
ask("dL/db3 = ?", db3[1], 1e-9)
ask("dL/dW3 = dL/da3 z2^T = ?", dW3, 1e-9, v(da3) .. " * " .. v(Z2) .. " = " .. v(dW3) ..
  ". (The sheet prints z2 as (38, 92) here, but computes with " .. v(Z2) .. ".)")
dz2 = W3:detach():t() * da3
da2 = dz2:cmul(A2:gt(0))
say("Passed down: dL/dz2 = W3^T dL/da3 = " .. v(dz2) .. "; a2 = " .. v(A2) ..
  " is positive, so dL/da2 = " .. v(da2) .. ".")
pause()

say("Layer 2: the same three rules with W2, z1 and dL/da2.")
db2 = da2
dW2 = outer(da2, Z1)
ask("dL/db2 = ?", db2, 1e-9)
ask("dL/dW2 = dL/da2 z1^T = ?", dW2, 1e-9, "the outer product of " .. v(da2) .. " and " .. v(Z1) ..
  ": " .. v(dW2))
dz1 = W2:detach():t() * da2
da1 = dz1:cmul(A1:gt(0))
say("Passed down: dL/dz1 = W2^T dL/da2 = " .. v(dz1) .. "; a1 = " .. v(A1) ..
  " is positive, so dL/da1 = " .. v(da1) .. ".")
db1 = da1
dW1 = outer(da1, x)
ask("dL/db1 = ?", db1, 1e-9)
ask("dL/dW1 = dL/da1 x^T = ?", dW1, 1e-9, "the outer product of " .. v(da1) .. " and " .. v(x) ..
  ": " .. v(dW1) .. ". (The sheet's last line gives a 2x2 matrix with -24 in it: it lost the " ..
  "third hidden unit and a sign. A gradient always has the shape of its weight, here 3x2.)")
pause()

say([[Now the machine does the same. backward{trace=true} prints every step of
the chain rule with the names of the variables. It fills W1.grad ... b3.grad.]])
L:backward{trace = true}
check("dL/dW3", W3.grad, {{-152, -88}})
check("dL/db3", b3.grad, {-4})
check("dL/dW2", W2.grad, {{16, 64, 72}, {-24, -96, -108}})
check("dL/db2", b2.grad, {8, -12})
check("dL/dW1", W1.grad, {{32, 16}, {24, 12}, {-8, -4}})
check("dL/db1", b1.grad, {16, 12, -4})
local hand = { {W1, dW1}, {b1, db1}, {W2, dW2}, {b2, db2}, {W3, dW3}, {b3, db3} }
local same = true
for _, p in ipairs(hand) do same = same and allclose(p[1].grad, p[2]) end
check("backward gives the hand-worked gradients", same, true)
pause()

say([[The same network with nn modules: Linear layers hold W and b, and
Sequential runs them in order. We copy the homework weights in.]])
net = nn.Sequential{ nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1), nn.ReLU() }
for i, p in ipairs{ {W1, b1}, {W2, b2}, {W3, b3} } do
  net[2 * i - 1].weight:copy(p[1]:detach())
  net[2 * i - 1].bias:copy(p[2]:detach())
end
out = net:forward(x, {trace = true})
Lnet = (out[1] - y)^2
Lnet:backward()
local match = true
for i, p in ipairs(hand) do
  local layer = net[2 * ((i + 1) // 2) - 1]
  match = match and (i % 2 == 1 and layer.weight.grad or layer.bias.grad) == p[1].grad
end
show("net[1].weight.grad", net[1].weight.grad)
check("nn.Sequential gives identical gradients", match, true)
pause()

say([[Gradients ACCUMULATE: backward adds into .grad, it does not replace it.
That is what lets a mini-batch sum gradients over samples, but it means a
second forward and backward without zero_grad() doubles every gradient
(nncalc warns you when this happens).]])
Lnet = (net(x)[1] - y)^2
Lnet:backward()
ask("After a second backward, what is net[1].weight.grad?", net[1].weight.grad, 1e-9,
  "twice dW1: " .. v(net[1].weight.grad))
check("a second backward doubles the gradient", net[1].weight.grad, {{64, 32}, {48, 24}, {-16, -8}})
net:zero_grad()
show("after net:zero_grad(), net[1].weight.grad", net[1].weight.grad)

say([[In a training loop: zero_grad(), forward, backward, step. W1 ... b3,
their .grad, the hand-worked dW1 ... db3 and net stay defined; graph(L)
draws the graph of L as a tree.]])
