-- title: Recurrent networks and BPTT
-- summary: an RNN step by hand, its BPTT, why gradients vanish, the LSTM's cell path, parameter counts under both bias conventions
title("Lesson 13: recurrent networks and backprop through time")

local function th(v) return (math.exp(2 * v) - 1) / (math.exp(2 * v) + 1) end

say([[A recurrent network reads a sequence x_1, x_2, ... one step at a time and
keeps a state h that it feeds back in. The plain (Elman) RNN cell is

  h_t = tanh(w_hh h_{t-1} + w_ih x_t + b)

with the SAME weights at every step. Take one unit, w_hh = 0.5, w_ih = 1,
b = 0, the sequence x = (1, 0.5, -1) and h_0 = 0.]])
local w, u = 0.5, 1
local xs = { 1, 0.5, -1 }
local hh = { [0] = 0 }
for t = 1, 3 do hh[t] = th(w * hh[t - 1] + u * xs[t]) end
ask("h_1 = tanh(0.5·0 + 1·1) = ?", hh[1], 1e-4, ("tanh(1) = %.5f"):format(hh[1]))
ask("h_2 = tanh(0.5·h_1 + 0.5) = ?", hh[2], 1e-4, ("tanh(0.5·%.5f + 0.5) = tanh(%.5f) = %.5f"):format(hh[1],
  0.5 * hh[1] + 0.5, hh[2]))
show("h_3 = tanh(0.5·h_2 - 1)", hh[3])
pause()

say([[The same numbers from a loop over tensors. Storing each state in a global
table h[t] (and each input in xt[t]) names the graph's nodes h[1], h[2], h[3]
in traces. Then nn.RNN with
the same weights: PyTorch's layout, weight_ih_l0 and weight_hh_l0, and two
biases bias_ih_l0 and bias_hh_l0 (set to 0 here).]])
W_hh = tensor{ 0.5 }:requires_grad()
W_ih = tensor{ 1 }:requires_grad()
x = tensor{ { 1 }, { 0.5 }, { -1 } }
xt = { x[1], x[2], x[3] }
h = { [0] = zeros(1) }
for t = 1, 3 do h[t] = tanh(W_hh:cmul(h[t - 1]) + W_ih:cmul(xt[t])) end
check("the tensor loop gives the hand values", h[3]:detach(), { hh[3] }, 1e-12)
rnn = nn.RNN(1, 1)
rnn.weight_ih_l0:detach():fill(1); rnn.weight_hh_l0:detach():fill(0.5)
rnn.bias_ih_l0:detach():fill(0); rnn.bias_hh_l0:detach():fill(0)
out, h_n = rnn(x)
show("nn.RNN output (one row per step)", out:detach())
check("nn.RNN gives the same h_1, h_2, h_3", out:detach(), { { hh[1] }, { hh[2] }, { hh[3] } }, 1e-12)
pause()

say([[Backprop through time (BPTT). Let the loss be L = h_3. Writing a_t for the
value inside tanh, dL/da_t = dL/dh_t · (1 - h_t²), and h_{t-1} reaches L only
through a_t, so dL/dh_{t-1} = dL/da_t · w_hh. The weight w_hh is used at every
step, so its gradient is the SUM of one share per step:

  dL/dw_hh = Σ_t dL/da_t · h_{t-1}]])
local da, dh, share = {}, 1, {}
for t = 3, 1, -1 do
  da[t] = dh * (1 - hh[t] ^ 2)
  share[t] = da[t] * hh[t - 1]
  dh = da[t] * w
end
ask("dL/da_3 = 1 · (1 - h_3²) = ?", da[3], 1e-4)
ask("dL/da_2 = dL/da_3 · w_hh · (1 - h_2²) = ?", da[2], 1e-4)
ask("the share of step 1, dL/da_1 · h_0 = ?", share[1], 1e-4, "h_0 = 0: the first step adds nothing to dL/dw_hh")
ask("dL/dw_hh = the sum of the three shares = ?", share[1] + share[2] + share[3], 1e-4,
  ("%.5f + %.5f + %.5f"):format(share[1], share[2], share[3]))
pause()

say([[The trace shows the same: each mul(W_hh, h[t-1]) step adds its share to
W_hh.grad ("the share through h[t-1]": the chain rule adds the paths), and
the last lines give the totals.]])
L = h[3]:sum()
L:backward{ trace = true }
check("W_hh.grad is the sum of the shares", W_hh.grad, { share[1] + share[2] + share[3] }, 1e-12)
pause()

