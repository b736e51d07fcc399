-- models_transformer.lua — GPT-2, BERT and ViT from their published
-- configurations, built from nn modules without allocating a weight:
--   models.gpt2{size="small"|"medium"|"large"|"xl", bias=true, vocab=50257,
--               context=1024, tied=true}        (Radford et al. 2019; HF gpt2)
--   models.bert{size="base"|"large"}            (Devlin et al. 2019; HF BertModel, with pooler)
--   models.vit{size="b16"}                      (Dosovitskiy et al. 2021; torchvision vit_b_16)
-- GPT-2's LM head shares the token embedding's matrix (tied=true): one
-- parameter, counted once, under embed.wte.
local Module = require("nncalc.nn.Module")
local T = require("nncalc.nn.Transformer")
local M = {}

local function numel(s)
  local n = 1
  for i = 1, #s do n = n * s[i] end
  return n
end

local function positive(model, what, v)
  if math.type(v) ~= "integer" or v < 1 then
    error(("models.%s: %s must be a positive whole number, got %s"):format(model, what, tostring(v)), 4)
  end
end

-- ---- token + position (+ segment) embeddings: tables looked up by index ---------

local Embeddings = Module.class("Embeddings")
-- Embeddings(vocab, context, d [, {types=0, norm=LayerNorm}]); input: 1-based token ids, T or N x T
function Embeddings:init(vocab, context, d, o)
  o = o or {}
  self.vocab, self.context, self.d, self.types = vocab, context, d, o.types or 0
  local std = 0.02 * math.sqrt(3)   -- uniform with GPT-2's init std 0.02
  self:param("wte", { vocab, d }, std)
  self:param("wpe", { context, d }, std)
  if self.types > 0 then self:param("token_type", { self.types, d }, std) end
  if o.norm then self.norm = o.norm end
