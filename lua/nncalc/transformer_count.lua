-- transformer_count.lua — counts of a transformer that no single tool
-- gives side by side:
--   param_counts(model)   the parameter count under every convention in use
--                         (tied/untied head, biases, padded vocabulary,
--                         non-embedding, without the head), each with its reason
-- (what other counters report is summary{compare=true}, from each module's
-- counters hook: attention_count.lua for attention)
-- Parameters are read from the declared shapes, so nothing is allocated.
local Module = require("nncalc.nn.Module")
local M = {}

local numel = require("nncalc.nn.Module").numel

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
    { ("vocab padded to %s"):format(group(padded)),
      total + (padded - c.vocab) * (c.d * (c.tied and 1 or 2) + (model.lm_head.has_bias and 1 or 0)),
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

return M
