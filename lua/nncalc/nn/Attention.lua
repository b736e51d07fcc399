-- nn/Attention.lua — multi-head self-attention with PyTorch's math:
--     Q = x W_qᵀ + b_q   K = x W_kᵀ + b_k   V = x W_vᵀ + b_v
--     head h:  O_h = softmax(Q_h K_hᵀ / sqrt(d_head) + mask) V_h
--     y = concat(O_1 ... O_H) W_oᵀ + b_o
-- on a sequence T x d or a batch N x T x d (batch first; batch_first=false
-- takes T x N x d, PyTorch's default).  kv_heads < heads
-- shares each K/V head among heads/kv_heads query heads (GQA; 1 is MQA),
-- query head h reading K/V head ⌈h·kv_heads/heads⌉ as PyTorch's enable_gqa.
local Module = require("nncalc.nn.Module")
local Linear = require("nncalc.nn.Linear")
local M = {}

local MHA = Module.class("MultiheadAttention")

local function positive(what, v) return Module.whole("MultiheadAttention", what, v, 3) end

-- nn.MultiheadAttention(d, heads [, {bias=true, causal=false, kv_heads=heads,
--   qkv="fused"|"separate", rope=false, causal_count="full"|"kept", qkv_bias=bias,
--   batch_first=true}])
-- PyTorch's positional order: (embed_dim, num_heads, dropout, bias,
-- add_bias_kv, add_zero_attn, kdim, vdim, batch_first); nncalc's default is
-- batch-first (N x T x C), without dropout, extra k/v rows or other k/v sizes
function MHA:init(d, heads, ...)
  local o = Module.only_default("MultiheadAttention", Module.settings("MultiheadAttention",
    { "dropout", "bias", "add_bias_kv", "add_zero_attn", "kdim", "vdim", "batch_first" },
    { "nn.MultiheadAttention(64, 8, 0.0, true)", "nn.MultiheadAttention(64, 8, {bias = true})" }, ...),
    { dropout = 0, add_bias_kv = false, add_zero_attn = false })
  for _, k in ipairs({ "kdim", "vdim" }) do
    if o[k] ~= nil and o[k] ~= d then
      error(("MultiheadAttention: %s=%s is not supported (keys and values have embed_dim %d)"):format(k, tostring(o[k]), d), 3)
    end
    o[k] = nil
  end
  d = positive("embed_dim", d)
  heads = positive("num_heads", heads)
  if d % heads ~= 0 then
    error(("MultiheadAttention: embed_dim %d is not divisible by num_heads %d"):format(d, heads), 3)
  end
  local kv = o.kv_heads or heads
  kv = positive("kv_heads", kv)
  if heads % kv ~= 0 then
    error(("MultiheadAttention: num_heads %d is not a multiple of kv_heads %d"):format(heads, kv), 3)
  end
  local qkv = o.qkv or "fused"
  if qkv ~= "fused" and qkv ~= "separate" then
    error(('MultiheadAttention: qkv must be "fused" or "separate", got %s'):format(tostring(qkv)), 3)
  end
  local cc = o.causal_count or "full"
  if cc ~= "full" and cc ~= "kept" then
    error(('MultiheadAttention: causal_count must be "full" or "kept", got %s'):format(tostring(cc)), 3)
  end
  self.embed_dim, self.num_heads, self.kv_heads, self.head_dim = d, heads, kv, d // heads
  self.has_bias, self.causal, self.qkv, self.rope = o.bias ~= false, o.causal == true, qkv, o.rope == true
  self.causal_count = cc
  -- qkv_bias=false with bias=true: biases on the output projection only
  -- (Karpathy's lecture GPT)
  -- batch_first=false takes PyTorch's default layout T x N x d
  self.batch_first = o.batch_first ~= false
  self.qkv_bias = self.has_bias
  if o.qkv_bias ~= nil then self.qkv_bias = o.qkv_bias == true end
  local kvd = kv * self.head_dim
  if qkv == "fused" then
    -- PyTorch: in_proj_weight xavier-uniform, in_proj_bias zeros
    self:param("in_proj_weight", { d + 2 * kvd, d }, math.sqrt(6 / (d + d + 2 * kvd)))
    if self.qkv_bias then self:param("in_proj_bias", { d + 2 * kvd }, "zeros") end
  else
    self.q_proj = Linear(d, d, { bias = self.qkv_bias })
    self.k_proj = Linear(d, kvd, { bias = self.qkv_bias })
    self.v_proj = Linear(d, kvd, { bias = self.qkv_bias })
  end
  self.out_proj = Linear(d, d, { bias = self.has_bias })
end

-- The additive causal mask: 0 on and below the diagonal, −∞ above it.
function M.causal_mask(tq, tk)
  tk = tk or tq
  return masked_fill(zeros(tq, tk), triu(ones(tq, tk), 1 + tk - tq), -math.huge)
end

local function projections(self, x)
  local d, kvd = self.embed_dim, self.kv_heads * self.head_dim
  if self.qkv == "separate" then return self.q_proj(x), self.k_proj(x), self.v_proj(x) end
  local N, T = x:size(1), x:size(2)
  local p = linear(x:reshape(N * T, d), self.in_proj_weight, self.qkv_bias and self.in_proj_bias or nil)
    :reshape(N, T, d + 2 * kvd)
  return p:narrow(3, 1, d), p:narrow(3, d + 1, kvd), p:narrow(3, d + kvd + 1, kvd)
end

-- The computation, keeping every intermediate in `rec` (for traces).
-- x is N x T x d here.
function MHA:attend(x, mask)
  local N, T = x:size(1), x:size(2)
  local H, G, dh = self.num_heads, self.kv_heads, self.head_dim
  local q, k, v = projections(self, x)
  local function split(t, h) return t:reshape(N, T, h, dh):permute(1, 3, 2, 4) end   -- N x h x T x dh
  local Q, K, V = split(q, H), split(k, G), split(v, G)
  if self.rope then
    local rope = require("nncalc.nn.Position").rope
    Q, K = rope(Q), rope(K)
  end
  local rec = { Q = Q, K = K, V = V }
  Q = Q:reshape(N * H, T, dh):name("Q")
  local function share(t)   -- each K/V head serves H/G query heads
    if G == H then return t:reshape(N * H, T, dh) end
    return t:unsqueeze(3):expand(N, G, H // G, T, dh):reshape(N * H, T, dh)
  end
  K, V = share(K):name("K"), share(V):name("V")
  local scores = (bmm(Q, K:transpose(2, 3)) * (1 / math.sqrt(dh))):name("scores")
  rec.scores = scores
  local m = mask
  if self.causal then m = (m and (M.causal_mask(T) + m) or M.causal_mask(T)):name("mask") end
  if m ~= nil then scores = scores + m end
  rec.mask = m
  local w = softmax(scores, 3):name("weights")
  local o = bmm(w, V):name("heads")
  rec.weights, rec.heads = w, o
  local concat = o:reshape(N, H, T, dh):permute(1, 3, 2, 4):reshape(N, T, H * dh)
  rec.concat = concat
  return self.out_proj(concat), rec
end

local function check_input(self, x)
  if not nncalc.is_tensor(x) then
    error(("expects a tensor T x %d or N x T x %d, got a %s"):format(self.embed_dim, self.embed_dim, type(x)), 0)
  end
  local s = x:shape()
  if (#s ~= 2 and #s ~= 3) or s[#s] ~= self.embed_dim then
    error(("expects T x %d or N x T x %d, got {%s}"):format(self.embed_dim, self.embed_dim, table.concat(s, ", ")), 0)
  end
end

local function check_mask(mask, x)
  if mask == nil then return nil end
  if not nncalc.is_tensor(mask) then error("mask must be a tensor (0 keeps, -inf removes), as PyTorch's float attn_mask", 0) end
  local T = x:size(x:dim() - 1)
  local ms = mask:shape()
  if ms[#ms] ~= T or ms[#ms - 1] ~= T then
    error(("mask must be T x T = %d x %d (or N·heads x T x T), got {%s}"):format(T, T, table.concat(ms, ", ")), 0)
  end
  return mask
end

function MHA:compute(x, mask)
  check_input(self, x)
  if x:dim() == 3 and not self.batch_first then x = x:transpose(1, 2) end
  mask = check_mask(mask, x)
  if x:dim() == 2 then return (self:attend(x:unsqueeze(1), mask)):squeeze(1) end
  local y = self:attend(x, mask)
  return self.batch_first and y or y:transpose(1, 2)
end

-- attn(x), attn(x, {mask=M}), attn(x, {trace=true}): the trace prints one
-- head at a time on the first sample.
function MHA:forward(x, opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("MultiheadAttention: forward options must be a table, e.g. {mask=M, trace=true}", 2)
  end
  opts = opts or {}
  local ok, y = pcall(function()
    if opts.trace then
      check_input(self, x)
      return require("nncalc.attention_trace").run(self, x, check_mask(opts.mask, x))
    end
    return self:compute(x, opts.mask)
  end)
  if not ok then error(self:repr(""):gsub("\n.*", " ...") .. ": " .. tostring(y):gsub("^[^:\n]*:%d+: ", ""), 2) end
  self.output = y
  return y
end

function MHA:out_shape(s)
  if (#s ~= 2 and #s ~= 3) or s[#s] ~= self.embed_dim then
    error(("MultiheadAttention(%d, %d): input shape {%s} is not T x %d or N x T x %d"):format(self.embed_dim,
      self.num_heads, table.concat(s, ", "), self.embed_dim, self.embed_dim), 2)
  end
  return { table.unpack(s) }
end

-- every output position sees every key position
function MHA:window() return false end

-- what memory{kv_cache=true} reads: one K and one V vector per KV head and token
function MHA:kv_spec() return { kv_heads = self.kv_heads, head_dim = self.head_dim } end

-- The counts, with the matmuls a course lists as parts (count.lua).
function MHA:cost(s) return require("nncalc.attention_count").cost(self, s) end
-- summary{explain=true}: the formulas with the numbers; {compare=true}: the
-- other counters (thop counted as since its 2026 fix; before it, 0)
function MHA:explain(r) return require("nncalc.attention_count").explain(self, r.in_shape) end
function MHA:counters(r)
  local c = require("nncalc.attention_count").compare(self, r.in_shape)
  return { fvcore = c.fvcore_sdpa, thop = c.thop, torchinfo = c.torchinfo, ptflops = c.ptflops,
    flop_counter = c.flop_counter, deepspeed = c.deepspeed,
    -- what the older or CPU versions miss (summary prints those versions too)
    thop_attention = c.thop, flop_counter_sdpa = c.flop_counter - c.flop_counter_cpu }
end

function MHA:extra_repr()
  local t = { ("embed_dim=%d, num_heads=%d"):format(self.embed_dim, self.num_heads) }
  if self.kv_heads ~= self.num_heads then t[#t + 1] = "kv_heads=" .. self.kv_heads end
  if not self.has_bias then t[#t + 1] = "bias=false" end
  if self.qkv_bias ~= self.has_bias then t[#t + 1] = "qkv_bias=" .. tostring(self.qkv_bias) end
  if self.causal then t[#t + 1] = "causal=true" end
  if self.rope then t[#t + 1] = "rope=true" end
  if self.qkv ~= "fused" then t[#t + 1] = 'qkv="separate"' end
  if not self.batch_first then t[#t + 1] = "batch_first=false" end
  return table.concat(t, ", ")
end

M.MultiheadAttention = MHA
return M