end
function Embeddings:out_shape(s)
  if (#s ~= 1 and #s ~= 2) or s[#s] > self.context then
    error(("Embeddings: expects T or N x T token ids with T ≤ %d, got {%s}"):format(self.context,
      table.concat(s, ", ")), 3)
  end
  local out = { table.unpack(s) }
  out[#out + 1] = self.d
  return out
end
function Embeddings:compute(idx)
  local s = idx:shape()
  self:out_shape(s)
  local flat = idx:reshape(idx:numel())
  for k = 1, flat:numel() do
    local v = flat[k]
    if v ~= math.floor(v) or v < 1 or v > self.vocab then
      error(("Embeddings: token id %s at position %d is not in 1..%d"):format(tostring(v), k, self.vocab), 0)
    end
  end
  local out = self:out_shape(s)
  local x = index_select(self.wte, 1, flat):reshape(table.unpack(out)) + self.wpe:narrow(1, 1, s[#s])
  if self.types > 0 then x = x + self.token_type:narrow(1, 1, 1) end
  if self.norm then x = self.norm(x) end
  return x
end
function Embeddings:analyse(s, visit)
  local out = self:out_shape(s)
  if self.norm then visit(self.norm, out, "norm") end
  return out
end
-- one row copied per table per token; the tables' rows are added
function Embeddings:cost(s)
  local tables = self.types > 0 and 3 or 2
  local n = numel(s)
  return { lookups = tables * n, adds = (tables - 1) * n * self.d, weights = (self.vocab + self.context + self.types) * self.d }
end
-- torchinfo: every table's size × the batch; the others count lookups as 0
function Embeddings:counters(r)
  local batch = #r.in_shape == 2 and r.in_shape[1] or 1
  return { torchinfo = batch * (self.vocab + self.context + self.types) * self.d }
end
function Embeddings:extra_repr()
  return ("vocab=%d, context=%d, d=%d%s"):format(self.vocab, self.context, self.d,
    self.types > 0 and (", types=" .. self.types) or "")
end
M.Embeddings = Embeddings

-- ---- the LM head: logits = h·Wᵀ, W the token embedding's matrix when tied ----------

local LMHead = Module.class("LMHead")
function LMHead:init(emb, tied)
  self.vocab, self.d, self.tied = emb.vocab, emb.d, tied
  if tied then rawset(self, "_tied", emb)   -- a reference, not a child: its weight is counted once, there
  else self:param("weight", { emb.vocab, emb.d }, 1 / math.sqrt(emb.d)) end
end
function LMHead:out_shape(s)
  if s[#s] ~= self.d then error(("LMHead: input {%s} does not end in %d"):format(table.concat(s, ", "), self.d), 3) end
  local out = { table.unpack(s) }
  out[#out] = self.vocab
  return out
end
function LMHead:compute(h)
  local W = self.tied and rawget(self, "_tied").wte or self.weight
  local s = h:shape()
  local y = linear(h:reshape(h:numel() // self.d, self.d), W)
  return y:reshape(table.unpack(self:out_shape(s)))
end
function LMHead:cost(s)
  local rows = numel(s) // self.d
  local macs = rows * self.d * self.vocab
  return { weights = self.tied and 0 or self.vocab * self.d, macs = macs, mults = macs, adds = rows * self.vocab * (self.d - 1),
    conns = macs, bwd_input = macs, bwd_weight = macs, saved = rows * self.d,
    parts = { { name = "LM head", macs = macs, mults = macs, adds = rows * self.vocab * (self.d - 1) } },
    note = self.tied and "LM head: its weight is the token embedding's (tied), counted once, under embed.wte" or nil }
end
-- an nn.Linear without bias in PyTorch's GPT-2: every counter sees it
function LMHead:counters(r)
  return { fvcore = r.macs, thop = r.macs, ptflops = r.macs, torchinfo = r.macs, flop_counter = 2 * r.macs,
    deepspeed = 2 * r.macs, torchscan = r.out_n * (2 * self.d - 1) }
end
function LMHead:extra_repr() return ("d=%d, vocab=%d%s"):format(self.d, self.vocab, self.tied and ", tied to embed.wte" or "") end
M.LMHead = LMHead

-- ---- the first position's vector (BERT's [CLS], ViT's class token) -------------------

local FirstToken = Module.class("FirstToken")
function FirstToken:out_shape(s)
  local out = { table.unpack(s) }
  table.remove(out, #out - 1)
  return out
end
function FirstToken:compute(x) return x:narrow(x:dim() - 1, 1, 1):squeeze(x:dim() - 1) end
FirstToken.no_new_values = true
M.FirstToken = FirstToken

-- ---- a stack: embeddings, blocks, final norm, head ------------------------------------

local Transformer = Module.class("Transformer")
function Transformer:init(parts, config)
  self.config = config
  for _, p in ipairs(parts) do self[p[1]] = p[2] end
end
function Transformer:compute(x)
  for _, nc in ipairs(self:named_children()) do x = nc[2](x) end
  return x
end
function Transformer:out_shape(s)
  for _, nc in ipairs(self:named_children()) do s = nc[2]:out_shape(s) end
  return s
end
function Transformer:analyse(s, visit)
  for _, nc in ipairs(self:named_children()) do s = visit(nc[2], s, nc[1]) end
  return s
end
function Transformer:extra_repr() return self.config.name end
M.Transformer = Transformer

local function blocks(n, o)
  local list = {}
  for i = 1, n do list[i] = T.TransformerBlock(o) end
  return nn.Sequential(list)
end

local gpt2_sizes = { small = { 768, 12, 12 }, medium = { 1024, 24, 16 }, large = { 1280, 36, 20 }, xl = { 1600, 48, 25 } }

function M.gpt2(o)
  o = o or {}
  local size = o.size or "small"
  local cfg = gpt2_sizes[size]
  if not cfg then error(('models.gpt2: size must be "small", "medium", "large" or "xl", got %s'):format(tostring(size)), 2) end
  local vocab, context = o.vocab or 50257, o.context or 1024
  positive("gpt2", "vocab", vocab)
  positive("gpt2", "context", context)
  local d, L, H = cfg[1], cfg[2], cfg[3]
  local bias, tied = o.bias ~= false, o.tied ~= false
  local emb = Embeddings(vocab, context, d)
  return Transformer({
    { "embed", emb },
    { "h", blocks(L, { d = d, heads = H, bias = bias, causal = true, gelu = "tanh", causal_count = o.causal_count }) },
    { "ln_f", nn.LayerNorm(d, { bias = bias }) },
    { "lm_head", LMHead(emb, tied) },
  }, { name = "gpt2-" .. size, kind = "gpt", d = d, layers = L, heads = H, vocab = vocab, context = context,
    bias = bias, tied = tied })
end

local bert_sizes = { base = { 768, 12, 12 }, large = { 1024, 24, 16 } }

function M.bert(o)
  o = o or {}
  local size = o.size or "base"
  local cfg = bert_sizes[size]
  if not cfg then error(('models.bert: size must be "base" or "large", got %s'):format(tostring(size)), 2) end
  local d, L, H = cfg[1], cfg[2], cfg[3]
  local vocab, context = o.vocab or 30522, o.context or 512
  return Transformer({
    { "embeddings", Embeddings(vocab, context, d, { types = 2, norm = nn.LayerNorm(d, { eps = 1e-12 }) }) },
    { "encoder", blocks(L, { d = d, heads = H, causal = false, pre_norm = false, gelu = "none", eps = 1e-12 }) },
    { "pooler", nn.Sequential{ FirstToken(), nn.Linear(d, d), nn.Tanh() } },
  }, { name = "bert-" .. size, kind = "bert", d = d, layers = L, heads = H, vocab = vocab, context = context,
    bias = true, tied = false })
end

-- ViT: 16x16 patches as a stride-16 convolution, a class token in front,
-- learned positions, pre-norm blocks (LayerNorm eps 1e-6, exact GELU)
local Patches = Module.class("PatchEmbedding")
function Patches:init(d, patch, image)
  self.d, self.patch, self.image = d, patch, image
  self.conv_proj = nn.Conv2d(3, d, patch, { stride = patch })
  self.tokens = (image // patch) ^ 2 + 1
  self:param("class_token", { 1, d }, "zeros")
  self:param("pos_embedding", { self.tokens, d }, 0.02 * math.sqrt(3))
end
function Patches:out_shape(s)
  local o = self.conv_proj:out_shape(s)
  if #s == 4 then return { s[1], o[3] * o[4] + 1, self.d } end
  return { o[2] * o[3] + 1, self.d }
end
function Patches:compute(x)
  if x:dim() == 4 then error("PatchEmbedding: one image (3 x H x W) at a time", 0) end
  local f = self.conv_proj(x)   -- d x h x w
  local seq = f:reshape(self.d, f:numel() // self.d):t()
  return cat({ self.class_token, seq }, 1) + self.pos_embedding
end
function Patches:analyse(s, visit)
  visit(self.conv_proj, s, "conv_proj")
  return self:out_shape(s)
end
function Patches:cost(s)
  local o = self:out_shape(s)
  -- the position embeddings added; its own tables (the conv is a child)
  return { adds = numel(o), weights = (self.tokens + 1) * self.d }
end
M.PatchEmbedding = Patches

function M.vit(o)
  o = o or {}
  local size = o.size or "b16"
  if size ~= "b16" then error(('models.vit: size must be "b16", got %s'):format(tostring(size)), 2) end
  local d, L, H, classes = 768, 12, 12, o.classes or 1000
  return Transformer({
    { "patches", Patches(d, 16, o.image or 224) },
    { "encoder", blocks(L, { d = d, heads = H, d_ff = 3072, causal = false, gelu = "none", eps = 1e-6 }) },
    { "ln", nn.LayerNorm(d, { eps = 1e-6 }) },
    { "head", nn.Sequential{ FirstToken(), nn.Linear(d, classes) } },
  }, { name = "vit-b16", kind = "vit", d = d, layers = L, heads = H })
end

return M
