-- test_transformer.lua — attention, norms, transformer blocks and models:
-- forward values against references computed here independently (by hand,
-- closed forms, a plain-Lua attention loop), gradcheck for every layer,
-- and the published parameter and FLOP counts (cited where asserted).

-- outputs of modules hold a graph: compare their values
local function tensor_eq(t, ...) return _G.tensor_eq(t:detach(), ...) end

local function gc(what, f, inputs)
  local ok, msg = gradcheck(f, inputs, { quiet = true })
  if not ok then error(what .. ": " .. msg, 2) end
end

test("activations: values by hand", function()
  -- Φ(1) = 0.8413447460685429 (normal CDF tables), so GELU(1) = Φ(1)
  local t = nn.GELU{ approximate = "tanh" }(tensor{ -1, 0, 1 })
  local c = math.sqrt(2 / math.pi)
  near(t[3], 0.5 * (1 + math.tanh(c * 1.044715)), 1e-15, "tanh GELU(1)")
  near(t[3], 0.8413447460685429, 3e-4, "tanh GELU(1) close to Φ(1)")
  near(t[1], -1 + t[3], 1e-15, "GELU(−x) = GELU(x) − x")
  local s = nn.SiLU()(tensor{ 1, -2 })
  near(s[1], 1 / (1 + math.exp(-1)), 1e-15, "silu(1)")
  near(s[2], -2 / (1 + math.exp(2)), 1e-15, "silu(-2)")
  tensor_eq(nn.ELU()(tensor{ -1, 0, 2 }), { math.exp(-1) - 1, 0, 2 }, 1e-15)
  tensor_eq(nn.ELU(0.5)(tensor{ -2 }), { 0.5 * (math.exp(-2) - 1) }, 1e-15)
  -- ELU's derivative at 0 is alpha (x > 0 ? 1 : alpha·eˣ), as PyTorch
  local z = tensor{ 0 }:requires_grad()
  elu(z, 0.5):sum():backward()
  eq(z.grad[1], 0.5, "elu'(0) = alpha")
  tensor_eq(nn.ReLU6()(tensor{ -1, 3, 6, 7 }), { 0, 3, 6, 6 })
  expect_error(function() nn.GELU{ approximate = "fast" } end, "GELU", "approximate")
  -- the C ops: erf(0.5) = 0.5204998778130465 (Abramowitz & Stegun table 7.1)
  near(erf(0.5), 0.5204998778130465, 1e-15, "erf(0.5)")
  near(nn.GELU()(tensor{ 1 })[1], 0.8413447460685429, 1e-15, "exact GELU(1) = Φ(1)")
  near(gelu(-1), -1 + 0.8413447460685429, 1e-15, "GELU(−1)")
  near(gelu(1, { approximate = "tanh" }), gelu_tanh(1), 0, "gelu{tanh} is gelu_tanh")
  expect_error(function() gelu(tensor{ 1 }, { approximate = "x" }) end, "gelu", "approximate")
  gc("gelu exact", function(x) return (gelu(x) ^ 2):sum() end, { tensor{ -2, -0.5, 0.3, 1.7 } })
end)

