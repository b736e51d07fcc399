-- nn/LayerNorm.lua — normalisation over features, per sample: LayerNorm,
-- RMSNorm and GroupNorm, as PyTorch defines them (biased variance, eps
-- inside the square root).  Unlike BatchNorm they behave the same in
-- training and evaluation and keep no running statistics.
local Module = require("nncalc.nn.Module")
local M = {}

local function positive(cls, what, v) return Module.whole(cls, what, v, 3) end

local numel = require("nncalc.nn.Module").numel

-- normalized_shape: d or {d1, d2 ...}, the trailing dims normalised together
local function norm_shape(cls, v)
  local s = type(v) == "table" and { table.unpack(v) } or { v }
  if #s == 0 then error(cls .. ": normalized_shape must not be empty", 3) end
  for i = 1, #s do s[i] = positive(cls, "normalized_shape", s[i]) end
  return s
end

local function check_tail(self, s)
  local k, n = #self.normalized_shape, #s
  local ok = n >= k
  for i = 1, k do ok = ok and s[n - k + i] == self.normalized_shape[i] end
  if not ok then
    error(("%s(%s): input shape {%s} does not end in {%s}"):format(self.class_name,
      table.concat(self.normalized_shape, ", "), table.concat(s, ", "), table.concat(self.normalized_shape, ", ")), 3)
  end
end

