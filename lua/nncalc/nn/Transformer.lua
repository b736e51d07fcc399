-- nn/Transformer.lua — a transformer block as GPT-2 (pre-norm) and BERT
-- (post-norm) build it, and LLaMA's SwiGLU feed-forward:
--   pre_norm:   x = x + attn(norm_1(x));   x = x + mlp(norm_2(x))
--   post_norm:  x = norm_1(x + attn(x));   x = norm_2(x + mlp(x))
--   mlp="gelu":   W_2·gelu(W_1·x)             (d → d_ff → d; "relu" as the 2017 paper)
--   mlp="swiglu": W_2·(silu(W_1·x) ⊙ W_3·x)   (LLaMA; three matrices)
local Module = require("nncalc.nn.Module")
local Linear = require("nncalc.nn.Linear")
local Act = require("nncalc.nn.Activation")
local Norms = require("nncalc.nn.LayerNorm")
local Attn = require("nncalc.nn.Attention")
local Sequential = require("nncalc.nn.Container").Sequential
local M = {}

local numel = require("nncalc.nn.Module").numel

-- ---- SwiGLU: W_2·(silu(W_1 x) ⊙ W_3 x) -------------------------------------------

local SwiGLU = Module.class("SwiGLU")
-- nn.SwiGLU(d, d_ff [, {bias=false}])
function SwiGLU:init(d, dff, o)
  o = o or {}
  local b = { bias = o.bias == true }
  self.d, self.d_ff = d, dff
  self.w1, self.w3, self.w2 = Linear(d, dff, b), Linear(d, dff, b), Linear(dff, d, b)
end
function SwiGLU:compute(x) return self.w2(Act.SiLU()(self.w1(x)):cmul(self.w3(x))) end
function SwiGLU:out_shape(s) return self.w2:out_shape(self.w1:out_shape(s)) end
-- children w1 and w3 see x, w2 sees the gated product; the silu and the
-- product are this module's own work
function SwiGLU:analyse(s, visit)
  local h = visit(self.w1, s, "w1")
  visit(self.w3, s, "w3")
  return visit(self.w2, h, "w2")
end
function SwiGLU:cost(s)
  local n = numel(self.w1:out_shape(s))
  return { acts = n, mults = n, saved = 2 * n, bwd_input = 2 * n,
    parts = { { name = "silu(W₁x)", acts = n }, { name = "⊙ W₃x", mults = n } } }
end
function SwiGLU:extra_repr() return ("d=%d, d_ff=%d"):format(self.d, self.d_ff) end
M.SwiGLU = SwiGLU

-- ---- the block -----------------------------------------------------------------------

local Block = Module.class("TransformerBlock")

-- nn.TransformerBlock{d, heads, d_ff=4d, norm="layer"|"rms", mlp="gelu"|"relu"|"swiglu", qkv_bias=bias,
--   bias=true, causal=true, pre_norm=true, kv_heads=heads, gelu="tanh"|"none",
--   eps=1e-5, qkv="fused"|"separate", rope=false, dropout=0}
function Block:init(o)
  if type(o) ~= "table" then error("TransformerBlock: options expected, e.g. nn.TransformerBlock{d=768, heads=12}", 3) end
  local d, heads = o.d or o[1], o.heads or o[2]
  if math.type(d) ~= "integer" or d < 1 then error("TransformerBlock: d must be a positive whole number, got " .. tostring(d), 3) end
  if math.type(heads) ~= "integer" or heads < 1 then error("TransformerBlock: heads must be a positive whole number, got " .. tostring(heads), 3) end
  local dff = o.d_ff or o[3] or 4 * d
  local norm, mlp = o.norm or "layer", o.mlp or "gelu"
  if norm ~= "layer" and norm ~= "rms" then error('TransformerBlock: norm must be "layer" or "rms", got ' .. tostring(norm), 3) end
  if mlp ~= "gelu" and mlp ~= "swiglu" and mlp ~= "relu" then
    error('TransformerBlock: mlp must be "gelu", "relu" or "swiglu", got ' .. tostring(mlp), 3)
  end
  self.d, self.heads, self.d_ff, self.norm, self.mlp_kind = d, heads, dff, norm, mlp
  self.pre_norm, self.has_bias = o.pre_norm ~= false, o.bias ~= false
  local function make_norm()
    if norm == "rms" then return Norms.RMSNorm(d, { eps = o.eps }) end
    return Norms.LayerNorm(d, { eps = o.eps, bias = self.has_bias })
  end
  self.ln_1 = make_norm()
  self.attn = Attn.MultiheadAttention(d, heads, { bias = self.has_bias, qkv_bias = o.qkv_bias, causal = o.causal ~= false,
    kv_heads = o.kv_heads, qkv = o.qkv, rope = o.rope, causal_count = o.causal_count })
  self.ln_2 = make_norm()
  if mlp == "swiglu" then
    self.mlp = SwiGLU(d, dff, { bias = o.bias == true })
  else
    local act = mlp == "relu" and Act.ReLU() or Act.GELU{ approximate = o.gelu or "tanh" }
    self.mlp = Sequential{ Linear(d, dff, { bias = self.has_bias }), act, Linear(dff, d, { bias = self.has_bias }) }
  end
  self.dropout = o.dropout or 0
  if self.dropout > 0 then self.drop = require("nncalc.nn.Norm").Dropout(self.dropout) end
end

function Block:compute(x)
  local drop = self.drop and function(t) return self.drop(t) end or function(t) return t end
  if self.pre_norm then
    x = x + drop(self.attn(self.ln_1(x)))
    return x + drop(self.mlp(self.ln_2(x)))
  end
  x = self.ln_1(x + drop(self.attn(x)))
  return self.ln_2(x + drop(self.mlp(x)))
end

function Block:out_shape(s) return self.attn:out_shape(s) end

-- the order data flows through the children; the two residual additions
-- are the block's own cost
function Block:analyse(s, visit)
  if self.pre_norm then
    visit(self.attn, visit(self.ln_1, s, "ln_1"), "attn")
    visit(self.mlp, visit(self.ln_2, s, "ln_2"), "mlp")
  else
    visit(self.ln_1, visit(self.attn, s, "attn"), "ln_1")
    visit(self.ln_2, visit(self.mlp, s, "mlp"), "ln_2")
  end
  return { table.unpack(s) }
end
function Block:cost(s)
  local n = numel(s)
  return { adds = 2 * n, parts = { { name = "residual x + attn", adds = n }, { name = "residual x + mlp", adds = n } } }
end

function Block:extra_repr()
  return ("d=%d, heads=%d, d_ff=%d, norm=%s, mlp=%s%s"):format(self.d, self.heads, self.d_ff, self.norm,
    self.mlp_kind, self.pre_norm and "" or ", post_norm")
end
M.TransformerBlock = Block

return M
