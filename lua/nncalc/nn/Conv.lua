-- nn/Conv.lua — Conv2d and ConvTranspose2d.  Settings are a number or an
-- {h, w} pair; images are C x H x W or N x C x H x W.  Weights initialised
-- as PyTorch does: uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)].
local Module = require("nncalc.nn.Module")
local M = {}

local function pair(cls, what, v, min)
  if type(v) == "number" then v = { v, v } end
  if type(v) ~= "table" or #v ~= 2 then
    error(("%s: %s must be a number or an {h, w} pair"):format(cls, what), 4)
  end
  local out = {}
  for i = 1, 2 do   -- 3.0 and 2^1 are whole numbers, 2.5 is not
    out[i] = type(v[i]) == "number" and math.tointeger(v[i])
    if not out[i] or out[i] < min then
      error(("%s: %s must be whole numbers >= %d, got %s"):format(cls, what, min, tostring(v[i])), 4)
    end
  end
  return out
end

local known = { stride = 1, padding = 1, dilation = 1, groups = 1, bias = 1, weight = 1,
  output_padding = 1 }

local function settings(self, cls, cin, cout, k, opts, transposed)
  opts = require("nncalc.named").options(cls, opts)
  for key in pairs(opts) do
    if not known[key] or (key == "output_padding" and not transposed) then
      error(("%s: unknown option '%s'"):format(cls, tostring(key)), 4)
    end
  end
  for _, v in ipairs({ { "in_channels", cin }, { "out_channels", cout } }) do
    local n = type(v[2]) == "number" and math.tointeger(v[2])
    if not n or n < 1 then
      error(("%s: %s must be a positive whole number, got %s"):format(cls, v[1], tostring(v[2])), 4)
    end
  end
  cin, cout = math.tointeger(cin), math.tointeger(cout)
  self.in_channels, self.out_channels = cin, cout
  self.kernel_size = pair(cls, "kernel_size", k, 1)
  self.stride = pair(cls, "stride", opts.stride or 1, 1)
  self.dilation = pair(cls, "dilation", opts.dilation or 1, 1)
  local padding = opts.padding or 0
  -- PyTorch's padding="valid" (none) and "same" (stride 1; the output keeps
  -- the input's size, which is symmetric padding d(k-1)/2 when that is whole)
  if padding == "valid" and not transposed then padding = 0
  elseif padding == "same" and not transposed then
    padding = {}
    for i = 1, 2 do
      local total = self.dilation[i] * (self.kernel_size[i] - 1)
      if self.stride[i] ~= 1 then error(('%s: padding="same" needs stride 1, as in PyTorch'):format(cls), 4) end
      if total % 2 ~= 0 then
        error(('%s: padding="same" with kernel %d and dilation %d pads %d rows, unevenly (PyTorch adds the extra one '
          .. 'at the end); nncalc pads evenly: give padding as numbers'):format(cls, self.kernel_size[i], self.dilation[i], total), 4)
      end
      padding[i] = total // 2
    end
  end
  self.padding = pair(cls, "padding", padding, 0)
  self.output_padding = pair(cls, "output_padding", opts.output_padding or 0, 0)
  for i = 1, 2 do   -- as PyTorch checks when the layer is built
    local op, s, d = self.output_padding[i], self.stride[i], self.dilation[i]
    if op >= math.max(s, d) then
      error(("%s: output_padding %d must be smaller than the stride %d or the dilation %d"):format(cls, op, s, d), 4)
    end
  end
  self.groups = type(opts.groups or 1) == "number" and math.tointeger(opts.groups or 1) or opts.groups
  if math.type(self.groups) ~= "integer" or self.groups < 1 or cin % self.groups ~= 0 or cout % self.groups ~= 0 then
    error(("%s: groups=%s must divide in_channels %d and out_channels %d"):format(
      cls, tostring(self.groups), cin, cout), 4)
  end
  self.has_bias = opts.bias ~= false
  local kh, kw = self.kernel_size[1], self.kernel_size[2]
  local wshape, fan_in
  if transposed then
    wshape = { cin, cout // self.groups, kh, kw }
    fan_in = (cout // self.groups) * kh * kw
  else
    wshape = { cout, cin // self.groups, kh, kw }
    fan_in = (cin // self.groups) * kh * kw
  end
  local bound = 1 / math.sqrt(fan_in)
  self:param("weight", wshape, bound, opts.weight)
  if self.has_bias then self:param("bias", { cout }, bound, nncalc.is_tensor(opts.bias) and opts.bias or nil) end
end

local function options(self)
  return { stride = self.stride, padding = self.padding, dilation = self.dilation,
    groups = self.groups, output_padding = self.transposed and self.output_padding or nil }
end

local function repr(self)
  local parts = { ("%d, %d, kernel_size=%s"):format(self.in_channels, self.out_channels,
    Module.pair_repr(self.kernel_size)) }
  local function add(name, v, default)
    if v[1] ~= default or v[2] ~= default then parts[#parts + 1] = name .. "=" .. Module.pair_repr(v) end
  end
  add("stride", self.stride, 1)
  add("padding", self.padding, 0)
  add("dilation", self.dilation, 1)
  if self.transposed then add("output_padding", self.output_padding, 0) end
  if self.groups ~= 1 then parts[#parts + 1] = "groups=" .. self.groups end
  if not self.has_bias then parts[#parts + 1] = "bias=false" end
  return table.concat(parts, ", ")
end

-- {C, H, W} or {N, C, H, W} in; the same layout out.
local function image_shape(self, s)
  local n = #s
  if n ~= 3 and n ~= 4 then
    error(("%s: expects an image {C, H, W} or a batch {N, C, H, W}, got {%s}"):format(
      self.class_name, table.concat(s, ", ")), 3)
  end
  if s[n - 2] ~= self.in_channels then
    error(("%s: input has %d channels, the layer expects %d (input shape {%s})"):format(
      self.class_name, s[n - 2], self.in_channels, table.concat(s, ", ")), 3)
  end
  return n
end

local function out_size(self, axis, size)
  local r, err
  if self.transposed then
    r, err = nncalc._conv_size(size, self.kernel_size[axis], self.stride[axis], self.padding[axis],
      self.dilation[axis], "transpose", self.output_padding[axis])
  else
    r, err = nncalc._conv_size(size, self.kernel_size[axis], self.stride[axis], self.padding[axis],
      self.dilation[axis])
  end
  if not r then error(("%s(%s): %s"):format(self.class_name, repr(self), err), 4) end
  return r
end

local function conv_class(name, transposed)
  local C = Module.class(name)
  -- PyTorch's positional order differs between the two
  local order = transposed and { "stride", "padding", "output_padding", "groups", "bias", "dilation", "padding_mode" }
    or { "stride", "padding", "dilation", "groups", "bias", "padding_mode" }
  local forms = { ("nn.%s(3, 64, 3, 1, 1)"):format(name), ("nn.%s(3, 64, 3, {stride = 1, padding = 1})"):format(name) }
  function C:init(cin, cout, k, ...)
    self.transposed = transposed
    local opts = Module.settings(name, order, forms, ...)
    Module.only_default(name, opts, { padding_mode = "zeros" })
    settings(self, name, cin, cout, k, opts, transposed)
  end
  function C:compute(x)
    local f = transposed and conv_transpose2d or conv2d
    return f(x, self.weight, self.has_bias and self.bias or nil, options(self))
  end
  function C:out_shape(s)
    local n = image_shape(self, s)
    local out = { table.unpack(s) }
    out[n - 2] = self.out_channels
    out[n - 1] = out_size(self, 1, s[n - 1])
    out[n] = out_size(self, 2, s[n])
    return out
  end
  -- Per output element of a convolution: (Cin/g)·kh·kw multiplications
  -- and one fewer additions (+1 for the bias).  A transposed convolution
  -- scatters each input element over kh·kw·Cout/g outputs instead.
  function C:cost(s, out)
    local n = #s
    local batch = n == 4 and s[1] or 1
    local kk = self.kernel_size[1] * self.kernel_size[2]
    local per_group_in = self.in_channels // self.groups
    local nout = batch * out[n - 2] * out[n - 1] * out[n]
    local macs, adds
    if transposed then
      macs = batch * s[n - 2] * s[n - 1] * s[n] * (self.out_channels // self.groups) * kk
      adds = macs - nout
    else
      macs = nout * per_group_in * kk
      adds = nout * (per_group_in * kk - 1)
    end
    local weights = self.in_channels * (self.out_channels // self.groups) * kk
    return { weights = weights, biases = self.has_bias and self.out_channels or 0,
      mults = macs, adds = adds, bias_adds = self.has_bias and nout or 0, macs = macs, conns = macs,
      bwd_input = macs, bwd_weight = macs, saved = batch * s[n - 2] * s[n - 1] * s[n] }
  end
  -- the window this layer applies, per axis, for receptive fields
  function C:window(axis)
    if transposed then return nil end
    return { k = self.kernel_size[axis], s = self.stride[axis], p = self.padding[axis], d = self.dilation[axis] }
  end
  -- output channels lo..hi read the input channels of their groups
  function C:input_channels(lo, hi)
    local per_out, per_in = self.out_channels // self.groups, self.in_channels // self.groups
    return (lo - 1) // per_out * per_in + 1, ((hi - 1) // per_out + 1) * per_in
  end
  if transposed then
    -- output o takes input i through tap t when o − 1 = (i − 1)s − p + d·t
    function C:input_region(reg, shape)
      local n, r = #shape, {}
      for d = 1, n - 3 do r[d] = reg[d] end
      r[n - 2] = { self:input_channels(reg[n - 2][1], reg[n - 2][2]) }
      for axis = 1, 2 do
        local o, s, p, d, k = reg[n - 2 + axis], self.stride[axis], self.padding[axis], self.dilation[axis],
          self.kernel_size[axis]
        r[n - 2 + axis] = { -((-(o[1] - 1 + p - d * (k - 1))) // s) + 1, (o[2] - 1 + p) // s + 1 }
      end
      return r
    end
  end
  function C:counters(r)
    local kk = self.kernel_size[1] * self.kernel_size[2]
    local cin_g = self.in_channels // self.groups
    local bias = self.has_bias and r.out_n or 0
    local per_out = r.out_n * cin_g * kk
    local params = self.out_channels * cin_g * kk + (self.has_bias and self.out_channels or 0)
    return { fvcore = r.macs, flop_counter = 2 * r.macs, thop = per_out, ptflops = per_out + bias,
      torchinfo = params * (r.out_n // self.out_channels), deepspeed = 2 * r.macs + bias,
      torchscan = r.out_n * (2 * cin_g * kk - 1) + bias + (transposed and 16 or 0) }
  end
  function C:explain(r, group)
    local kh, kw = self.kernel_size[1], self.kernel_size[2]
    local lines = { ("params = %d·(%d·%d·%d)%s = %s"):format(self.out_channels, self.in_channels // self.groups, kh, kw,
      self.has_bias and (" + " .. self.out_channels) or "", group(r.params)) }
    if not transposed then
      local n = #r.in_shape
      for axis = 1, 2 do
        local _, res = conv_out(r.in_shape[n - 2 + axis], self.kernel_size[axis], { stride = self.stride[axis],
          padding = self.padding[axis], dilation = self.dilation[axis] })
        lines[#lines + 1] = (axis == 1 and "H: " or "W: ") .. res.formula
      end
      local nout = 1
      for _, v in ipairs(r.out_shape) do nout = nout * v end
      lines[#lines + 1] = ("mults = outputs·(C_in/g·kh·kw) = %s·%d = %s"):format(group(nout),
        (self.in_channels // self.groups) * kh * kw, group(r.mults))
    end
    return lines
  end
  C.extra_repr = repr
  M[name] = C
end

conv_class("Conv2d", false)
conv_class("ConvTranspose2d", true)

return M