-- Flattens the normalised dims into one (rows x features), applies f, and
-- restores the shape.
local function over_tail(self, x, f)
  local s = x:shape()
  check_tail(self, s)
  local d = numel(self.normalized_shape)
  local y = f(x:reshape(numel(s) // d, d))
  if self.affine then
    y = y:cmul(self.weight:reshape(d))
    if self.has_bias then y = y + self.bias:reshape(d) end
  end
  return y:reshape(table.unpack(s))
end

-- ---- LayerNorm: (x − mean)/sqrt(var + eps)·γ + β over the last dims ----------

local LayerNorm = Module.class("LayerNorm")
LayerNorm.elementwise = true
-- nn.LayerNorm(d [, {eps=1e-5, elementwise_affine=true, bias=true}])
-- PyTorch's positional order: LayerNorm(shape, eps, elementwise_affine, bias)
function LayerNorm:init(shape, ...)
  local o = Module.settings("LayerNorm", { "eps", "elementwise_affine", "bias" },
    { "nn.LayerNorm(64, 1e-6)", "nn.LayerNorm(64, {eps = 1e-6})" }, ...)
  self.normalized_shape = norm_shape("LayerNorm", shape)
  self.eps = o.eps or 1e-5
  self.affine = o.elementwise_affine ~= false
  self.has_bias = self.affine and o.bias ~= false
  if self.affine then self:param("weight", self.normalized_shape, "ones") end
  if self.has_bias then self:param("bias", self.normalized_shape, "zeros") end
end
function LayerNorm:compute(x)
  return over_tail(self, x, function(r)
    local c = r - r:mean(2, true)
    return c / sqrt((c ^ 2):mean(2, true) + self.eps)
  end)
end
function LayerNorm:out_shape(s) check_tail(self, s); return { table.unpack(s) } end
-- Per row of d features: mean d−1 adds + 1 division, x − μ d subtractions,
-- (x − μ)² d mults, variance d−1 adds + 1 division, + eps 1 add, one
-- square root (the "norm evaluation"), d divisions; γ d mults, β d adds.
-- Divisions count as mults.
function LayerNorm:cost(s)
  local d = numel(self.normalized_shape)
  local rows = numel(s) // d
  local n = rows * d
  return { weights = self.affine and d or 0, biases = self.has_bias and d or 0,
    mults = 2 * n + 2 * rows + (self.affine and n or 0), adds = n + 2 * (n - rows) + rows,
    bias_adds = self.has_bias and n or 0, acts = rows, bwd_input = 3 * n, bwd_weight = self.affine and n or 0,
    saved = n + rows }
end
function LayerNorm:explain(r, group)
  local d = numel(self.normalized_shape)
  local rows = numel(r.in_shape) // d
  return { ("params = γ %d%s = %s"):format(d, self.has_bias and (" + β " .. d) or "", group(r.params)),
    ("%s rows of d = %d: mults = 2·%s (square, ÷σ) + 2·%s (÷d twice)%s = %s"):format(group(rows), d,
      group(rows * d), group(rows), self.affine and (" + " .. group(rows * d) .. " (γ)") or "", group(r.mults)),
    ("norm evaluations (square roots) = %s, one per row"):format(group(rows)) }
end
-- other counters: fvcore and DeepSpeed 5·numel (4 without affine), thop
-- 4·numel (2), ptflops 2·numel (1), torchinfo parameters × batch
function LayerNorm:counters(r)
  local aff = self.affine
  local batch = #r.in_shape >= 3 and r.in_shape[1] or 1
  return { fvcore = r.in_n * (aff and 5 or 4), thop = r.in_n * (aff and 4 or 2), ptflops = r.in_n * (aff and 2 or 1),
    deepspeed = r.in_n * (aff and 5 or 4), flop_counter = 0,
    torchinfo = batch * (aff and numel(self.normalized_shape) * (self.has_bias and 2 or 1) or 0) }
end
function LayerNorm:extra_repr()
  return ("(%s,), eps=%g, elementwise_affine=%s%s"):format(table.concat(self.normalized_shape, ", "), self.eps,
    tostring(self.affine), self.affine and not self.has_bias and ", bias=false" or "")
end
M.LayerNorm = LayerNorm

-- ---- RMSNorm: x / sqrt(mean(x²) + eps)·γ (LLaMA, T5) ---------------------------

local RMSNorm = Module.class("RMSNorm")
RMSNorm.elementwise = true
-- nn.RMSNorm(d [, {eps=, elementwise_affine=true}]); eps defaults, as in
-- PyTorch, to the float type's epsilon (2⁻⁵² for our float64).
function RMSNorm:init(shape, ...)
  local o = Module.settings("RMSNorm", { "eps", "elementwise_affine" },
    { "nn.RMSNorm(64, 1e-6)", "nn.RMSNorm(64, {eps = 1e-6})" }, ...)
  self.normalized_shape = norm_shape("RMSNorm", shape)
  self.eps = o.eps
  self.affine = o.elementwise_affine ~= false
  self.has_bias = false
  if self.affine then self:param("weight", self.normalized_shape, "ones") end
end
function RMSNorm:compute(x)
  local eps = self.eps or 2 ^ -52
  return over_tail(self, x, function(r) return r / sqrt((r ^ 2):mean(2, true) + eps) end)
end
RMSNorm.out_shape = LayerNorm.out_shape
-- per row: d squares, d−1 adds + 1 division, + eps, one square root,
-- d divisions, γ d mults
function RMSNorm:cost(s)
  local d = numel(self.normalized_shape)
  local rows = numel(s) // d
  local n = rows * d
  return { weights = self.affine and d or 0, mults = 2 * n + rows + (self.affine and n or 0),
    adds = n, acts = rows, bwd_input = 3 * n, bwd_weight = self.affine and n or 0, saved = n + rows }
end
function RMSNorm:extra_repr()
  return ("(%s,), eps=%s, elementwise_affine=%s"):format(table.concat(self.normalized_shape, ", "),
    self.eps and ("%g"):format(self.eps) or "None", tostring(self.affine))
end
M.RMSNorm = RMSNorm

-- ---- GroupNorm: channels split into groups, each normalised per sample ---------

local GroupNorm = Module.class("GroupNorm")
GroupNorm.elementwise = true
-- nn.GroupNorm(groups, channels [, {eps=1e-5, affine=true}]) on N x C x ...
function GroupNorm:init(g, c, ...)
  local o = Module.settings("GroupNorm", { "eps", "affine" },
    { "nn.GroupNorm(4, 32, 1e-6)", "nn.GroupNorm(4, 32, {eps = 1e-6})" }, ...)
  g = positive("GroupNorm", "num_groups", g)
  c = positive("GroupNorm", "num_channels", c)
  if c % g ~= 0 then error(("GroupNorm: num_channels %d is not divisible by num_groups %d"):format(c, g), 3) end
  self.num_groups, self.num_channels, self.eps = g, c, o.eps or 1e-5
  self.affine = o.affine ~= false
  if self.affine then
    self:param("weight", { c }, "ones")
    self:param("bias", { c }, "zeros")
  end
end
function GroupNorm:out_shape(s)
  if #s < 2 or s[2] ~= self.num_channels then
    error(("GroupNorm(%d, %d): expects N x %d x ..., got {%s}"):format(self.num_groups, self.num_channels,
      self.num_channels, table.concat(s, ", ")), 3)
  end
  return { table.unpack(s) }
end
function GroupNorm:compute(x)
  local s = x:shape()
  self:out_shape(s)
  local r = x:reshape(s[1], self.num_groups, numel(s) // (s[1] * self.num_groups))
  local c = r - r:mean(3, true)
  local y = (c / sqrt((c ^ 2):mean(3, true) + self.eps)):reshape(table.unpack(s))
  if not self.affine then return y end
  local bs = { self.num_channels }
  for _ = 3, #s do bs[#bs + 1] = 1 end
  return y:cmul(self.weight:reshape(table.unpack(bs))) + self.bias:reshape(table.unpack(bs))
end
-- as LayerNorm, with a row = one group of one sample
function GroupNorm:cost(s)
  local n = numel(s)
  local rows = s[1] * self.num_groups
  return { weights = self.affine and self.num_channels or 0, biases = self.affine and self.num_channels or 0,
    mults = 2 * n + 2 * rows + (self.affine and n or 0), adds = n + 2 * (n - rows) + rows,
    bias_adds = self.affine and n or 0, acts = rows, bwd_input = 3 * n, bwd_weight = self.affine and n or 0,
    saved = n + rows }
end
function GroupNorm:extra_repr()
  return ("%d, %d, eps=%g, affine=%s"):format(self.num_groups, self.num_channels, self.eps, tostring(self.affine))
end
M.GroupNorm = GroupNorm

return M