test("LayerNorm, RMSNorm, GroupNorm: values by hand", function()
  -- (1, 2, 3): mean 2, biased variance 2/3
  local y = nn.LayerNorm(3)(tensor{ { 1, 2, 3 } })
  local k = 1 / math.sqrt(2 / 3 + 1e-5)
  tensor_eq(y, { { -k, 0, k } }, 1e-14)
  -- (3, 4): mean square 12.5
  local r = nn.RMSNorm(2)(tensor{ 3, 4 })
  tensor_eq(r, { 3 / math.sqrt(12.5 + 2 ^ -52), 4 / math.sqrt(12.5 + 2 ^ -52) }, 1e-14)
  -- two groups of two channels, one value each: (1, 3) and (5, 9)
  local g = nn.GroupNorm(2, 4, { eps = 0 })(tensor{ { { 1 }, { 3 }, { 5 }, { 9 } } })
  tensor_eq(g, { { { -1 }, { 1 }, { -1 }, { 1 } } }, 1e-14)
  local ln = nn.LayerNorm({ 2, 2 }, { bias = false })
  eq(#ln:parameters(), 1, "bias=false keeps only the weight")
  tensor_eq(ln(tensor{ { 0, 2 }, { 4, 6 } }), { { -3 / math.sqrt(5 + 1e-5), -1 / math.sqrt(5 + 1e-5) },
    { 1 / math.sqrt(5 + 1e-5), 3 / math.sqrt(5 + 1e-5) } }, 1e-14)
  expect_error(function() nn.GroupNorm(3, 4) end, "GroupNorm", "not divisible")
  expect_error(function() nn.LayerNorm(4)(zeros(2, 3)) end, "LayerNorm", "does not end in {4}")
end)

-- Plain-Lua attention, one query position at a time: the reference.
local function reference(m, x, mask)
  local d, H, G, dh = m.embed_dim, m.num_heads, m.kv_heads, m.head_dim
  local W = m.in_proj_weight:detach():totable()
  local b = m.qkv_bias and m.in_proj_bias:detach():totable() or nil
  local Wo, bo = m.out_proj.weight:detach():totable(), m.has_bias and m.out_proj.bias:detach():totable()
  local X = x:totable()
  local T = #X
  local function proj(t, row)
    local s = b and b[row] or 0
    for j = 1, d do s = s + W[row][j] * X[t][j] end
    return s
  end
  local out = {}
  for t = 1, T do
    local concat = {}
    for h = 1, H do
      local g = (h - 1) // (H // G)   -- the K/V head this query head reads
      local scores, mx = {}, -math.huge
      for u = 1, T do
        local s = 0
        for i = 1, dh do s = s + proj(t, (h - 1) * dh + i) * proj(u, d + g * dh + i) end
        s = s / math.sqrt(dh) + (mask and mask[t][u] or 0)
        if m.causal and u > t then s = -math.huge end
        scores[u] = s
        if s > mx then mx = s end
      end
      local z = 0
      for u = 1, T do scores[u] = math.exp(scores[u] - mx); z = z + scores[u] end
      for i = 1, dh do
        local v = 0
        for u = 1, T do v = v + scores[u] / z * proj(u, d + G * dh + g * dh + i) end
        concat[#concat + 1] = v
      end
    end
    out[t] = {}
    for i = 1, d do
      local s = bo and bo[i] or 0
      for j = 1, d do s = s + Wo[i][j] * concat[j] end
      out[t][i] = s
    end
  end
  return out
end

test("MultiheadAttention matches a plain-Lua loop: heads, GQA, MQA, causal, mask, batch", function()
  seed(3)
  local x = randn(4, 6)
  for _, o in ipairs({ { 2 }, { 3, { causal = true } }, { 6, { kv_heads = 3 } }, { 6, { kv_heads = 1, causal = true } },
      { 2, { bias = false } } }) do
    local m = nn.MultiheadAttention(6, o[1], o[2])
    tensor_eq(m(x), reference(m, x), 1e-12, "heads " .. o[1])
  end
  local m = nn.MultiheadAttention(6, 2)
  local mask = tensor{ { 0, -math.huge, 0, 0 }, { 0, 0, 0, -1 }, { 0, 0, 0, 0 }, { -math.huge, 0, 0, 0 } }
  tensor_eq(m(x, { mask = mask }), reference(m, x, mask:totable()), 1e-12, "additive mask")
  -- a batch is each sample on its own
  local xb = randn(2, 4, 6)
  local yb = m(xb)
  tensor_eq(yb:select(1, 1), reference(m, xb:select(1, 1)), 1e-12, "batch sample 1")
  tensor_eq(yb:select(1, 2), reference(m, xb:select(1, 2)), 1e-12, "batch sample 2")
  -- batch_first=false: PyTorch's default T x N x d layout, same numbers
  local mt = nn.MultiheadAttention(6, 2, { batch_first = false })
  mt.in_proj_weight:detach():copy(m.in_proj_weight:detach())
  mt.out_proj.weight:detach():copy(m.out_proj.weight:detach())
  mt.out_proj.bias:detach():copy(m.out_proj.bias:detach())
  tensor_eq(mt(xb:transpose(1, 2)):transpose(1, 2), yb:detach():totable(), 1e-14, "T x N x d")
  eq(mt:cost({ 4, 2, 6 }).macs, m:cost({ 2, 4, 6 }).macs, "T x N x d counted as N x T x d")
  -- separate projections compute the same function
  local s = nn.MultiheadAttention(6, 3, { qkv = "separate", kv_heads = 3 })
  local ys = s(x)
  local q, k, v = s.q_proj(x), s.k_proj(x), s.v_proj(x)
  local o1 = softmax(q:narrow(2, 1, 2) * k:narrow(2, 1, 2):t() / math.sqrt(2), 2) * v:narrow(2, 1, 2)
  local o2 = softmax(q:narrow(2, 3, 2) * k:narrow(2, 3, 2):t() / math.sqrt(2), 2) * v:narrow(2, 3, 2)
  local o3 = softmax(q:narrow(2, 5, 2) * k:narrow(2, 5, 2):t() / math.sqrt(2), 2) * v:narrow(2, 5, 2)
  tensor_eq(ys, s.out_proj(cat({ o1, o2, o3 }, 2)):totable(), 1e-12, "separate")
end)

test("attention by hand: one head, identity projections, 2 tokens", function()
  local m = nn.MultiheadAttention(2, 1, { bias = false })
  m.in_proj_weight:detach():copy(cat({ eye(2), eye(2), eye(2) }, 1))
  m.out_proj.weight:detach():copy(eye(2))
  -- Q = K = V = x = I: scores I/√2, softmax rows (e^a, 1)/(e^a + 1), a = 1/√2
  local a = 1 / math.sqrt(2)
  local p = math.exp(a) / (math.exp(a) + 1)
  tensor_eq(m(eye(2)), { { p, 1 - p }, { 1 - p, p } }, 1e-14)
  m.causal = true   -- the first token sees only itself
  tensor_eq(m(eye(2)), { { 1, 0 }, { 1 - p, p } }, 1e-14)
end)

test("gradcheck: norms, attention (masks, GQA, rope), blocks", function()
  seed(7)
  local x = randn(3, 4)
  for _, m in ipairs({ nn.LayerNorm(4), nn.RMSNorm(4), nn.SiLU(), nn.ELU(), nn.GELU{ approximate = "tanh" } }) do
    gc(m.class_name, function(x) return (m(x) ^ 2):cmul(x):sum() end, { x })
  end
  local gn = nn.GroupNorm(2, 4)
  gc("GroupNorm", function(x, w) return (gn(x) ^ 2):cmul(x):sum() + w:sum() end, { randn(2, 4, 3), randn(1) })
  for _, o in ipairs({ {}, { causal = true }, { kv_heads = 1 }, { kv_heads = 2, qkv = "separate" }, { rope = true } }) do
    local m = nn.MultiheadAttention(4, 2, o)
    gc("attention", function(x) return (m(x) ^ 2):sum() end, { x })
    if not o.qkv then
      gc("attention weights", function(w) rawset(m, "in_proj_weight", w); return (m(x) ^ 2):sum() end,
        { m.in_proj_weight:detach() })
    end
  end
  local m = nn.MultiheadAttention(4, 2)
  local mask = tensor{ { 0, -math.huge, 0 }, { 0, 0, -2 }, { 0, 0, 0 } }
  gc("attention with a mask", function(x) return (m(x, { mask = mask }) ^ 2):sum() end, { x })
  for _, o in ipairs({ { d = 4, heads = 2 }, { d = 4, heads = 2, norm = "rms", mlp = "swiglu", kv_heads = 1 },
      { d = 4, heads = 1, pre_norm = false, causal = false } }) do
    local b = nn.TransformerBlock(o)
    gc("block", function(x) return (b(x) ^ 2):sum() end, { randn(2, 3, 4) })
  end
end)

test("positions: sinusoidal table and rotary relative property", function()
  local pe = nn.sinusoidal(3, 4)
  -- PE[p, 2i] = sin(p/10000^(2i/d)), PE[p, 2i+1] = cos(...): p = 2, i = 1 → 2/100
  tensor_eq(pe[3], { math.sin(2), math.cos(2), math.sin(0.02), math.cos(0.02) }, 1e-15)
  -- RoPE: the score between positions depends only on their distance
  seed(2)
  local q, k = randn(1, 4), randn(1, 4)
  local function at(v, p) return nn.rope(cat({ zeros(p, 4), v }, 1)):narrow(1, p + 1, 1) end
  local s1 = (at(q, 3) * at(k, 1):t())[{ 1, 1 }]
  local s2 = (at(q, 5) * at(k, 3):t())[{ 1, 1 }]
  near(s1, s2, 1e-12, "RoPE q·k at distance 2")
  tensor_eq(nn.rope(q), q:totable(), 1e-15, "position 0 is not rotated")
end)

-- Published parameter counts, each verified by its formula here:
--   GPT-2: HF model cards / nanoGPT README ("gpt2 124M") and nanoGPT
--   model.py (bias=False: 124,337,664 in its transformer_sizing notebook);
--   BERT: HF bert-base-uncased BertModel 109,482,240 (with the pooler),
--   bert-large-uncased 335,141,888; ViT: torchvision's vit_b_16/b_32/l_16/
--   l_32 docs, num_params and GFLOPS.  The HF model cards round GPT-2 to
--   124M, 355M, 774M and 1.5B, the exact counts follow from the formula.
test("model parameter counts: GPT-2, BERT, ViT", function()
  local function params(m) return summary(m, m.config.kind == "vit" and { 3, 224, 224 } or { 8 }, { quiet = true }).total.params end
  local function gpt(d, L, V, C, bias)   -- wte + wpe + L·(ln, qkv, proj, ln, fc, proj) + ln_f
    local block = 2 * d + (3 * d * d + 3 * d) + (d * d + d) + 2 * d + (4 * d * d + 4 * d) + (4 * d * d + d)
    if not bias then block = 2 * d + 12 * d * d end
    return V * d + C * d + L * block + (bias and 2 * d or d)
  end
  eq(gpt(768, 12, 50257, 1024, true), 124439808, "formula")
  eq(params(models.gpt2()), 124439808, "GPT-2 small")
  eq(params(models.gpt2{ bias = false }), 124337664, "GPT-2 small bias-free (nanoGPT)")
  eq(params(models.gpt2{ bias = false }), gpt(768, 12, 50257, 1024, false), "bias-free formula")
  eq(params(models.gpt2{ size = "medium" }), 354823168, "GPT-2 medium")
  eq(params(models.gpt2{ size = "large" }), 774030080, "GPT-2 large")
  eq(params(models.gpt2{ size = "xl" }), 1557611200, "GPT-2 xl")
  eq(params(models.gpt2{ size = "medium" }), gpt(1024, 24, 50257, 1024, true), "medium formula")
  local pc = models.param_counts(models.gpt2())
  eq(pc[6][2], 124439808 - 1024 * 768, "non-embedding (nanoGPT get_num_params)")
  eq(pc[3][2], 124439808 + 50257 * 768, "untied head")
  eq(pc[5][2], 124439808 + 47 * 768, "vocab padded to 50,304")
  eq(pc[8][2], 12 * 12 * 768 * 768, "Kaplan 12·L·d²")
  eq(params(models.gpt2{ tied = false }), 124439808 + 50257 * 768, "untied model")
  -- BERT: embeddings (V + 512 + 2)·d + LN, 12 post-norm layers, pooler d² + d
  local d = 768
  local bert = (30522 + 512 + 2) * d + 2 * d + 12 * (4 * (d * d + d) + 2 * d + (4 * d * d + 4 * d) + (4 * d * d + d) + 2 * d) + d * d + d
  eq(bert, 109482240, "BERT-base formula")
  eq(params(models.bert()), 109482240, "BERT-base")
  eq(params(models.bert{ size = "large" }), 335141888, "BERT-large")
  eq(params(models.vit()), 86567656, "ViT-B/16")
  -- torchvision's model pages (pytorch.org/vision/stable/models/generated/
  -- torchvision.models.vit_*.html): num_params and GFLOPS (their GFLOPS are
  -- multiply-adds, attention products included)
  for _, v in ipairs({ { "b16", 86567656, 17.56 }, { "b32", 88224232, 4.41 }, { "l16", 304326632, 61.55 },
      { "l32", 306535400, 15.38 } }) do
    local s = summary(models.vit{ size = v[1] }, { 3, 224, 224 }, { quiet = true })
    eq(s.total.params, v[2], "ViT-" .. v[1] .. " num_params")
    near(s.total.macs / 1e9, v[3], 0.005 / v[3], "ViT-" .. v[1] .. " GFLOPS")
  end
  expect_error(function() models.gpt2{ size = "huge" } end, "models.gpt2", "size")
  -- Karpathy's lecture GPT ("Let's build GPT: from scratch, in code, spelled
  -- out", 2023; its gpt.py prints "10.788929 M parameters"): 6 blocks of
  -- d = 384, bias-free key/query/value, ReLU MLP, an untied head with bias
  local lec = models.gpt{ d = 384, layers = 6, heads = 6, vocab = 65, context = 256, tied = false, head_bias = true,
    qkv_bias = false, mlp = "relu", dropout = 0.2 }
  local block = 3 * 384 * 384 + (384 * 384 + 384) + (384 * 1536 + 1536) + (1536 * 384 + 384) + 2 * 2 * 384
  eq(65 * 384 + 256 * 384 + 6 * block + 2 * 384 + (384 * 65 + 65), 10788929, "lecture GPT formula")
  eq(params(lec), 10788929, "lecture GPT")
  expect_error(function() models.gpt{ d = 8 } end, "models.gpt", "layers")
end)

test("nanoGPT's per-block FLOPs at T = 1024, d = 768 (transformer_sizing)", function()
  local b = models.gpt2().h[1]
  local c = b.attn:cost({ 1024, 768 })
  eq(2 * c.parts[1].macs, 2 * 1024 * 768 * 3 * 768, "kqv")
  eq(2 * c.parts[2].macs, 1610612736, "scores")
  eq(2 * c.parts[4].macs, 1610612736, "attention x V")
  eq(2 * c.parts[5].macs, 1207959552, "proj")
  eq(2 * (b.mlp[1]:cost({ 1024, 768 }).macs + b.mlp[3]:cost({ 1024, 3072 }).macs), 9663676416, "MLP")
  -- the parts sum to the row
  for _, k in ipairs({ "macs", "mults", "adds", "acts" }) do
    local t = 0
    for _, p in ipairs(c.parts) do t = t + (p[k] or 0) end
    eq(t, c[k], "parts sum " .. k)
  end
  -- the whole forward: 12 blocks + the LM head, 2·T·d·V
  local s = summary(models.gpt2(), { 1024 }, { flops = "2mac", quiet = true })
  eq(s.total.flops, 12 * (3623878656 + 2 * 1610612736 + 1207959552 + 9663676416) + 2 * 1024 * 768 * 50257, "forward total")
  -- the number of heads does not change the FLOPs at fixed d
  local c1 = nn.MultiheadAttention(768, 1):cost({ 1024, 768 })
  eq(c1.parts[2].macs, c.parts[2].macs, "1 head or 12")
  -- causal_count="kept": T(T+1)/2 scores per head
  local k = nn.MultiheadAttention(768, 12, { causal = true, causal_count = "kept" }):cost({ 1024, 768 })
  eq(k.parts[2].macs, 12 * (1024 * 1025 // 2) * 64, "kept scores")
  -- GQA: K and V projections shrink to kv_heads·d_head columns
  local gq = nn.MultiheadAttention(768, 12, { kv_heads = 4 }):cost({ 1024, 768 })
  eq(gq.parts[1].macs, 1024 * 768 * (768 + 2 * 4 * 64), "GQA qkv")
  eq(gq.weights, 768 * (768 + 512) + 768 * 768, "GQA weights")
end)

test("other counters' rules on one attention layer", function()
  -- T = 4, d = 6, 2 heads, batch 1: each tool's formula by hand
  local m = nn.MultiheadAttention(6, 2)
  local r = require("nncalc.attention_count").compare(m, { 4, 6 })
  eq(r.thop_old, 0, "thop before PR #157")
  eq(r.thop, 4 * 4 * 36 + 2 * 16 * 6 + 2 * 4 * (3 * 4 - 1), "thop after")
  eq(r.ptflops, 4 * 6 + 3 * 4 * 36 + 3 * 4 * 6 + 2 * (2 * 16 * 3 + 16) + 4 * 6 * 7, "ptflops")
  eq(r.flop_counter_cpu, 2 * (4 * 6 * 18 + 4 * 36), "FlopCounterMode CPU")
  eq(r.flop_counter, 2 * (4 * 6 * 18 + 4 * 36) + 4 * 2 * 16 * 3, "FlopCounterMode with SDPA")
end)

test("summary compare on GPT-2 small: thop before its fix sees only the MLP, LayerNorms and head", function()
  local s = summary(models.gpt2(), { 1024 }, { compare = true, quiet = true })
  local mlp, ln, head = 12 * 2 * 1024 * 768 * 3072, 25 * 4 * 1024 * 768, 1024 * 768 * 50257
  eq(s.compare.thop - s.compare.thop_attention, mlp + ln + head, "thop ≤ 2.1.2")
  -- FlopCounterMode on CUDA: 2·MACs of every matmul, attention products included
  eq(s.compare.flop_counter, 291648307200, "FlopCounterMode")
  eq(s.compare.flop_counter - s.compare.flop_counter_sdpa, 291648307200 - 12 * 2 * 1610612736, "FlopCounterMode CPU")
end)

test("errors name the layer and the shapes", function()
  expect_error(function() nn.MultiheadAttention(6, 4) end, "MultiheadAttention", "not divisible")
  expect_error(function() nn.MultiheadAttention(6, 3, { kv_heads = 2 }) end, "kv_heads 2")
  expect_error(function() nn.MultiheadAttention(6, 2)(zeros(3, 5)) end, "MultiheadAttention", "T x 6", "{3, 5}")
  expect_error(function() nn.MultiheadAttention(6, 2)(5) end, "MultiheadAttention", "expects a tensor", "got a number")
  expect_error(function() nn.MultiheadAttention(6, 2)(zeros(4, 6), { trace = true, mask = zeros(3, 3) }) end, "mask", "4 x 4")
  expect_error(function() nn.MultiheadAttention(6, 2)(zeros(3, 6), { mask = zeros(2, 2) }) end, "mask", "3 x 3")
  expect_error(function() nn.TransformerBlock{ d = 8, heads = 2, norm = "batch" } end, "TransformerBlock", "norm")
  expect_error(function() summary(models.gpt2(), { 2000 }) end, "T ≤ 1024")
  expect_error(function() models.gpt2{ context = 4 }(tensor{ 1, 2, 3, 4, 5 }) end, "T ≤ 4")
  expect_error(function() models.gpt2{ vocab = 10, context = 4 }(tensor{ 1, 11 }) end, "Embedding(10, 768)", "index 11", "from 1 to 10")
end)

test("a tiny GPT runs forward and backward; the tied head gets the embedding's gradient", function()
  seed(4)
  local g = models.gpt2{ vocab = 11, context = 5 }
  local y = g(tensor{ 1, 5, 7 })
  eq(table.concat(y:shape(), "x"), "3x11", "logits")
  y:sum():backward()
  eq(g.lm_head.weight, nil, "the tied head has no weight of its own")
  eq(g.embed.wte.weight.grad ~= nil, true, "wte receives the head's gradient")
end)

test("attention trace: one head at a time on a 3-token input, then the backward names", function()
  local m = nn.MultiheadAttention(2, 1, { bias = false, causal = true })
  m.in_proj_weight:detach():copy(cat({ eye(2), eye(2), eye(2) }, 1))
  m.out_proj.weight:detach():copy(eye(2))
  local y
  local out = capture(function() y = m(tensor{ { 1, 0 }, { 0, 1 }, { 1, 1 } }, { trace = true }) end)
  for _, want in ipairs({ "head 1", "scores = Q·Kᵀ / sqrt(2)", "mask (added", "-inf", "weights = softmax",
      "head output = weights·V", "its share of y", "y = Σ shares" }) do
    eq(out:find(want, 1, true) ~= nil, true, "trace shows " .. want)
  end
  -- row 2 sees tokens 1 and 2 with scores 0 and 1/√2: weights (1, e^a)/(1 + e^a)
  local a = 1 / math.sqrt(2)
  near(y[2][2]:item(), math.exp(a) / (1 + math.exp(a)), 1e-14, "traced output")
  local back = capture(function() y:sum():backward{ trace = true } end)
  for _, name in ipairs({ "weights = softmax", "scores = mul", "bmm(Q,", "transpose(K)", "bmm(weights, V)" }) do
    eq(back:find(name, 1, true) ~= nil, true, "backward names " .. name)
  end
end)

test("Dropout on sequences: T x d and N x T x d", function()
  seed(9)
  local d = nn.Dropout(0.5)
  local y = d(ones(4, 8))
  for i = 1, 4 do for j = 1, 8 do local v = y[i][j]; eq(v == 0 or v == 2, true, "kept values scaled by 2") end end
  eq(table.concat(d(ones(2, 3, 4)):shape(), "x"), "2x3x4", "batch of sequences")
  tensor_eq(d:eval()(ones(2, 3)), { { 1, 1, 1 }, { 1, 1, 1 } })
end)

test("summary{compare_params=true} lists every convention with its reason", function()
  local s
  local out = capture(function() s = summary(models.gpt2(), { 1024 }, { compare_params = true }) end)
  eq(s.param_conventions[4][2], 124337664, "without biases")
  for _, want in ipairs({ "tied head", "untied head", "163,037,184", "vocab padded to 50,304", "non-embedding (nanoGPT)",
      "123,653,376", "excluding the LM head" }) do
    eq(out:find(want, 1, true) ~= nil, true, "listed: " .. want)
  end
  expect_error(function() models.param_counts(models.vgg11()) end, "models.param_counts", "GPT")
end)

test("where, masked_fill, tril, triu: values by hand, gradients, errors", function()
  tensor_eq(where(tensor{ 1, 0, 2 }, tensor{ 1, 2, 3 }, tensor{ 10, 20, 30 }), { 1, 20, 3 })
  tensor_eq(where(tensor{ { 1 }, { 0 } }, 7, tensor{ 1, 2 }), { { 7, 7 }, { 1, 2 } }, 0, "broadcast")
  -- an unselected inf or NaN does not leak (a·c + b·(1−c) would give NaN)
  tensor_eq(where(tensor{ 1, 0 }, tensor{ 1, math.huge }, tensor{ 0 / 0, 2 }), { 1, 2 })
  tensor_eq(masked_fill(zeros(2, 2), eye(2), -1), { { -1, 0 }, { 0, -1 } })
  tensor_eq(tril(ones(3, 3)), { { 1, 0, 0 }, { 1, 1, 0 }, { 1, 1, 1 } })
  tensor_eq(triu(ones(2, 3), 1), { { 0, 1, 1 }, { 0, 0, 1 } })
  tensor_eq(tril(ones(2, 2, 2), -1), { { { 0, 0 }, { 1, 0 } }, { { 0, 0 }, { 1, 0 } } }, 0, "batched")
  tensor_eq(nn.causal_mask(2), { { 0, -math.huge }, { 0, 0 } })
  seed(8)
  gc("where", function(a, b) return (where(tensor{ { 1 }, { 0 } }, a, b) ^ 3):sum() end, { randn(2, 3), randn(3) })
  gc("masked_fill", function(x) return (x:masked_fill(eye(3), 2) ^ 2):sum() end, { randn(3, 3) })
  gc("tril", function(x) return (tril(x, 1) ^ 2):sum() end, { randn(2, 3, 4) })
  local ok = gradgradcheck(function(a) return (where(tensor{ 1, 0, 1 }, a, 0) ^ 3):sum() end, { randn(3) }, { quiet = true })
  eq(ok, true, "where twice differentiable")
  expect_error(function() where(tensor{ 1, 0 }, tensor{ 1, 2, 3 }, 0) end, "where: shapes 2 (condition), 3 and scalar do not broadcast")
  expect_error(function() tril(tensor{ 1, 2 }) end, "tril: a matrix (or a batch of them) expected, got 2")
  expect_error(function() masked_fill(zeros(2), zeros(2), "x") end, "masked_fill")
end)

test("batched matmul over any leading dims, with broadcasting", function()
  seed(6)
  local a, b = randn(2, 3, 4, 5), randn(2, 3, 5, 2)
  local c = a * b
  eq(table.concat(c:shape(), "x"), "2x3x4x2", "B x H x T x D * B x H x D x T")
  for i = 1, 2 do for h = 1, 3 do tensor_eq(c[i][h], (a[i][h] * b[i][h]):totable(), 1e-14) end end
  local w = randn(5, 2)
  local s = a * w   -- one matrix for every entry
  tensor_eq(s[2][1], (a[2][1] * w):totable(), 1e-14, "shared matrix")
  local k = randn(3, 5, 2)   -- broadcast over the leading batch dim
  tensor_eq((a * k)[2][3], (a[2][3] * k[3]):totable(), 1e-14, "broadcast batch")
  gc("4-D matmul", function(x, y) return ((x * y) ^ 2):sum() end, { randn(2, 1, 2, 3), randn(3, 3, 2) })
end)

test("summary{explain=true} prints the attention formulas with GPT-2's numbers", function()
  local out = capture(function() summary(models.gpt2(), { 1024 }, { explain = true, columns = { "params" } }) end)
  for _, want in ipairs({ "scores Q·Kᵀ: N·H·T²·d_head = 1·12·1,048,576·64 = 805,306,368 MACs",
      "qkv projection: T = 1024 rows · d · (d + 2·768) = 1,811,939,328 MACs",
      "the number of heads cancels", "params = 0 here: W is embed.wte (tied)",
      "norm evaluations (square roots) = 1,024, one per row" }) do
    eq(out:find(want, 1, true) ~= nil, true, "explains " .. want)
  end
  -- 805,306,368 = 1024² · 768 (by hand)
  eq(1024 * 1024 * 768, 805306368, "scores MACs")
end)