say([[Why gradients vanish. The gradient that reaches step t from step T is a
product of one Jacobian per step in between:

  dh_T/dh_t = J_T · J_{T-1} ··· J_{t+1},   J_k = diag(1 - h_k²) · W_hh

Each factor has norm at most ||W_hh|| (tanh' is at most 1), so when W_hh is
small the product falls geometrically and early steps get almost no
gradient; when it is large and tanh does not saturate, it explodes.
bptt_norms prints the norms. Here W_hh = 0.5 I with zero input, so h stays 0
and every J_k is exactly 0.5 I.]])
W = 0.5 * eye(2)
local list = bptt_norms(function(xt, hp) return tanh(W * hp + xt) end, zeros(2), zeros(8, 2))
ask("By what factor does each step back multiply the norm?", list[2].norm / list[1].norm, 1e-9)
check("||dh_8/dh_0|| = sqrt(2)·0.5^8", list[9].norm, math.sqrt(2) * 0.5 ^ 8, 1e-12)
say([[With W_hh = 1.5 I the same loop explodes: each step back multiplies by 1.5.
(Saturating units, h near ±1, make tanh' small and pull it back down.)]])
W = 1.5 * eye(2)
list = bptt_norms(function(xt, hp) return tanh(W * hp + xt) end, zeros(2), zeros(4, 2))
check("exploding: x1.5 a step", list[2].norm / list[1].norm, 1.5, 1e-12)
pause()

say([[The LSTM adds a cell c with an additive update,

  i, f, o = σ(...),  g = tanh(...),  c_t = f ⊙ c_{t-1} + i ⊙ g,  h_t = o ⊙ tanh(c_t)

so along the cell's own path dc_t/dc_{t-1} = diag(f_t): no W_hh and no
tanh' in between. With the forget gate near 1 the gradient passes along c
almost unchanged. Below, an LSTM whose forget gate has bias 5 (PyTorch's
gate order is i, f, g, o, so f is rows 4..6 of bias_ih_l0 for 3 units) and
small weights: the dc/dc column stays near its start while the RNN's fell.]])
seed(13)
lstm = nn.LSTM(2, 3)
no_grad(function()
  for _, p in ipairs(lstm:parameters()) do p:detach():copy(0.2 * p:detach()) end
  lstm.bias_ih_l0:detach():narrow(1, 4, 3):fill(5)
end)
local l2 = bptt_norms(lstm, randn(6, 2))
local f = 1 / (1 + math.exp(-5))
ask("f = σ(5) (the other weights are small) = ?", f, 1e-4, "each step back along c keeps about this share")
check("the cell path keeps most of the gradient over 6 steps", l2[7].cell_norm > 0.8 * l2[1].cell_norm, true)
pause()

say([[Counting parameters. Each gate has an input matrix (h x in), a recurrent
matrix (h x h) and, in PyTorch's layout, TWO biases (bias_ih and bias_hh):

  gates · (h·(in + h) + 2h)     per layer and direction

The LSTM has 4 gates (i, f, g, o), the GRU 3 (r, z, n), the RNN 1. Keras and
most papers write ONE bias per gate, gates · (h·(in + h) + h): homework
answers differ by exactly that. bias = "single" gives that convention.]])
ask("nn.LSTM(10, 20): 4 · (20·(10 + 20) + 2·20) = ?", 2560, 0)
ask("with one bias per gate: 4 · (20·30 + 20) = ?", 2480, 0)
local function count(m) local n = 0 for _, p in ipairs(m:parameters()) do n = n + p:numel() end return n end
check("nn.LSTM(10, 20) in PyTorch's layout", count(nn.LSTM(10, 20)), 2560)
check("nn.LSTM(10, 20, {bias = \"single\"})", count(nn.LSTM(10, 20, { bias = "single" })), 2480)
say([[A second layer reads the first one's output: h features, or 2h when
bidirectional. summary counts the multiply-adds per step (input part and
recurrent part) times T and the batch, and the activations per gate:]])
summary(nn.LSTM(10, 20, { num_layers = 2 }), { 5, 3, 10 })
check("2 layers: the second reads 20 features", count(nn.LSTM(10, 20, { num_layers = 2 })), 2560 + 4 * (20 * 40 + 40))
say([[rnn, lstm, h[1..3], W_hh and the hand values stay defined: try
rnn(x, tensor{{0.3}}) with an initial state, or bptt_norms(rnn, x).]])
