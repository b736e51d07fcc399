-- nncalc/budget.lua — the arithmetic of a training run, shape-only: memory
-- in bytes (memory, fit_batch) and compute and time (train_compute), each
-- with its convention printed and its formulas under explain=true.
--
-- Bytes per parameter while training (the ledger's first three lines):
--   fp32        weights 4 + gradients 4 + optimizer state 4 per buffer
--               (Adam 16 B, SGD 8 B, SGD with momentum 12 B)
--   bf16, fp16  everything in 2 bytes (Adam 8 B)
--   mixed       2-byte weights and gradients for the passes, fp32 master
--               weights and fp32 buffers in the optimizer (Adam 2 + 2 + 12
--               = 16 B, the ZeRO paper's count)
-- A checkpoint holds the weights and the optimizer's buffers, not the
-- gradients: fp32 AdamW 12 B per parameter (nanoGPT's estimate).

local fmt = require("nncalc.format")
local M = {}

local dtypes = {
  fp32 = { w = 4, g = 4, state = 4, master = 0, act = 4 },
  bf16 = { w = 2, g = 2, state = 2, master = 0, act = 2 },
  fp16 = { w = 2, g = 2, state = 2, master = 0, act = 2 },
  mixed = { w = 2, g = 2, state = 4, master = 4, act = 2 },
}
local buffers = { sgd = 0, momentum = 1, adam = 2, adamw = 2 }

local function group(n) return require("nncalc.summary").group(math.tointeger(n) or n) end

-- 1234567890 -> "1,234,567,890 B (1.23 GB, 1.15 GiB)"
local function bytes(n)
  local s = group(n) .. " B"
  if n >= 1e6 then s = s .. (" (%.3g GB, %.3g GiB)"):format(n / 1e9, n / 2 ^ 30) end
  return s
end
M.bytes = bytes

local function known(fname, o, names)
  if type(o) ~= "table" then error(fname .. ": options must be a table", 3) end
  for k in pairs(o) do
    if not names[k] then
      local list = {}
      for n in pairs(names) do list[#list + 1] = n end
      table.sort(list)
      error(("%s: unknown option '%s' (%s)"):format(fname, tostring(k), table.concat(list, ", ")), 3)
    end
  end
end

local function whole(fname, what, v, min)
  local n = math.tointeger(v)
  if n == nil or n < min then error(("%s: %s must be a whole number >= %d, got %s"):format(fname, what, min, tostring(v)), 3) end
  return n
end

-- Every module of the model that keeps a KV cache states kv_spec():
-- {kv_heads =, head_dim =} (MultiheadAttention does); one per layer.
local function kv_layers(model)
  local layers, spec, seen = 0, nil, {}
  local function walk(m)
    if seen[m] then return end
    seen[m] = true
    if m.kv_spec then layers = layers + 1; spec = spec or m:kv_spec() end
    for _, c in ipairs(m:children()) do walk(c) end
  end
  walk(model)
  return layers, spec
end

-- ---- memory ---------------------------------------------------------------------

local memory_opts = { dtype = 1, optimizer = 1, training = 1, batch = 1, kv_cache = 1, explain = 1, quiet = 1,
  memory = 1, amsgrad = 1 }

-- memory(model, input_shape [, opts]) or memory{params = N, activations = n, ...}
function M.memory(model, shape, o)
  local fname = "memory"
  local P, per_sample_saved, per_sample_index, peak, s
  if type(model) == "table" and not nn.is_module(model) and shape == nil then   -- memory{params = ...}
    o = model
    local own = { params = 1, activations = 1, kv_layers = 1 }
    local opts = {}
    for k, v in pairs(o) do if not own[k] then opts[k] = v end end
    known(fname, opts, memory_opts)
    P = o.params
    if type(P) ~= "number" or P < 0 then error("memory: params = the number of parameters expected", 2) end
    per_sample_saved, per_sample_index, peak = o.activations or 0, 0, o.activations or 0
  else
    o = o or {}
    known(fname, o, memory_opts)
    if not nn.is_module(model) then error("memory: the first argument must be a model (an nn module) or {params = N}", 2) end
    local ok, res = pcall(summary, model, shape, { quiet = true })
    if not ok then error("memory: " .. tostring(res):gsub("^summary: ", ""), 2) end
    s = res
    P = s.total.params
    per_sample_saved, per_sample_index, peak = s.total.saved or 0, s.total.saved_index or 0, 0
    local sn = function(t) local n = 1; for _, v in ipairs(t or {}) do n = n * v end; return n end
    for _, r in ipairs(s) do
      if not r.container and not r.part then peak = math.max(peak, sn(r.in_shape) + sn(r.out_shape)) end
    end
  end
  local dtype = o.dtype or "fp32"
  local d = dtypes[dtype]
  if not d then error('memory: dtype must be "fp32", "bf16", "fp16" or "mixed"', 2) end
  local opt = o.optimizer or "adam"
  local nbuf = buffers[opt]
  if not nbuf then error('memory: optimizer must be "sgd", "momentum", "adam" or "adamw"', 2) end
  if o.amsgrad and (opt == "adam" or opt == "adamw") then nbuf = nbuf + 1 end
  local training = o.training ~= false
  local B = whole(fname, "batch", o.batch or 1, 1)

  local L = { dtype = dtype, optimizer = opt, training = training, batch = B, n_params = P }
  L.params = P * d.w
  L.grads = training and P * d.g or 0
  L.optimizer = training and P * (nbuf * d.state + d.master) or 0
  local act_per_sample
  if training then
    act_per_sample = per_sample_saved * d.act + per_sample_index * 8
  else
    act_per_sample = peak * d.act
  end
  L.activations = act_per_sample * B

  -- the KV cache: 2 (K and V) x layers x kv_heads x head_dim x tokens x batch
  local kv_per_sample = 0
  if o.kv_cache then
    local kc = type(o.kv_cache) == "table" and o.kv_cache or {}
    local layers, spec = 0, nil
    if nn.is_module(model) then layers, spec = kv_layers(model) end
    layers = kc.layers or layers
    local kvh = kc.kv_heads or (spec and spec.kv_heads)
    local hd = kc.head_dim or (spec and spec.head_dim)
    local tokens = kc.tokens or (shape and shape[1])
    if not (layers and layers > 0 and kvh and hd and tokens) then
      error("memory: kv_cache needs layers, kv_heads, head_dim and tokens (give them in kv_cache = {...}, or a model whose attention layers state them)", 2)
    end
    kv_per_sample = 2 * layers * kvh * hd * tokens * d.act
    L.kv = { layers = layers, kv_heads = kvh, head_dim = hd, tokens = tokens, bytes_per_value = d.act }
  end
  L.kv_cache = kv_per_sample * B
  L.total = L.params + L.grads + L.optimizer + L.activations + L.kv_cache
  -- total(batch) = per_sample·batch + fixed
  L.per_sample, L.fixed = act_per_sample + kv_per_sample, L.params + L.grads + L.optimizer
  L.bytes_per_param = training and (d.w + d.g + nbuf * d.state + d.master) or d.w
  -- a checkpoint keeps one copy of the weights (the fp32 master one in
  -- mixed precision) and the optimizer's buffers
  L.checkpoint = P * ((d.master > 0 and d.master or d.w) + nbuf * d.state)
  if o.memory then
    local mem = o.memory
    if type(mem) ~= "number" or mem <= 0 then error("memory: memory = the bytes available, e.g. 80e9", 2) end
    L.max_batch = L.per_sample > 0 and math.max(0, math.floor((mem - L.fixed) / L.per_sample)) or math.huge
  end

  local lines = {
    ("memory of %s, %s, %s%s, batch %d"):format(s and "the model" or (group(P) .. " parameters"), dtype,
      training and ("training with " .. opt) or "inference", o.amsgrad and " (AMSGrad)" or "", B),
    ("  parameters    %s"):format(bytes(L.params)),
    ("  gradients     %s"):format(bytes(L.grads)),
    ("  optimizer     %s"):format(bytes(L.optimizer)),
    ("  activations   %s"):format(bytes(L.activations)),
  }
  if o.kv_cache then lines[#lines + 1] = ("  KV cache      %s"):format(bytes(L.kv_cache)) end
  lines[#lines + 1] = ("  total         %s"):format(bytes(L.total))
  lines[#lines + 1] = ("  = %s·batch + %s"):format(bytes(L.per_sample), bytes(L.fixed))
  if L.max_batch then lines[#lines + 1] = ("  largest batch in %s: %s"):format(bytes(o.memory), group(L.max_batch)) end
  lines[#lines + 1] = ("rule: %d B per parameter (%s)%s; activations %s; checkpoint (weights + optimizer buffers) %d B per parameter."):format(
    L.bytes_per_param, training and ("weights " .. d.w .. " + gradients " .. d.g .. " + optimizer " .. (nbuf * d.state + d.master)
      .. (d.master > 0 and " incl. fp32 master weights" or "")) or "weights only",
    dtype == "mixed" and "; mixed precision keeps fp32 master weights and buffers" or "",
    training and ("= the values each layer saves for its backward (summary's saved column) x " .. d.act
      .. " B, + 8 B per max-pooling argmax index, summed per layer, so a tensor two layers keep (a ReLU's output, "
      .. "the next layer's input) counts twice where PyTorch stores it once: an upper bound") or ("= the largest input + output of one layer x " .. d.act .. " B"),
    L.checkpoint // math.max(P, 1))
  if o.explain then
    lines[#lines + 1] = "formulas:"
    lines[#lines + 1] = ("  parameters  = P·%d = %s·%d = %s"):format(d.w, group(P), d.w, group(L.params))
    if training then
      lines[#lines + 1] = ("  gradients   = P·%d = %s"):format(d.g, group(L.grads))
      lines[#lines + 1] = ("  optimizer   = P·(%d buffers·%d%s) = %s"):format(nbuf, d.state, d.master > 0 and (" + " .. d.master .. " master") or "", group(L.optimizer))
      lines[#lines + 1] = ("  activations = (%s saved values·%d + %s indices·8)·%d = %s"):format(group(per_sample_saved), d.act,
        group(per_sample_index), B, group(L.activations))
    else
      lines[#lines + 1] = ("  activations = %s values·%d·%d = %s"):format(group(peak), d.act, B, group(L.activations))
    end
    if L.kv then
      lines[#lines + 1] = ("  KV cache    = 2·layers·kv_heads·head_dim·tokens·batch·bytes = 2·%d·%d·%d·%d·%d·%d = %s"):format(
        L.kv.layers, L.kv.kv_heads, L.kv.head_dim, L.kv.tokens, B, d.act, group(L.kv_cache))
    end
  end
  L.text = table.concat(lines, "\n")
  setmetatable(L, { __tostring = function(t) return t.text end })
  if not o.quiet then
    io.write(L.text, "\n")
    L._printed = true
  end
  return L
end

-- fit_batch(model, input_shape, bytes [, opts]): the largest batch whose
-- training memory fits, from memory's linear form a·batch + b.
function M.fit_batch(model, shape, mem, o)
  o = o or {}
  local copy = {}
  for k, v in pairs(o) do copy[k] = v end
  copy.memory, copy.quiet = mem, true
  local L = M.memory(model, shape, copy)
  if not o.quiet then
    io.write(("largest batch: floor((%s − %s) / %s) = %s\n"):format(group(mem), group(L.fixed), group(L.per_sample),
      group(L.max_batch)))
  end
  return L.max_batch, L
end

-- ---- compute and time ---------------------------------------------------------------

local compute_opts = { params = 1, tokens = 1, flops_per_token = 1, rule = 1, layers = 1, heads = 1, head_dim = 1,
  context = 1, gpus = 1, peak_flops = 1, mfu = 1, time = 1, samples = 1, flash = 1, explain = 1, quiet = 1 }

-- train_compute{params=, tokens=, gpus=, peak_flops=, mfu=} (6ND, or PaLM's
-- 6N + 12·L·H·Q·T per token with rule = "palm"), or
-- train_compute(model, input_shape, {tokens= | samples=, ...}): forward
-- FLOPs from summary (2 per multiply-add), backward 2x the forward (2.5x for
-- the attention products with flash = true, FlashAttention's recomputation).
function M.train_compute(a, shape, o)
  local fname = "train_compute"
  local model
  if nn.is_module(a) then model, o = a, o or {} else o = a end
  if type(o) ~= "table" then error("train_compute: options expected, e.g. train_compute{params = 124e6, tokens = 300e9}", 2) end
  known(fname, o, compute_opts)
  local R = { lines = {} }
  local function say(s) R.lines[#R.lines + 1] = s end
  local per_token, what
  if model then
    local s = summary(model, shape, { quiet = true })
    local fwd, attn = 2 * s.total.macs, 0
    for _, r in ipairs(s) do
      if r.part and r.kind == "attention" then attn = attn + 2 * (r.macs or 0) end
    end
    local bwd = 2 * (fwd - attn) + (o.flash and 2.5 or 2) * attn
    local per_sample = fwd + bwd
    local tokens_per_sample = 1
    for _, v in ipairs(shape) do tokens_per_sample = tokens_per_sample * v end
    R.forward, R.backward = fwd, bwd
    if o.samples then
      R.flops = per_sample * o.samples
      what = ("(forward %s + backward %s) FLOPs per sample x %s samples"):format(group(fwd), group(bwd), group(o.samples))
    else
      if not o.tokens then error("train_compute: give tokens = (tokens trained on) or samples =", 2) end
      per_token = per_sample / tokens_per_sample
      R.flops = per_token * o.tokens
      what = ("(forward %s + backward %s%s) FLOPs per sample of %s tokens x %s tokens"):format(group(fwd), group(bwd),
        o.flash and ", attention products 2.5x in the backward (FlashAttention)" or " = 2x forward",
        group(tokens_per_sample), group(o.tokens))
    end
  else
    local N, D = o.params, o.tokens
    if type(N) ~= "number" or type(D) ~= "number" then error("train_compute: params = N and tokens = D are needed", 2) end
    local rule = o.rule or (o.flops_per_token and "given" or "6ND")
    if rule == "6ND" then
      per_token = 6 * N
      what = ("6·N·D = 6·%s·%s"):format(group(N), fmt.num(D))
    elseif rule == "palm" then
      for _, k in ipairs({ "layers", "heads", "head_dim", "context" }) do
        if not o[k] then error("train_compute: rule = \"palm\" needs layers, heads, head_dim and context", 2) end
      end
      per_token = 6 * N + 12 * o.layers * o.heads * o.head_dim * o.context
      what = ("(6N + 12·L·H·Q·T)·D = (6·%s + 12·%d·%d·%d·%d)·%s"):format(group(N), o.layers, o.heads, o.head_dim, o.context, fmt.num(D))
    elseif rule == "given" then
      per_token = o.flops_per_token
      what = ("flops_per_token·D = %s·%s"):format(fmt.num(per_token), fmt.num(D))
    else
      error('train_compute: rule must be "6ND" or "palm"', 2)
    end
    R.flops = per_token * D
  end
  R.flops_per_token = per_token
  say(("FLOPs = %s = %s"):format(what, fmt.num(R.flops)))
  local gpus = o.gpus or 1
  if o.peak_flops then
    local peak = gpus * o.peak_flops
    if o.time then   -- measured: what utilization that was
      R.seconds = o.time
      R.mfu = R.flops / (o.time * peak)
      say(("MFU = FLOPs / (time·gpus·peak) = %s / (%s s·%d·%s) = %s"):format(fmt.num(R.flops), fmt.num(o.time), gpus,
        fmt.num(o.peak_flops), fmt.num(R.mfu)))
    else
      R.mfu = o.mfu or 1
      R.seconds = R.flops / (peak * R.mfu)
      say(("time = FLOPs / (gpus·peak·MFU) = %s / (%d·%s·%s) = %s s = %s h = %.2f days"):format(fmt.num(R.flops), gpus,
        fmt.num(o.peak_flops), fmt.num(R.mfu), fmt.num(R.seconds), fmt.num(R.seconds / 3600), R.seconds / 86400))
    end
    R.days = R.seconds / 86400
    if o.tokens then
      R.tokens_per_second = o.tokens / R.seconds
      say(("tokens/s = %s / %s s = %s"):format(fmt.num(o.tokens), fmt.num(R.seconds), fmt.num(R.tokens_per_second)))
    end
  end
  R.text = table.concat(R.lines, "\n")
  setmetatable(R, { __tostring = function(t) return t.text end })
  if not o.quiet then io.write(R.text, "\n"); R._printed = true end
  return R
end

return M
