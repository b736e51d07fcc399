-- models_transformer.lua — GPT-2, BERT and ViT from their published
-- configurations, built from nn modules without allocating a weight:
--   models.gpt2{size="small"|"medium"|"large"|"xl", bias=true, vocab=50257,
--               context=1024, tied=true}        (Radford et al. 2019; HF gpt2)
--   models.gpt{d=, layers=, heads=, vocab=, context=, ...}   any GPT (the lecture one)
--   models.bert{size="base"|"large"}            (Devlin et al. 2019; HF BertModel, with pooler)
--   models.vit{size="b16"|"b32"|"l16"|"l32"}    (Dosovitskiy et al. 2021; torchvision vit_*)
-- GPT-2's LM head shares the token embedding's matrix (tied=true): one
-- parameter, counted once, under embed.wte.weight.
local Module = require("nncalc.nn.Module")
local T = require("nncalc.nn.Transformer")
local M = {}

local numel = require("nncalc.nn.Module").numel

local function positive(model, what, v) return Module.whole("models." .. model, what, v, 3) end

-- ---- token + position (+ segment) embeddings: nn.Embedding tables, added --------

local Embeddings = Module.class("Embeddings")
-- Embeddings(vocab, context, d [, {types=0, norm=LayerNorm}]); input: 1-based token ids, T or N x T.
-- The position table is read at 1..T; BERT's segment table at row 1 (one segment).
function Embeddings:init(vocab, context, d, o)
  o = o or {}
  self.vocab, self.context, self.d, self.types = vocab, context, d, o.types or 0
  self.wte = nn.Embedding(vocab, d)
  self.wpe = nn.Embedding(context, d)
  if self.types > 0 then self.token_type = nn.Embedding(self.types, d) end
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
  if not nncalc.is_tensor(idx) then error("Embeddings: token ids must be a tensor, got a " .. type(idx), 0) end
  local T = idx:size(idx:dim())
  self:out_shape(idx:shape())
  local x = self.wte(idx) + self.wpe(arange(1, T))
  if self.types > 0 then x = x + self.token_type(ones(T)) end
  if self.norm then x = self.norm(x) end
  return x
