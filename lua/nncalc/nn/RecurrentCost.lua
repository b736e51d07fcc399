-- nn/RecurrentCost.lua — what one forward of an RNN / LSTM / GRU (or a
-- cell, T = 1) costs, per time step and sample, then times T, N and the
-- directions.  A gate's pre-activation W_i x + W_h h is (in + h)
-- multiplications and (in + h − 1) additions, split into the input part
-- (in, in − 1, computed for all steps at once) and the recurrent part (h,
-- h − 1, plus the one addition that joins the two); the biases are
-- bias_adds.  Then per step:
--   RNN   1 activation per unit (tanh or relu)
--   LSTM  σ for i, f, o and tanh for g and c: 5h activations; f⊙c, i⊙g,
--         o⊙tanh(c): 3h multiplications; c = f⊙c + i⊙g: h additions
--   GRU   σ for r, z and tanh for n: 3h activations; r⊙(W_hn h + b_hn),
--         (1 − z)⊙n, z⊙h: 3h multiplications; 1 − z and the sum: 2h additions
-- Saved for backward per step and sample: the step's input, h_{t-1}, the
-- gate values (gates·h); the LSTM also c_{t-1} and tanh(c_t), the GRU
-- W_hn h + b_hn.
local M = {}

local elementwise = {
  RNN = { acts = 1, mults = 0, adds = 0, saved = 0, what = "tanh (or relu) per unit", gates = "h" },
  LSTM = { acts = 5, mults = 3, adds = 1, saved = 2, what = "σ for i, f, o; tanh for g and for c", gates = "i, f, g, o" },
  GRU = { acts = 3, mults = 3, adds = 2, saved = 1, what = "σ for r, z; tanh for n", gates = "r, z, n" },
}

-- summary's 1,234 grouping (loaded when counting, never at start-up)
local function group(n) return require("nncalc.summary").group(n) end

