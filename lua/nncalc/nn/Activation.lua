-- nn/Activation.lua — elementwise activations and softmax as modules.
local Module = require("nncalc.nn.Module")
local M = {}


-- an activation is evaluated once per element
local function activation_cost(self, s, out)
  local n = 1
  for i = 1, #out do n = n * out[i] end
  return { acts = n, bwd_input = n, saved = n }
end

-- torchscan's FLOPs per element of each activation; ptflops counts ReLU-like
-- ones as one per element; the other counters ignore activations
local scan_per_element = { ReLU = 1, LeakyReLU = 4, Sigmoid = 4, Tanh = 6 }
local function activation_counters(self, r)
  local c = { torchscan = (scan_per_element[self.class_name] or 0) * r.in_n }
  if self.class_name == "ReLU" or self.class_name == "LeakyReLU" then c.ptflops = r.out_n end
  return c
end

-- order/defaults: PyTorch's settings, taken at their defaults only (ReLU's
-- inplace changes nothing here; Softplus(beta=2) is refused, not ignored)
local function simple(name, fn, order, defaults)
  local C = Module.class(name)
  C.elementwise = true
  C.cost = activation_cost
  C.counters = activation_counters
  C.out_shape = Module.same_shape
  local forms = { ("nn.%s()"):format(name), ("nn.%s{}"):format(name) }
  function C:init(...)
    local opts = Module.only_default(name, Module.settings(name, order, forms, ...), defaults)
    opts.inplace = nil
    local k = next(opts)
    if k ~= nil then error(("%s: unknown option '%s'"):format(name, tostring(k)), 3) end
  end
  function C:compute(x) return fn(x) end
  M[name] = C
  return C
end

simple("ReLU", relu, { "inplace" }, {})
simple("Sigmoid", sigmoid, {}, {})
simple("Tanh", tanh, {}, {})
simple("Softplus", softplus, { "beta", "threshold" }, { beta = 1, threshold = 20 })

local LeakyReLU = Module.class("LeakyReLU")
LeakyReLU.elementwise = true
LeakyReLU.cost = activation_cost
LeakyReLU.counters = activation_counters
LeakyReLU.out_shape = Module.same_shape
-- nn.LeakyReLU(0.2 [, inplace]) or nn.LeakyReLU{negative_slope = 0.2}
function LeakyReLU:init(...)
  local opts = Module.settings("LeakyReLU", { "negative_slope", "inplace" },
    { "nn.LeakyReLU(0.2)", "nn.LeakyReLU{negative_slope = 0.2}" }, ...)
  for key in pairs(opts) do
    if key ~= "negative_slope" and key ~= "inplace" then
      error(("LeakyReLU: unknown option '%s' (negative_slope, inplace)"):format(tostring(key)), 3)
    end
  end
  self.negative_slope = opts.negative_slope or 0.01
  if type(self.negative_slope) ~= "number" then
    error("LeakyReLU: negative_slope must be a number", 3)
  end
end
function LeakyReLU:compute(x) return leaky_relu(x, self.negative_slope) end
function LeakyReLU:extra_repr() return "negative_slope=" .. self.negative_slope end
M.LeakyReLU = LeakyReLU

-- SiLU (swish): x·σ(x); ReLU6: min(max(x, 0), 6), as PyTorch.
simple("SiLU", silu, { "inplace" }, {})
simple("ReLU6", relu6, { "inplace" }, {})

-- ELU(alpha): x for x > 0, alpha·(eˣ − 1) otherwise.
local ELU = Module.class("ELU")
ELU.cost = activation_cost
ELU.out_shape = Module.same_shape
function ELU:init(alpha)
  if type(alpha) == "table" then alpha = alpha.alpha end
  self.alpha = alpha or 1.0
  if type(self.alpha) ~= "number" then error("ELU: alpha must be a number", 3) end
end
function ELU:compute(x) return elu(x, self.alpha) end
function ELU:extra_repr() return "alpha=" .. self.alpha end
M.ELU = ELU

-- GELU{approximate="none"|"tanh"}: x·Φ(x) with Φ the normal CDF
-- (0.5·(1 + erf(x/√2))), or PyTorch's tanh form
-- 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), which GPT-2 used.
local GELU = Module.class("GELU")
GELU.cost = activation_cost
GELU.out_shape = Module.same_shape
function GELU:init(o)
  local a = type(o) == "table" and o.approximate or o
  if a == nil then a = "none" end
  if a ~= "none" and a ~= "tanh" then
    error(('GELU: approximate must be "none" or "tanh", got %s'):format(tostring(a)), 3)
  end
  self.approximate = a
end
function GELU:compute(x) return gelu(x, { approximate = self.approximate }) end
-- ptflops and DeepSpeed count one per element; fvcore, thop, FlopCounterMode 0
function GELU:counters(r) return { ptflops = r.in_n, deepspeed = r.in_n } end
function GELU:extra_repr() return self.approximate == "tanh" and "approximate='tanh'" or "" end
M.GELU = GELU

-- Softmax(dim): dim defaults to the last one, which is the class dim for
-- both a single sample (C) and a batch (N x C).
local function softmax_class(name, fn)
  local C = Module.class(name)
  C.elementwise = true   -- the same neurons, normalised together
  C.out_shape = Module.same_shape
  -- e^x per element, then a sum and a division per element
  function C:cost(s, out)
    local n = 1
    for i = 1, #out do n = n * out[i] end
    local classes = out[#out] or 1
    return { acts = n, adds = n - n // classes, mults = n, bwd_input = 2 * n, saved = n }
  end
  function C:init(...)
    local opts = Module.settings(name, { "dim" }, { ("nn.%s(1)"):format(name), ("nn.%s{dim = 1}"):format(name) }, ...)
    for key in pairs(opts) do
      if key ~= "dim" then error(("%s: unknown option '%s' (dim)"):format(name, tostring(key)), 3) end
    end
    local dim = opts.dim
    local d = type(dim) == "number" and math.tointeger(dim)
    if dim ~= nil and not d then error(name .. ": dim must be a whole number, got " .. tostring(dim), 3) end
    if d == 0 then
      error(("%s: dim 0 does not exist: dims are 1-based (PyTorch's nn.%s(dim=1) over the classes of N x C is nn.%s(2), or -1)")
        :format(name, name, name), 3)
    end
    self.dim = d or nil
  end
  function C:compute(x) return fn(x, self.dim) end
  -- every element of the softmax dim depends on all of it (dim is of the
  -- input as given; receptive_region walks one sample, so a batch's dim 2
  -- is the sample's dim 1)
  function C:input_region(reg, shape, batched)
    local d = self.dim or #shape
    if d < 0 then d = #shape + 1 + d elseif self.dim and batched then d = d - 1 end
    local r = {}
    for k = 1, #reg do r[k] = reg[k] end
    if d >= 1 and d <= #shape then r[d] = { 1, shape[d] } end
    return r
  end
  function C:extra_repr() return self.dim and ("dim=" .. self.dim) or "" end
  M[name] = C
end
softmax_class("Softmax", softmax)
softmax_class("LogSoftmax", log_softmax)

return M