end
-- the tables read (positions and segments once per position, broadcast
-- over a batch), then the norm
function Embeddings:analyse(s, visit)
  local out = self:out_shape(s)
  visit(self.wte, s, "wte")
  visit(self.wpe, { s[#s] }, "wpe")
  if self.types > 0 then visit(self.token_type, { s[#s] }, "token_type") end
  if self.norm then visit(self.norm, out, "norm") end
  return out
end
-- the rows of the tables added, per token
function Embeddings:cost(s)
  local tables = self.types > 0 and 3 or 2
  return { adds = (tables - 1) * numel(s) * self.d }
end
function Embeddings:extra_repr()
  return ("vocab=%d, context=%d, d=%d%s"):format(self.vocab, self.context, self.d,
    self.types > 0 and (", types=" .. self.types) or "")
end
M.Embeddings = Embeddings

-- ---- the LM head: logits = h·Wᵀ, W the token embedding's matrix when tied ----------

local LMHead = Module.class("LMHead")
function LMHead:init(emb, tied, bias)
  self.vocab, self.d, self.tied, self.has_bias = emb.vocab, emb.d, tied, bias == true
  if tied then rawset(self, "_tied", emb)   -- a reference, not a child: its weight is counted once, there
  else self:param("weight", { emb.vocab, emb.d }, 1 / math.sqrt(emb.d)) end
  if self.has_bias then self:param("bias", { emb.vocab }, 1 / math.sqrt(emb.d)) end
end
function LMHead:out_shape(s)
  if s[#s] ~= self.d then error(("LMHead: input {%s} does not end in %d"):format(table.concat(s, ", "), self.d), 3) end
  local out = { table.unpack(s) }
  out[#out] = self.vocab
  return out
end
function LMHead:compute(h)
  local W = self.tied and rawget(self, "_tied").wte.weight or self.weight
  local s = h:shape()
  local y = linear(h:reshape(h:numel() // self.d, self.d), W, self.has_bias and self.bias or nil)
  return y:reshape(table.unpack(self:out_shape(s)))
end
function LMHead:cost(s)
  local rows = numel(s) // self.d
  local macs = rows * self.d * self.vocab
  return { weights = self.tied and 0 or self.vocab * self.d, biases = self.has_bias and self.vocab or 0,
    bias_adds = self.has_bias and rows * self.vocab or 0, macs = macs, mults = macs, adds = rows * self.vocab * (self.d - 1),
    conns = macs, bwd_input = macs, bwd_weight = macs, saved = rows * self.d,
    note = self.tied and "LM head: its weight is the token embedding's (tied), counted once, under embed.wte.weight" or nil }
end
-- an nn.Linear without bias in PyTorch's GPT-2: every counter sees it
function LMHead:counters(r)
  return { fvcore = r.macs, thop = r.macs, ptflops = r.macs, torchinfo = r.macs, flop_counter = 2 * r.macs,
    deepspeed = 2 * r.macs, torchscan = r.out_n * (2 * self.d - 1) }
end
function LMHead:explain(r, group)
  return { ("logits = h·Wᵀ: %s rows · d %d · vocab %d = %s MACs"):format(group(r.macs // (self.d * self.vocab)), self.d,
    self.vocab, group(r.macs)),
    self.tied and "params = 0 here: W is embed.wte (tied), counted there once" or
      ("params = vocab·d = %d·%d = %s"):format(self.vocab, self.d, group(r.params)) }
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
-- said once, under the model's row
function Transformer:cost()
  return { note = "act evals: GELU once per element, softmax one exponential per score, LayerNorm one square root per row" }
end
-- summary{compare_params=true}: GPT's counts under every convention
function Transformer:param_conventions()
  if self.config.kind ~= "gpt" then return nil end
  return require("nncalc.transformer_count").param_counts(self)
end
M.Transformer = Transformer

-- A setting the model does not have is an error, not a default silently kept.
local function known(who, o, keys)
  local set = {}
  for k in keys:gmatch("%S+") do set[k] = true end
  for k in pairs(o) do
    if not set[k] then
      error(("models.%s: unknown setting '%s' (%s)"):format(who, tostring(k), keys:gsub(" ", ", ")), 3)
    end
  end
end

local function blocks(n, o)
  local list = {}
  for i = 1, n do list[i] = T.TransformerBlock(o) end
  return nn.Sequential(list)
end

-- models.gpt{d, layers, heads, vocab, context, bias=true, tied=true, head_bias=false,
--   qkv_bias=bias, mlp="gelu"|"relu", dropout=0, name=}: a GPT (pre-norm blocks,
-- learned positions, final LayerNorm, LM head).  Karpathy's lecture GPT
-- ("Let's build GPT", 10,788,929 parameters) is models.gpt{d=384, layers=6,
-- heads=6, vocab=65, context=256, tied=false, head_bias=true, qkv_bias=false, mlp="relu"}.
function M.gpt(o, who)
  who = who or "gpt"
  if type(o) ~= "table" then error("models." .. who .. ": options expected, e.g. {d=384, layers=6, heads=6, vocab=65, context=256}", 3) end
  if who == "gpt" then known("gpt", o, "d layers heads vocab context bias tied head_bias qkv_bias mlp dropout name causal_count") end
  local w = {}
  for _, k in ipairs({ "d", "layers", "heads", "vocab", "context" }) do w[k] = positive(who, k, o[k]) end
  local d, L, H, vocab, context = w.d, w.layers, w.heads, w.vocab, w.context
  local bias, tied = o.bias ~= false, o.tied ~= false
  local emb = Embeddings(vocab, context, d)
  return Transformer({
    { "embed", emb },
    { "h", blocks(L, { d = d, heads = H, bias = bias, qkv_bias = o.qkv_bias, causal = true, gelu = "tanh",
      mlp = o.mlp, causal_count = o.causal_count, dropout = o.dropout }) },
    { "ln_f", nn.LayerNorm(d, { bias = bias }) },
    { "lm_head", LMHead(emb, tied, o.head_bias) },
  }, { name = o.name or "gpt", kind = "gpt", d = d, layers = L, heads = H, vocab = vocab, context = context,
    bias = bias, tied = tied })
end

local gpt2_sizes = { small = { 768, 12, 12 }, medium = { 1024, 24, 16 }, large = { 1280, 36, 20 }, xl = { 1600, 48, 25 } }

function M.gpt2(o)
  o = o or {}
  known("gpt2", o, "size vocab context bias tied causal_count")
  local size = o.size or "small"
  local cfg = gpt2_sizes[size]
  if not cfg then error(('models.gpt2: size must be "small", "medium", "large" or "xl", got %s'):format(tostring(size)), 2) end
  return M.gpt({ d = cfg[1], layers = cfg[2], heads = cfg[3], vocab = o.vocab or 50257, context = o.context or 1024,
    bias = o.bias, tied = o.tied, causal_count = o.causal_count, name = "gpt2-" .. size }, "gpt2")
end

local bert_sizes = { base = { 768, 12, 12 }, large = { 1024, 24, 16 } }

function M.bert(o)
  o = o or {}
  known("bert", o, "size vocab context")
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

-- torchvision's sizes: {d, layers, heads, d_ff, patch}
local vit_sizes = { b16 = { 768, 12, 12, 3072, 16 }, b32 = { 768, 12, 12, 3072, 32 },
  l16 = { 1024, 24, 16, 4096, 16 }, l32 = { 1024, 24, 16, 4096, 32 } }

function M.vit(o)
  o = o or {}
  known("vit", o, "size classes image")
  local size = o.size or "b16"
  local cfg = vit_sizes[size]
  if not cfg then error(('models.vit: size must be "b16", "b32", "l16" or "l32", got %s'):format(tostring(size)), 2) end
  local d, L, H, classes = cfg[1], cfg[2], cfg[3], o.classes or 1000
  return Transformer({
    { "patches", Patches(d, cfg[5], o.image or 224) },
    { "encoder", blocks(L, { d = d, heads = H, d_ff = cfg[4], causal = false, gelu = "none", eps = 1e-6 }) },
    { "ln", nn.LayerNorm(d, { eps = 1e-6 }) },
    { "head", nn.Sequential{ FirstToken(), nn.Linear(d, classes) } },
  }, { name = "vit-" .. size, kind = "vit", d = d, layers = L, heads = H })
end

return M
