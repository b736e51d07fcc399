-- title: The forward pass by hand
-- summary: homework 1, Problem 1: the 3-layer ReLU network, one layer at a time
title("Lesson 2: the forward pass by hand")

-- v(t): a number or a small tensor as working text, "(2, 8, 9)"
local function v(t)
  if type(t) == "number" then return ("%g"):format(t) end
  local f, p = t:detach():reshape(t:numel()), {}
  for i = 1, t:numel() do p[i] = ("%g"):format(f[i]) end
  return #p == 1 and p[1] or "(" .. table.concat(p, ", ") .. ")"
end
-- rows(W, z, b): the working of W z + b, one row of W at a time
local function rows(W, z, b)
  local out, r = {}, W * z + b
  for i = 1, W:size(1) do
    local terms = {}
    for j = 1, W:size(2) do terms[j] = v(W[{i, j}]) .. "*" .. v(z[j]) end
    local bi = b[i] < 0 and " - " .. v(-b[i]) or " + " .. v(b[i])
    out[i] = (W:size(1) > 1 and "row " .. i .. ": " or "") .. table.concat(terms, " + ") .. bi .. " = " .. v(r[i])
  end
  return table.concat(out, ";  ")
end

say([[Homework 1, Problem 1: a network with two inputs, hidden layers of 3
and 2 units with ReLU, and one output, also through a ReLU. Each layer
computes a pre-activation a = W z + b (z is the previous layer's output,
z0 = x) and then the activation z = relu(a) = max(0, a), entry by entry.]])
x  = tensor{2, 1}
y  = 10
W1 = tensor{{1, 0}, {3, 4}, {1, 2}};  b1 = tensor{0, -2, 5}
W2 = tensor{{2, 6, 1}, {0, 3, 1}};    b2 = tensor{-23, -11}
W3 = tensor{{-2, 3}};                 b3 = tensor{18}
show("x", x)
show("W1", W1); show("b1", b1)
show("W2", W2); show("b2", b2)
show("W3", W3); show("b3", b3)
say("W1 is " .. W1:size(1) .. "x" .. W1:size(2) .. ": it takes the " .. #x ..
  " inputs to " .. W1:size(1) .. " hidden units. Each row of W holds one unit's weights.")
pause()

say("Layer 1. Multiply each row of W1 by x, then add b1.")
a1 = W1 * x + b1
ask("a1 = W1 x + b1 = ?", a1, 1e-9, rows(W1, x, b1))
check("a1", a1, {2, 8, 9})
z1 = relu(a1)
ask("z1 = relu(a1) = ?", z1, 1e-9, "every entry of a1 is positive, so relu keeps them all")
check("z1", z1, {2, 8, 9})
pause()

say("Layer 2: the same two steps with W2 and b2, applied to z1.")
a2 = W2 * z1 + b2
ask("a2 = W2 z1 + b2 = ?", a2, 1e-9, rows(W2, z1, b2))
check("a2", a2, {38, 22})
z2 = relu(a2)
ask("z2 = relu(a2) = ?", z2, 1e-9, "both entries are positive: z2 = a2")
check("z2", z2, {38, 22})
pause()

say("Layer 3 has a single unit: W3 is one row, so a3 is one number.")
a3 = W3 * z2 + b3
ask("a3 = W3 z2 + b3 = ?", a3[1], 1e-9, rows(W3, z2, b3))
check("a3", a3, {8})
z3 = relu(a3)
yhat = z3[1]
ask("yhat = z3 = relu(a3) = ?", yhat, 1e-9, "a3 > 0, so the output ReLU passes it unchanged")
check("yhat (the sheet says 9)", yhat, 8)
say(("Where the sheet slipped: its step 6 writes W3 z2 + b3 = 9, but %s, not 9, " ..
  "so yhat = %s. Its Question 3 then uses yhat - y = %s - %s: from there on it is right again.")
  :format(rows(W3, z2, b3), v(yhat), v(yhat), v(y)))
pause()

say("The loss of this example is the squared error L = (yhat - y)^2.")
L = (yhat - y)^2
ask("L = (yhat - y)^2 = ?", L, 1e-9, ("(%s - %s)^2 = %s"):format(v(yhat), v(y), v(L)))
check("L", L, 4)
pause()

say([[Here every pre-activation was positive, so no ReLU did anything. That
is not always so. forward(x) below runs the same three layers for any input;
try x = (0, 0): then a1 = b1 has a negative entry, and ReLU sets it to 0.]])
function forward(xin, verbose)
  local h = xin
  for i, layer in ipairs{{W1, b1}, {W2, b2}, {W3, b3}} do
    local a = layer[1] * h + layer[2]
    h = relu(a)
    if verbose then show("a" .. i, a); show("z" .. i, h) end
  end
  return h[1]
end
local x0 = tensor{0, 0}
local a2_0 = W2 * relu(b1) + b2
ask("What does the network output for x = (0, 0)?", forward(x0), 1e-9,
  "a1 = b1 = " .. v(b1) .. ", so z1 = " .. v(relu(b1)) .. "; layer 2 then gives a2 = " ..
  v(a2_0) .. ", both negative: z2 = " .. v(relu(a2_0)) .. ", and the output is relu(b3) = " .. v(forward(x0)))
forward(x0, true)
check("forward(0, 0)", forward(x0), 18)
check("forward(x) is the network above", forward(x), yhat)

say([[x, y, W1 ... b3, a1 ... z3, yhat and L stay defined, and forward(x,
true) prints every layer: change a weight (W3[{1,1}] = 2) and run it again.
The next lesson goes backwards through the same network.]])
