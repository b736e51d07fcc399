-- title: Cross-entropy and multiclass MLP gradients
-- summary: the gradient of softmax + cross-entropy is softmax minus one-hot; a 2-layer net on a batch, with gradcheck
title("Lesson 5: cross-entropy with softmax, and MLP gradients")

-- v(t): a number or a small tensor as working text, "(0.125, 0.25, -0.375)"
local function v(t)
  if type(t) == "number" then return ("%.4g"):format(t) end
  local f, p = t:detach():reshape(t:numel()), {}
  for i = 1, t:numel() do p[i] = ("%.4g"):format(f[i]) end
  return #p == 1 and p[1] or "(" .. table.concat(p, ", ") .. ")"
end

say([[A classifier outputs one score (logit) o_k per class. softmax turns them
into probabilities S(o), and the cross-entropy loss for the true class y is
L = -log S(o)_y = -o_y + log(sum_i e^(o_i)). Take 3 classes with scores
o = (ln 1, ln 2, ln 5), so e^o = (1, 2, 5), and true class y = 3.]])
o = log(tensor{1, 2, 5}):requires_grad()
S = softmax(o:detach())
show("S(o)", S)
L = cross_entropy(o, 3)
ask("L = cross_entropy(o, 3) = ?", L:item(), 1e-4, ("-log S_3 = -log %s = %s"):format(v(S[3]), v(L)))
check("L = -log(5/8)", L, math.log(8 / 5))
pause()

say([[Differentiate L = -o_y + log(sum_i e^(o_i)): the first term gives -1 for
k = y only, the second gives e^(o_k) / sum_i e^(o_i) = S_k. So
dL/do = S(o) - onehot(y): the predicted probabilities minus the true ones.]])
onehot = eye(3)[3]
ask("dL/do = ?", S - onehot, 1e-4, v(S) .. " - " .. v(onehot) .. " = " .. v(S - onehot))
L:backward()
show("o.grad from backward", o.grad)
check("dL/do = S - onehot", o.grad, {0.125, 0.25, -0.375})
say([[Each entry is a probability error: the true class gets a negative
gradient (raise its score), the others positive (lower theirs), and the
entries sum to zero, since both S and onehot sum to 1.]])
pause()

say([[With a batch of N samples (one row of O per sample) cross_entropy
averages the N losses, so each row of the gradient is divided by N.]])
O = tensor{{0, log(2), log(5)}, {0, log(3), 0}}:requires_grad()
Y = tensor{3, 1}
local N = O:size(1)
local Ohot = eye(3):index_select(1, Y:totable())
cross_entropy(O, Y):backward()
ask("dL/dO for classes Y = (3, 1)?", O.grad, 1e-4,
  "(softmax of each row - its one-hot row) / " .. N .. "; row 2: (" .. v(softmax(O:detach()[2])) ..
  " - " .. v(Ohot[2]) .. ") / " .. N .. " = " .. v(O.grad[2]))
show("dL/dO", O.grad)
check("batch gradient (S - onehot)/N", O.grad, {{0.0625, 0.125, -0.1875}, {-0.4, 0.3, 0.1}})
pause()

say([[Now the network of the sheet's part 2: d inputs, a hidden layer of d_h
ReLU units, m classes. For a batch X (N x d, one sample per row):
Ha = X W1^T + b1,  Hs = relu(Ha),  Oa = Hs W2^T + b2,  L = cross_entropy(Oa, Y).]])
seed(5)
d, dh, m = 4, 5, 3
Nb0 = 6
X = randn(Nb0, d)
Yb = tensor{1, 2, 3, 1, 2, 3}
W1 = (0.5 * randn(dh, d)):requires_grad();  b1 = (0.1 * randn(dh)):requires_grad()
W2 = (0.5 * randn(m, dh)):requires_grad();  b2 = (0.1 * randn(m)):requires_grad()
local count = W1:numel() + b1:numel() + W2:numel() + b2:numel()
ask("How many parameters does it have (d = 4, d_h = 5, m = 3)?", count, 0,
  ("d_h (d + 1) + m (d_h + 1) = %d * %d + %d * %d = %d"):format(dh, d + 1, m, dh + 1, count))
check("n_theta = 5*5 + 3*6", count, 43)
Ha = X * W1:t() + b1
Hs = relu(Ha)
Oa = Hs * W2:t() + b2
Lb = cross_entropy(Oa, Yb)
show("Lb", Lb)
losses = cross_entropy(Oa, Yb, {reduction = "none"})
show("the loss of each sample", losses)
ask("Which sample has the largest loss (the network's worst guess)?", losses:argmax(), 0,
  "losses:argmax() = " .. losses:argmax() .. ", with loss " .. v(losses:max()) ..
  ". Lb is the mean of the " .. Nb0 .. " losses: " .. v(losses:mean()))
pause()

say([[Backwards by hand, all samples at once (rows are samples):
dOa = (softmax(Oa) - onehot(Y)) / N;  dW2 = dOa^T Hs;  db2 = sum of dOa's rows;
dHs = dOa W2;  dHa = dHs * relu'(Ha);  dW1 = dHa^T X;  db1 = sum of dHa's rows;
and (part 2.p) dX = dHa W1.]])
local Nb = X:size(1)
local hot = eye(m):index_select(1, Yb:totable())
dOa = (softmax(Oa:detach()) - hot) / Nb
dW2 = dOa:t() * Hs:detach()
db2 = dOa:sum(1)
dHa = (dOa * W2:detach()):cmul(Ha:detach():gt(0))
dW1 = dHa:t() * X
db1 = dHa:sum(1)
dX = dHa * W1:detach()
say([[Every row of softmax - onehot adds up to 1 - 1 = 0, so the entries of
db2 add up to 0 as well (up to rounding):]])
show("db2", db2)
show("db2:sum()", db2:sum())
check("sum of dL/db2", db2:sum(), 0, 1e-12)
show("dW2 by hand", dW2)
Lb:backward()
show("W2.grad by backward", W2.grad)
local same = allclose(W1.grad, dW1) and allclose(b1.grad, db1) and allclose(W2.grad, dW2) and allclose(b2.grad, db2)
check("backward gives the hand-worked dW1 db1 dW2 db2", same, true)
pause()

say([[gradcheck(f, inputs) compares backward with central differences
(f(w + eps) - f(w - eps)) / 2 eps for every entry of every input - the test to run
whenever you write a gradient by hand.]])
function loss(x, w1, c1, w2, c2)
  return cross_entropy(relu(x * w1:t() + c1) * w2:t() + c2, Yb)
end
local ok = gradcheck(loss, {X, W1:detach(), b1:detach(), W2:detach(), b2:detach()})
check("gradcheck of the 2-layer net, inputs and parameters", ok, true)
local Xr = X:clone():requires_grad()
loss(Xr, W1:detach(), b1:detach(), W2:detach(), b2:detach()):backward()
check("dX = dHa W1 (part 2.p)", allclose(Xr.grad, dX), true)

say([[X, Yb, W1, b1, W2, b2, Ha, Hs, Oa, Lb, the hand-worked dOa ... dX and
loss(x, W1, b1, W2, b2) stay defined: change a class in Yb and look at how
dOa changes, or gradcheck your own loss.]])
