-- transformer_count.lua — counts of a transformer that no single tool
-- gives side by side:
--   param_counts(model)   the parameter count under every convention in use
--                         (tied/untied head, biases, padded vocabulary,
--                         non-embedding, without the head), each with its reason
--   compare(model, shape) what fvcore, thop (before/after its attention fix),
--                         torchinfo, ptflops, DeepSpeed and FlopCounterMode
--                         report for the same model, each by its own rules
-- Parameters are read from the declared shapes, so nothing is allocated.
local Module = require("nncalc.nn.Module")
local AC = require("nncalc.attention_count")
local M = {}

local function numel(s)
  local n = 1
  for i = 1, #s do n = n * s[i] end
  return n
end

-- {path, count} of every declared parameter (a tied weight appears once)
local function declared(m, prefix, out)
  out = out or {}
  for _, name in ipairs(m._order) do out[#out + 1] = { prefix .. name, numel(m._shapes[name]), name } end
  for _, nc in ipairs(m:named_children()) do declared(nc[2], prefix .. nc[1] .. ".", out) end
  return out
end
M.declared = declared

local function group(n)
  local s = tostring(math.tointeger(n) or n)
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^(-?),", "%1"))
end

-- models.param_counts(model [, {pad=64}]) -> list of {label, count, reason}, printable
function M.param_counts(model, o)
  o = o or {}
  if not Module.is_module(model) or not model.config or model.config.kind ~= "gpt" then
    error("models.param_counts: a GPT model expected (models.gpt2{...})", 2)
  end
  local c = model.config
  local total, biases = 0, 0
  for _, p in ipairs(declared(model, "")) do
    total = total + p[2]
    if p[3]:match("bias$") then biases = biases + p[2] end
  end
  local head = c.vocab * c.d
  local pad = o.pad or 64
  local padded = (c.vocab + pad - 1) // pad * pad
  local tied_total = c.tied and total or total - head
  local rows = {
    { "as built" .. (c.tied and " (tied head counted once)" or " (untied head)"), total,
      c.tied and "the LM head reuses embed.wte (vocab x d), one matrix, counted once" or "the LM head has its own vocab x d matrix" },
    { "tied head", tied_total, "GPT-2, nanoGPT, HF num_parameters(): the head is the token embedding" },
    { "untied head", tied_total + head, ("the head as a separate %d x %d matrix: + %s"):format(c.vocab, c.d, group(head)) },
    { "without biases", total - biases, ("nanoGPT bias=False: no Linear or LayerNorm biases: − %s"):format(group(biases)) },
    { ("vocab padded to %s"):format(group(padded)), total + (padded - c.vocab) * c.d * (c.tied and 1 or 2),
      ("nanoGPT pads the vocabulary to a multiple of %d for speed: + %d rows x %d"):format(pad, padded - c.vocab, c.d) },
    { "non-embedding (nanoGPT)", total - c.context * c.d,
      "get_num_params(non_embedding=True): minus the position embedding only (the token one is the head's weight)" },
    { "non-embedding (Kaplan)", tied_total - head - c.context * c.d,
      "Kaplan et al. 2020 N: minus token and position embeddings" },
    { "12·n_layer·d²", 12 * c.layers * c.d * c.d, "Kaplan's approximation of N (no biases, norms)" },
    { "excluding the LM head", c.tied and total or total - head,
      c.tied and "the tied head owns no parameters, so nothing to exclude" or "minus the head's own matrix" },
  }
  return setmetatable(rows, { __tostring = function(t)
    local L = { ("parameters of %s under each convention:"):format(c.name) }
    for _, r in ipairs(t) do
      L[#L + 1] = ("  %s%s %15s   %s"):format(r[1], (" "):rep(34 - utf8.len(r[1])), group(r[2]), r[3])
    end
    return table.concat(L, "\n")
  end })
end

-- ---- walking the contract: analyse for containers, cost for leaves -------------

local function walk(m, s, fn)
  if m.analyse then
    fn(m, s, true)
    return m:analyse(s, function(child, cs) return walk(child, cs, fn) end)
  end
  if m.class_name == "Sequential" then
    for _, c in ipairs(m:children()) do s = walk(c, s, fn) end
    return s
  end
  fn(m, s, false)
  return m:out_shape(s)
end
M.walk = walk

-- compare(model, shape) -> { tool = count }, text
local tools = {
  { "fvcore", "fvcore FlopCountAnalysis (SDPA path)", "MACs of linear/matmul; scaled_dot_product_attention unsupported: 0; norms 5·numel; GELU, softmax, adds ignored" },
  { "thop_old", "thop ≤ 2.1.2", "nn.Linear in·out per row; nn.MultiheadAttention never hooked: 0; GELU unregistered: 0; LayerNorm 4·numel" },
  { "thop", "thop ≥ 2.1.3 (PR #157)", "as before, plus MultiheadAttention: projections, both products, softmax (3T−1 per row)" },
  { "torchinfo", "torchinfo Mult-Adds", "parameters × rows for Linear; parameters × batch for LayerNorm and Embedding; attention products 0" },
  { "ptflops", "ptflops MACs", "Linear MACs + bias; MHA hook: scaling, projections, heads (2T²·dh + T²); LayerNorm 2·numel; GELU numel" },
  { "deepspeed", "DeepSpeed flops profiler", "2·MACs of F.linear and SDPA (bias ignored); layer_norm 5·numel; gelu numel" },
  { "flop_counter_cpu", "FlopCounterMode on CPU", "2·MACs of mm/addmm; CPU SDPA unregistered: 0 (pytorch#195460)" },
  { "flop_counter", "FlopCounterMode (CUDA, or after #195801)", "2·MACs, SDPA 2·(QKᵀ + AV); nothing else" },
}

function M.compare(model, shape)
  local t = {}
  for _, tl in ipairs(tools) do t[tl[1]] = 0 end
  local function add(k, v) t[k] = t[k] + v end
  walk(model, shape, function(m, s, container)
    if container then return end
    local cls, n = m.class_name, numel(s)
    local batch = (#s == 3 or (cls == "Embeddings" and #s == 2)) and s[1] or 1
    if cls == "MultiheadAttention" then
      local r = AC.compare(m, s)
      add("fvcore", r.fvcore_sdpa); add("thop", r.thop); add("torchinfo", r.torchinfo); add("ptflops", r.ptflops)
      add("deepspeed", r.deepspeed); add("flop_counter_cpu", r.flop_counter_cpu); add("flop_counter", r.flop_counter)
    elseif cls == "Linear" or cls == "LMHead" then
      local c = m:cost(s)
      local w = cls == "Linear" and m.in_features * m.out_features or m.vocab * m.d
      local rows = c.macs // w
      local bias = cls == "Linear" and m.has_bias and rows * m.out_features or 0
      for _, k in ipairs({ "fvcore", "thop_old", "thop" }) do add(k, c.macs) end
      add("torchinfo", c.macs + bias)   -- (weights + biases) x rows
      add("ptflops", c.macs + bias); add("deepspeed", 2 * c.macs)
      add("flop_counter_cpu", 2 * c.macs); add("flop_counter", 2 * c.macs)
    elseif cls == "LayerNorm" then
      local aff = m.affine
      add("fvcore", n * (aff and 5 or 4)); add("thop_old", n * (aff and 4 or 2)); add("thop", n * (aff and 4 or 2))
      add("torchinfo", batch * (m.affine and numel(m.normalized_shape) * (m.has_bias and 2 or 1) or 0))
      add("ptflops", n * (aff and 2 or 1)); add("deepspeed", n * (aff and 5 or 4))
    elseif cls == "GELU" or cls == "SiLU" or cls == "ReLU6" or cls == "ELU" then
      add("ptflops", n); add("deepspeed", n)
    elseif cls == "Embeddings" then
      add("torchinfo", batch * (m.vocab + m.context + m.types) * m.d)
    end
  end)
  local L = { "what common counters report for this model (each by its own rules):" }
  for _, tl in ipairs(tools) do
    L[#L + 1] = ("  %s%s %18s   (%s)"):format(tl[2], (" "):rep(40 - utf8.len(tl[2])), group(t[tl[1]]), tl[3])
  end
  return t, table.concat(L, "\n")
end

return M