-- count(module, shape, T, N) -> the cost table of the module contract
function M.count(m, s, T, N)
  local G, H, kind = m.gates, m.hidden_size, m.kind
  local L, D = m.num_layers or 1, m.directions or 1
  local nb = m.bias_mode == "single" and 1 or (m.bias_mode and 2 or 0)
  local e = elementwise[kind]
  local reps = T * N * D      -- steps of one layer, all samples and directions
  local c = { weights = 0, biases = 0, macs = 0, mults = 0, adds = 0, bias_adds = 0, acts = 0, conns = 0,
    bwd_input = 0, bwd_weight = 0, saved = 0, parts = {} }
  for l = 0, L - 1 do
    local nin = l == 0 and m.input_size or D * H
    local tag = (L > 1 or m.num_layers) and ("l" .. l .. " ") or ""
    c.weights = c.weights + D * G * H * (nin + H)
    c.biases = c.biases + D * nb * G * H
    local bi = nb > 0 and G * H or 0                        -- b_ih (or the single b)
    local bh = nb == 2 and G * H or 0                       -- b_hh
    local input = { name = ("%sinput x·W_ihᵀ: %s MACs per step and sample, x T=%d x N=%d%s"):format(tag,
      group(G * H * nin), T, N, D == 2 and " x 2 directions" or ""),
      macs = reps * G * H * nin, mults = reps * G * H * nin, adds = reps * G * H * (nin - 1), bias_adds = reps * bi,
      weights = D * G * H * nin, biases = D * bi }
    local recur = { name = ("%srecurrent h·W_hhᵀ: %s MACs per step and sample, x T x N%s"):format(tag,
      group(G * H * H), D == 2 and " x 2" or ""),
      macs = reps * G * H * H, mults = reps * G * H * H, adds = reps * G * H * H, bias_adds = reps * bh,
      weights = D * G * H * H, biases = D * bh }
    local gates = { name = ("%sgates: %d activations per unit (%s)"):format(tag, e.acts, e.what),
      macs = 0, mults = reps * e.mults * H, adds = reps * e.adds * H, acts = reps * e.acts * H }
    for _, part in ipairs({ input, recur, gates }) do
      c.parts[#c.parts + 1] = part
      for _, k in ipairs({ "macs", "mults", "adds", "bias_adds", "acts" }) do c[k] = c[k] + (part[k] or 0) end
    end
    c.saved = c.saved + reps * (nin + H + G * H + e.saved * H)
  end
  c.conns, c.bwd_input, c.bwd_weight = c.macs, c.macs, c.macs
  local convention = nb == 2 and "PyTorch's two biases per gate (bias_ih + bias_hh)"
    or (nb == 1 and 'bias="single": one bias per gate (Keras, the papers)' or "no biases")
  local layout = m.cell and "{in} or {N, in}" or (m.batch_first and "{N, T, in}" or "{T, N, in} or {T, in}")
  c.note = ("%s reads %s; %s; per layer and direction %d gates x (h·(in+h) + %d·h) parameters; "
    .. "compare=true: fvcore counts it as 0, torchinfo as params x T x N for a batch"):format(m.class_name, layout, convention, G, nb)
  return c
end

-- summary{explain=true}: every count as its formula with the numbers in.
function M.explain(m, r, group, T, N)
  local G, H = m.gates, m.hidden_size
  local L, D = m.num_layers or 1, m.directions or 1
  local nb = m.bias_mode == "single" and 1 or (m.bias_mode and 2 or 0)
  local e = elementwise[m.kind]
  local lines = {}
  for l = 0, L - 1 do
    local nin = l == 0 and m.input_size or D * H
    local tag = L > 1 and ("layer " .. l .. ": ") or ""
    lines[#lines + 1] = ("%sparams = %s%d gate blocks (%s) of %d·(%d + %d) + %d·%d = %s each: %s"):format(tag,
      D == 2 and "2 directions · " or "", G, e.gates, H, nin, H, nb, H, group(H * (nin + H) + nb * H),
      group(D * G * (H * (nin + H) + nb * H)))
    lines[#lines + 1] = ("%sinput MACs = T·N%s · %d·%d·%d = %d·%d%s · %s = %s"):format(tag, D == 2 and "·2" or "", G, H,
      nin, T, N, D == 2 and "·2" or "", group(G * H * nin), group(T * N * D * G * H * nin))
    lines[#lines + 1] = ("%srecurrent MACs = T·N%s · %d·%d·%d = %s"):format(tag, D == 2 and "·2" or "", G, H, H,
      group(T * N * D * G * H * H))
    lines[#lines + 1] = ("%sactivations = T·N%s · %d·%d (%s) = %s"):format(tag, D == 2 and "·2" or "", e.acts, H, e.what,
      group(T * N * D * e.acts * H))
  end
  lines[#lines + 1] = "total params = " .. group(r.params) .. ", MACs = " .. group(r.macs)
  return lines
end

-- What the usual counters report for the same layer, each by its own rules
-- (read from their sources):
--   fvcore: no handler for aten::lstm / gru / rnn_tanh (nor the _cell ops): 0
--   torchinfo (layer_info.py calculate_macs): every weight_*/bias_*
--     parameter x the product of the output's first two sizes: params x T x N
--     for a batch, but T x D·h for one sequence {T, in} and N x h for a cell
--     (its rule taken literally)
--   thop (rnn_hooks.py): per step and sample gates·((in+h)·h + h) + 2·gates·h
--     with bias, + 4h elementwise for LSTM and GRU; x T x N, x 2 directions
--   ptflops (pytorch_ops.py rnn_flops): per step and sample the weights'
--     sizes (gates·h·in + gates·h·h) + h (RNN), 7h (GRU), 10h (LSTM), + the
--     two biases; x input.shape[0] x input.shape[1] (T x N whatever the
--     layout; a cell: x input.shape[0]), x 2 when bidirectional
--   DeepSpeed's flops profiler (profiler.py _rnn_flops, current form): as
--     ptflops but each product counted 2·rows·cols − rows (multiplications
--     and the additions within a row)
--   FlopCounterMode: 2 x the matrix products' MACs (the CPU kernel is
--     decomposed into addmm / mm, which it counts); torchscan: no rule, 0
function M.counters(m, s, T, N)
  local G, H, kind = m.gates, m.hidden_size, m.kind
  local L, D = m.num_layers or 1, m.directions or 1
  local bias = m.bias_mode ~= false
  local params, thop, pt, ds, mm = 0, 0, 0, 0, 0
  local extra = ({ RNN = H, GRU = 7 * H, LSTM = 10 * H })[kind]
  for l = 0, L - 1 do
    local nin = l == 0 and m.input_size or D * H
    params = params + D * (G * H * (nin + H) + (m.bias_mode == "single" and 1 or (bias and 2 or 0)) * G * H)
    thop = thop + D * (G * ((nin + H) * H + H + (bias and 2 * H or 0)) + (kind == "RNN" and 0 or 4 * H))
    pt = pt + G * H * nin + G * H * H + extra + (bias and 2 * G * H or 0)
    ds = ds + (2 * G * H * nin - G * H) + (2 * G * H * H - G * H) + extra + (bias and 2 * G * H or 0)
    mm = mm + D * G * H * (nin + H)
  end
  local lead = m.cell and (s[1] or 1) or (s[1] or 1) * (s[2] or 1)   -- ptflops' shape[0] x shape[1]
  local out = m:out_shape(s)
  return { fvcore = 0, torchinfo = params * out[1] * (out[2] or 1), thop = thop * T * N, ptflops = pt * lead * D, deepspeed = ds * lead * D,
    flop_counter = 2 * mm * T * N, torchscan = 0 }
end

return M
