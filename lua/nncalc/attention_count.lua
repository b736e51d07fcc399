-- attention_count.lua — what one multi-head attention forward costs, as
-- the matmuls a course lists (qkv projection, scores Q·Kᵀ, attention×V,
-- output projection) plus the softmax between them; the formulas with the
-- numbers (explain); and what the common counters report for the same
-- module, each by its own rules (read from their sources):
--   fvcore       MACs of linear/matmul/bmm; scaled_dot_product_attention
--                is an unsupported op (skipped with a warning: 0)
--   thop ≤2.1.2  nn.MultiheadAttention reads its weights functionally, so
--                no hook fires: 0.  thop ≥2.1.3 (PR #157, July 2026):
--                batch·(4·T·d² + 2·T²·d) + softmax rows·(3T − 1), no bias
--   torchinfo    "Mult-Adds" = parameters × N·T (in_proj), nothing for the
--                products (no parameters); out_proj is never called: 0
--   ptflops      T·d (Q scaling) + 3·T·d² (+3·T·d bias) + heads·(2·T²·dh +
--                T²) + T·d·(d+1), times the batch
--   DeepSpeed    FLOPs: 2·MACs of F.linear (bias ignored), 2·MACs of
--                matmul/bmm and of scaled_dot_product_attention, softmax
--                numel
--   FlopCounterMode  2·MACs of mm/addmm/bmm; its SDPA formula 2·(QKᵀ + AV
--                MACs) is registered for the CUDA kernels only, so on CPU
--                (aten::_scaled_dot_product_flash_attention_for_cpu) the
--                products count 0 (pytorch#195460, fixed by #195801)
local M = {}

local function shape_parts(m, s)
  local N = #s == 3 and s[m.batch_first and 1 or 2] or 1
  local T = s[(#s == 3 and not m.batch_first) and 1 or #s - 1]
  local d, H, G, dh = m.embed_dim, m.num_heads, m.kv_heads, m.head_dim
  -- score entries computed per head: the full T x T (as PyTorch's kernels
  -- compute it, then mask), or only the kept T(T+1)/2 under causal_count="kept"
  local pairs = (m.causal and m.causal_count == "kept") and T * (T + 1) // 2 or T * T
  return N, T, d, H, G, dh, pairs
end

-- cost(shape): the contract's counts, with parts that sum to them.
function M.cost(m, s)
  local N, T, d, H, G, dh, pairs = shape_parts(m, s)
  local rows, kvd = N * T, G * dh
  local qkv_out = d + 2 * kvd
  local b = m.has_bias
  local qkv = { name = "qkv projection", macs = rows * d * qkv_out, mults = rows * d * qkv_out,
    adds = rows * qkv_out * (d - 1), bias_adds = m.qkv_bias and rows * qkv_out or 0 }
  local nh = N * H
  local scores = { name = "scores Q·Kᵀ", kind = "attention", macs = nh * pairs * dh, mults = nh * pairs * dh, adds = nh * pairs * (dh - 1) }
  -- ÷sqrt(dh) per score, e^(s − max) per score, the row max subtracted,
  -- T−1 adds per row sum (over the kept entries), one division per score
  local kept_rows = pairs - T   -- adds summing each row: (entries in the row) − 1
  local soft = { name = "scale + softmax", mults = 2 * nh * pairs, adds = nh * pairs + nh * kept_rows,
    acts = nh * pairs, macs = 0 }
  local av = { name = "attention×V", kind = "attention", macs = nh * pairs * dh, mults = nh * pairs * dh, adds = nh * kept_rows * dh }
  local out = { name = "output projection", macs = rows * d * d, mults = rows * d * d, adds = rows * d * (d - 1),
    bias_adds = b and rows * d or 0 }
  local parts = { qkv, scores, soft, av, out }
  local c = { weights = d * qkv_out + d * d, biases = (m.qkv_bias and qkv_out or 0) + (b and d or 0), parts = parts,
    saved = rows * d + rows * qkv_out + nh * T * T + rows * d }
  for _, k in ipairs({ "macs", "mults", "adds", "bias_adds", "acts" }) do
    local t = 0
    for _, p in ipairs(parts) do t = t + (p[k] or 0) end
    c[k] = t
  end
  c.conns = c.macs
  -- dx through both projections, dQ dK dV through the products, the softmax
  c.bwd_input = qkv.macs + out.macs + 2 * scores.macs + 2 * av.macs + 2 * nh * pairs
  c.bwd_weight = qkv.macs + out.macs
  -- which count a causal layer prints (without a mask there is only one)
  if m.causal then
    c.note = m.causal_count == "kept"
      and ("attention: only the T(T+1)/2 = %d unmasked scores per head are counted (causal_count=\"kept\")"):format(pairs)
      or ("attention: all T·T = %d scores per head are counted, the masked ones too, as the kernels compute them"
        .. ' (causal_count="kept" counts T(T+1)/2)'):format(T * T)
  end
  return c
end

local function g(n)
  local s = tostring(math.tointeger(n) or n)
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^(-?),", "%1"))
end

-- explain(shape): each part's formula with the numbers filled in.
function M.explain(m, s)
  local N, T, d, H, G, dh, pairs = shape_parts(m, s)
  local c = M.cost(m, s)
  local p = c.parts
  local kvd = G * dh
  local nt = N == 1 and ("T = %d"):format(T) or ("N·T = %d·%d"):format(N, T)
  local pr = pairs == T * T and "T²" or "T(T+1)/2"
  local L = {
    ("d = %d, heads H = %d, d_head = d/H = %d%s"):format(d, H, dh,
      G ~= H and (", kv_heads = %d (K, V have %d = kv_heads·d_head columns)"):format(G, kvd) or ""),
    ("params = d·(d + 2·%d) + d·d%s%s = %s"):format(kvd, m.qkv_bias and (" + (d + 2·%d)"):format(kvd) or "",
      m.has_bias and " + d" or "",
      g(c.weights + c.biases)),
    ("qkv projection: %s rows · d · (d + 2·%d) = %s MACs"):format(nt, kvd, g(p[1].macs)),
    ("scores Q·Kᵀ: N·H·%s·d_head = %d·%d·%s·%d = %s MACs"):format(pr, N, H, g(pairs), dh, g(p[2].macs)),
    ("  (= N·%s·d: the number of heads cancels, H·d_head = d)"):format(pr),
    ("softmax: %s exponentials (one per score), %s mults (÷sqrt(d_head), ÷row sum)"):format(g(p[3].acts), g(p[3].mults)),
    ("attention×V: N·H·%s·d_head = %s MACs"):format(pr, g(p[4].macs)),
    ("output projection: %s rows · d · d = %s MACs"):format(nt, g(p[5].macs)),
    ("FLOPs (2·MACs): %s"):format(g(2 * c.macs)),
  }
  return L
end

-- compare(shape): this module's count under each tool's rules.
function M.compare(m, s)
  local N, T, d, H, _, dh = shape_parts(m, s)
  local c = M.cost(m, s)
  local p = c.parts
  local full = N * H * T * T * dh   -- the tools all count the full T x T
  local proj = p[1].macs + p[5].macs
  local nparams_in = c.weights - d * d + (c.biases - (m.has_bias and d or 0))
  return {
    fvcore = proj + 2 * full, fvcore_sdpa = proj,
    thop_old = 0, thop = N * (4 * T * d * d + 2 * T * T * d) + N * H * T * (3 * T - 1),
    torchinfo = nparams_in * N * T,
    ptflops = N * (T * d + 3 * T * d * d + (m.qkv_bias and 3 * T * d or 0) + H * (2 * T * T * dh + T * T) + T * d * (d + 1)),
    deepspeed = 2 * proj + 4 * full, deepspeed_bmm = 2 * proj + 4 * full + N * H * T * T,
    flop_counter_cpu = 2 * proj, flop_counter = 2 * proj + 4 * full,
  }
end

return M
