-- nn/Norm.lua — BatchNorm1d / BatchNorm2d and Dropout: layers that behave
-- differently in training (net:train()) and evaluation (net:eval()).
local Module = require("nn.Module")
local M = {}

local function bn_class(name, dims)
  local C = Module.class(name)
  -- nn.BatchNorm2d(C [, {eps=1e-5, momentum=0.1, affine=true}])
  function C:init(c, opts)
    opts = opts or {}
    if math.type(c) ~= "integer" or c < 1 then
      error(("%s: num_features must be a positive whole number, got %s"):format(name, tostring(c)), 3)
    end
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
    local ok = false
    for _, d in ipairs(dims) do if x:dim() == d then ok = true end end
    if not ok then
      error(("%s: expects an input of %s dims (batch first), got shape {%s}"):format(
        name, table.concat(dims, " or "), table.concat(x:shape(), ", ")), 3)
    end
    return batch_norm(x, { weight = self.affine and self.weight or nil, bias = self.affine and self.bias or nil,
      running_mean = self.running_mean, running_var = self.running_var,
      training = self.training, momentum = self.momentum, eps = self.eps })
  end
  function C:out_shape(s)
    if s[2] ~= self.num_features then
      error(("%s(%d): input shape {%s} has %s features in dim 2"):format(name, self.num_features,
        table.concat(s, ", "), tostring(s[2])), 2)
    end
    return { table.unpack(s) }
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
function Dropout:init(p)
  p = p or 0.5
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
