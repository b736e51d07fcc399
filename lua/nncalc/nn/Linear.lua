-- nn/Linear.lua — y = W x + b, with W of shape out x in as on homework
-- sheets.  Initialised as PyTorch does: weights and biases uniform in
-- [-1/sqrt(in), 1/sqrt(in)], from the module's own seed.
local Module = require("nncalc.nn.Module")
local Linear = Module.class("Linear")

local function check_size(cls, what, v) return Module.whole(cls, what, v, 3) end

-- nn.Linear(in, out [, bias]) or nn.Linear(in, out, {bias=true, weight=W, bias=b})
function Linear:init(nin, nout, ...)
  nin = check_size("Linear", "in_features", nin)
  nout = check_size("Linear", "out_features", nout)
  local opts = Module.settings("Linear", { "bias" }, { "nn.Linear(4, 3, false)", "nn.Linear(4, 3, {bias = false})" }, ...)
  for key in pairs(opts) do
    if key ~= "bias" and key ~= "weight" then error(("Linear: unknown option '%s' (bias, weight)"):format(tostring(key)), 3) end
  end
  self.in_features, self.out_features = nin, nout
  local bound = 1 / math.sqrt(nin)
  self:param("weight", { nout, nin }, bound, opts.weight)
  self.has_bias = opts.bias ~= false
  if self.has_bias then
    self:param("bias", { nout }, bound, nncalc.is_tensor(opts.bias) and opts.bias or nil)
  end
end

-- on the last dim of anything: leading dims beyond a batch are folded into it
function Linear:compute(x)
  local b = self.has_bias and self.bias or nil
  if x:dim() <= 2 then return linear(x, self.weight, b) end
  local s = x:shape()
  local y = linear(x:reshape(x:numel() // s[#s], s[#s]), self.weight, b)
  s[#s] = self.out_features
  return y:reshape(table.unpack(s))
end

function Linear:out_shape(s)
  local n = #s
  if n < 1 or s[n] ~= self.in_features then
    error(("Linear(%d -> %d): input shape {%s} does not end in %d features"):format(
      self.in_features, self.out_features, table.concat(s, ", "), self.in_features), 2)
  end
  local out = { table.unpack(s) }
  out[n] = self.out_features
  return out
end

-- Counts for one forward pass on an input of shape s (all samples):
-- y_i = Σ_j W_ij x_j + b_i takes `in` multiplications and in-1 additions
-- (+1 for the bias) per output.
function Linear:cost(s, out)
  local rows = 1
  for i = 1, #s - 1 do rows = rows * s[i] end
  local nout = rows * self.out_features
  local macs = nout * self.in_features
  return { weights = self.in_features * self.out_features, biases = self.has_bias and self.out_features or 0,
    mults = macs, adds = nout * (self.in_features - 1), bias_adds = self.has_bias and nout or 0,
    conns = macs, macs = macs, bwd_input = macs, bwd_weight = macs, saved = rows * self.in_features }
end

-- every output sees every input: the receptive field becomes everything
function Linear:window() return false end

function Linear:counters(r)
  local bias = self.has_bias and r.out_n or 0
  -- torchinfo: the parameters x the output's first size (N of {N, T, in}, not N·T)
  local batch = (#r.in_shape >= 2) and r.out_shape[1] or 1
  return { fvcore = r.macs, flop_counter = 2 * r.macs, thop = r.macs, ptflops = r.macs + bias, deepspeed = 2 * r.macs,
    torchinfo = batch * (self.in_features * self.out_features + (self.has_bias and self.out_features or 0)),
    torchscan = r.out_n * (2 * self.in_features - 1) + bias }
end

function Linear:explain(r, group)
  local nout = 1
  for _, v in ipairs(r.out_shape) do nout = nout * v end
  return { ("params = %d·%d%s = %s"):format(self.out_features, self.in_features,
      self.has_bias and (" + " .. self.out_features) or "", group(r.params)),
    ("mults = %s outputs · %d inputs = %s"):format(group(nout), self.in_features, group(r.mults)) }
end

function Linear:extra_repr()
  return ("in_features=%d, out_features=%d, bias=%s"):format(self.in_features, self.out_features,
    tostring(self.has_bias))
end

return Linear
