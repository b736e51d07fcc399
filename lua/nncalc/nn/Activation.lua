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

local function simple(name, fn)
  local C = Module.class(name)
  C.elementwise = true
  C.cost = activation_cost
  C.counters = activation_counters
  C.out_shape = Module.same_shape
  function C:compute(x) return fn(x) end
  M[name] = C
  return C
end

simple("ReLU", relu)
simple("Sigmoid", sigmoid)
simple("Tanh", tanh)
simple("Softplus", softplus)

local LeakyReLU = Module.class("LeakyReLU")
LeakyReLU.elementwise = true
LeakyReLU.cost = activation_cost
LeakyReLU.counters = activation_counters
LeakyReLU.out_shape = Module.same_shape
function LeakyReLU:init(slope)
  self.negative_slope = slope or 0.01
  if type(self.negative_slope) ~= "number" then
    error("LeakyReLU: negative_slope must be a number", 3)
  end
end
function LeakyReLU:compute(x) return leaky_relu(x, self.negative_slope) end
function LeakyReLU:extra_repr() return "negative_slope=" .. self.negative_slope end
M.LeakyReLU = LeakyReLU

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
  function C:init(dim)
    local d = type(dim) == "number" and math.tointeger(dim)
    if dim ~= nil and not d then error(name .. ": dim must be a whole number, got " .. tostring(dim), 3) end
    self.dim = d or nil
  end
  function C:compute(x) return fn(x, self.dim) end
  function C:extra_repr() return self.dim and ("dim=" .. self.dim) or "" end
  M[name] = C
end
softmax_class("Softmax", softmax)
softmax_class("LogSoftmax", log_softmax)

return M
