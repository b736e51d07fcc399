-- attention_trace.lua — attn(x, {trace=true}): multi-head attention on the
-- student's own input, one head at a time, as a homework sheet writes it:
-- Q, K, V of the head, the scores Q·Kᵀ/sqrt(d_head), the mask, the softmax
-- rows, the weighted sum of the values, and the head's share of the output
-- (its columns of the output projection), whose sum plus the bias is y.
-- The returned y keeps the graph, so y:backward{trace=true} names Q, K, V,
-- scores, weights and heads.
local M = {}

local function show(label, t)
  io.write("  ", label, "\n")
  local text = t:detach():format{ threshold = 64, edgeitems = 3 }
  for line in text:gmatch("[^\n]+") do
    if not line:match("^%[tensor") then io.write("      ", line, "\n") end
  end
end

function M.run(m, x, mask)
  local single = x:dim() == 2
  if not single and not m.batch_first then x = x:transpose(1, 2) end
  local x3 = single and x:unsqueeze(1) or x
  local ok, msg = pcall(m.out_shape, m, x3:shape())
  if not ok then error(msg, 0) end
  local y, rec = m:attend(x3, mask)
  local H, G, dh, T = m.num_heads, m.kv_heads, m.head_dim, x3:size(2)
  io.write(("MultiheadAttention: d = %d, %d head%s of d_head = %d%s; T = %d%s\n"):format(m.embed_dim, H,
    H == 1 and "" or "s", dh, G ~= H and (", %d K/V heads (each shared by %d query heads)"):format(G, H // G) or "",
    T, single and "" or " (the first sample of the batch)"))
  local Wo = m.out_proj.weight:detach()
  for h = 1, H do
    local g = (h - 1) // (H // G) + 1
    io.write(("head %d%s\n"):format(h, G ~= H and (" (K, V of kv head %d)"):format(g) or ""))
    show("Q = x·W_Qᵀ + b_Q (this head's columns)", rec.Q[1][h])
    show("K", rec.K[1][g])
    show("V", rec.V[1][g])
    show(("scores = Q·Kᵀ / sqrt(%d)"):format(dh), rec.scores[h])
    if rec.mask ~= nil then
      local mk = rec.mask
      if mk:dim() == 3 then mk = mk[h] end
      show("mask (added: 0 keeps, -inf removes)", mk)
    end
    show("weights = softmax(scores + mask) over each row (each row sums to 1)", rec.weights[h])
    local o = rec.heads[h]
    show("head output = weights·V (each row a weighted mean of V's rows)", o)
    show(("its share of y = head·W_O[:, %d..%d]ᵀ"):format((h - 1) * dh + 1, h * dh),
      o:detach() * Wo:narrow(2, (h - 1) * dh + 1, dh):t())
  end
  local out = single and y:squeeze(1) or y
  show("y = Σ shares" .. (m.has_bias and " + b_O" or ""), single and out or out[1])
  if not single and not m.batch_first then out = out:transpose(1, 2) end
  return out
end

return M
