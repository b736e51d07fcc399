-- nn/Norm.lua — BatchNorm1d / BatchNorm2d and Dropout: layers that behave
-- differently in training (net:train()) and evaluation (net:eval()).
local Module = require("nncalc.nn.Module")
local M = {}

local function bn_class(name, dims)
  local C = Module.class(name)
  C.elementwise = true
  -- nn.BatchNorm2d(C [, eps, momentum, affine]) or (C, {eps=1e-5, momentum=0.1, affine=true})
  local forms = { ("nn.%s(64, 1e-5, 0.1)"):format(name), ("nn.%s(64, {eps = 1e-5, momentum = 0.1})"):format(name) }
  function C:init(c, ...)
    local opts = Module.only_default(name, Module.settings(name, { "eps", "momentum", "affine", "track_running_stats" },
      forms, ...), { track_running_stats = true })
    for key in pairs(opts) do
      if key ~= "eps" and key ~= "momentum" and key ~= "affine" then
        error(("%s: unknown option '%s' (eps, momentum, affine)"):format(name, tostring(key)), 3)
      end
    end
    if opts.eps ~= nil and (type(opts.eps) ~= "number" or opts.eps < 0) then
      error(("%s: eps must be a number >= 0, got %s"):format(name, tostring(opts.eps)), 3)
    end
    if opts.momentum ~= nil and (type(opts.momentum) ~= "number" or opts.momentum < 0 or opts.momentum > 1) then
      error(("%s: momentum must be a number in [0, 1], got %s"):format(name, tostring(opts.momentum)), 3)
    end
    local n = type(c) == "number" and math.tointeger(c)   -- 64.0 is 64
    if not n or n < 1 then
      error(("%s: num_features must be a positive whole number, got %s"):format(name, tostring(c)), 3)
    end
    c = n
    self.num_features = c
    self.eps = opts.eps or 1e-5
    self.momentum = opts.momentum or 0.1
    self.affine = opts.affine ~= false
    if self.affine then
      self:param("weight", { c }, "ones")
      self:param("bias", { c }, "zeros")
    end
    self:buffer("running_mean", zeros(c))
    self:buffer("running_var", ones(c))
  end
  function C:compute(x)
    local ok, single = false, x:dim() == dims[1] - 1   -- one sample without a batch dim
    for _, d in ipairs(dims) do if x:dim() == d then ok = true end end
    if not ok and not single then
      error(("%s: expects an input of %s dims (batch first), got shape {%s}"):format(
        name, table.concat(dims, " or "), table.concat(x:shape(), ", ")), 3)
    end
    if single then return self:compute(x:unsqueeze(1)):squeeze(1) end
    return batch_norm(x, { weight = self.affine and self.weight or nil, bias = self.affine and self.bias or nil,
      running_mean = self.running_mean, running_var = self.running_var,
      training = self.training, momentum = self.momentum, eps = self.eps })
  end
  -- the channel dim is the second, or the first for one sample given
  -- without a batch dim ({C, H, W} for BatchNorm2d, {C} for BatchNorm1d)
  function C:out_shape(s)
    local cdim = #s == dims[1] - 1 and 1 or 2
    if s[cdim] ~= self.num_features then
      error(("%s(%d): input shape {%s} has %s channels in dim %d"):format(name, self.num_features,
        table.concat(s, ", "), tostring(s[cdim]), cdim), 2)
    end
    return { table.unpack(s) }
  end
  -- (x − mean)·invstd·γ + β: one subtraction, two multiplications and one
  -- addition per element in evaluation
  function C:cost(s, out)
    local n = 1
    for i = 1, #s do n = n * s[i] end
    return { weights = self.affine and self.num_features or 0, biases = self.affine and self.num_features or 0,
      buffers = 2 * self.num_features, mults = 2 * n, adds = 2 * n, bwd_input = 3 * n, bwd_weight = n, saved = n }
  end
  function C:counters(r)
    local k = self.affine and 2 or 1
    return { ptflops = r.in_n * k, fvcore = r.in_n * k, torchscan = 2 * self.num_features + r.in_n * 2 * k,
      torchinfo = self.affine and (#r.in_shape >= 2 and r.in_shape[1] or 1) * 2 * self.num_features or 0 }
  end
  function C:extra_repr()
    return ("%d, eps=%g, momentum=%g, affine=%s"):format(self.num_features, self.eps, self.momentum,
      tostring(self.affine))
  end
  M[name] = C
end

bn_class("BatchNorm1d", { 2, 3 })
bn_class("BatchNorm2d", { 4 })

-- Dropout(p): in training, each element is zeroed with probability p and
-- the rest scaled by 1/(1-p) (the mask comes from the seeded generator);
-- in evaluation it passes x through.
local Dropout = Module.class("Dropout")
Dropout.elementwise = true
-- in evaluation the identity; in training one multiplication per element
-- by the mask (not counted: the counts are of inference)
function Dropout:cost() return {} end
function Dropout:counters(r) return { torchscan = self.p > 0 and r.in_n or 0 } end
Dropout.out_shape = Module.same_shape
-- nn.Dropout(p [, inplace]) or nn.Dropout{p = 0.3}; inplace is accepted and
-- changes nothing (nncalc never overwrites a layer's input)
function Dropout:init(...)
  local opts = Module.settings("Dropout", { "p", "inplace" }, { "nn.Dropout(0.3)", "nn.Dropout{p = 0.3}" }, ...)
  for key in pairs(opts) do
    if key ~= "p" and key ~= "inplace" then error(("Dropout: unknown option '%s' (p, inplace)"):format(tostring(key)), 3) end
  end
  local p = opts.p
  if p == nil then p = 0.5 end
  if type(p) ~= "number" or p < 0 or p >= 1 then
    error("Dropout: p must be a probability in [0, 1), got " .. tostring(p), 3)
  end
  self.p = p
end
function Dropout:compute(x)
  if not self.training or self.p == 0 then return x end
  local keep = rand(x:shape()):ge(self.p)
  return x:cmul(keep) * (1 / (1 - self.p))
end
function Dropout:extra_repr() return "p=" .. self.p end
M.Dropout = Dropout

return M
