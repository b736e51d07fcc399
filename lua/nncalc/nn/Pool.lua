-- nn/Pool.lua — MaxPool2d, AvgPool2d, AdaptiveAvgPool2d and Flatten.
-- The stride defaults to the kernel size, as in PyTorch.
local Module = require("nncalc.nn.Module")
local M = {}

-- settings past 2^31 - 1 are refused, as the C layers refuse them
-- (a whole number computed as a float, 2.0 or 2^1, counts as that integer)
local function pair(cls, what, v, min)
  if type(v) == "number" then v = { v, v } end
  if type(v) == "table" and #v == 2 and type(v[1]) == "number" and type(v[2]) == "number" then
    v = { math.tointeger(v[1]), math.tointeger(v[2]) }
  end
  if type(v) ~= "table" or #v ~= 2 or math.type(v[1]) ~= "integer" or math.type(v[2]) ~= "integer"
     or v[1] < min or v[2] < min or v[1] > 0x7fffffff or v[2] > 0x7fffffff then
    error(("%s: %s must be a whole number from %d to 2^31-1 or an {h, w} pair of them"):format(cls, what, min), 4)
  end
  return { v[1], v[2] }
end

local function image_dims(self, s)
  local n = #s
  if n ~= 3 and n ~= 4 then
    error(("%s: expects an image {C, H, W} or a batch {N, C, H, W}, got {%s}"):format(
      self.class_name, table.concat(s, ", ")), 3)
  end
  return n
end

local function pool_class(name, known, avg, order, unsupported)
  local C = Module.class(name)
  local forms = { ("nn.%s(3, 2, 1)"):format(name), ("nn.%s(3, {stride = 2, padding = 1})"):format(name) }
  function C:init(k, ...)
    local opts = Module.only_default(name, Module.settings(name, order, forms, ...), unsupported)
    for key in pairs(opts) do
      if not known[key] then error(("%s: unknown option '%s'"):format(name, tostring(key)), 3) end
    end
    self.kernel_size = pair(name, "kernel_size", k, 1)
    self.stride = pair(name, "stride", opts.stride or self.kernel_size, 1)
    self.padding = pair(name, "padding", opts.padding or 0, 0)
    self.dilation = pair(name, "dilation", opts.dilation or 1, 1)
    self.ceil_mode = opts.ceil_mode and true or false
    self.count_include_pad = opts.count_include_pad ~= false
    for i = 1, 2 do
      if self.padding[i] > self.kernel_size[i] // 2 then
        error(("%s: padding %d is more than half the kernel %d"):format(name, self.padding[i],
          self.kernel_size[i]), 3)
      end
    end
  end
  function C:options()
    local o = { stride = self.stride, padding = self.padding, ceil_mode = self.ceil_mode }
    -- set by field, not `avg and x or nil`, which would turn false into nil
    if avg then o.count_include_pad = self.count_include_pad else o.dilation = self.dilation end
    return o
  end
  function C:compute(x)
    return (avg and avg_pool2d or max_pool2d)(x, self.kernel_size, self:options())
  end
  function C:out_shape(s)
    local n = image_dims(self, s)
    local out = { table.unpack(s) }
    for axis = 1, 2 do
      local r, err = nncalc._conv_size(s[n - 2 + axis], self.kernel_size[axis], self.stride[axis],
        self.padding[axis], self.dilation[axis], "pool", self.ceil_mode)
      if not r then error(("%s(%s): %s"):format(name, self:extra_repr(), err), 2) end
      out[n - 2 + axis] = r
    end
    return out
  end
  -- Max pooling compares k·k − 1 times per output; average pooling adds
  -- k·k − 1 times and divides once.  Each output is connected to its k·k
  -- inputs (per channel).
  function C:cost(s, out)
    local nout = 1
    for i = 1, #out do nout = nout * out[i] end
    local kk = self.kernel_size[1] * self.kernel_size[2]
    local c = { weights = 0, biases = 0, mults = 0, adds = 0, bias_adds = 0, macs = 0,
      conns = nout * kk, comps = 0, bwd_input = 0, bwd_weight = 0, saved = 0 }
    if avg then
      c.adds, c.mults, c.bwd_input = nout * (kk - 1), nout, nout
    else
      -- the backward routes each gradient to its window's maximum: PyTorch
      -- keeps the input and the argmax of every output (an int64 index)
      local nin = 1
      for i = 1, #s do nin = nin * s[i] end
      c.comps, c.saved, c.saved_index = nout * (kk - 1), nin, nout
    end
    return c
  end
  function C:window(axis)
    return { k = self.kernel_size[axis], s = self.stride[axis], p = self.padding[axis],
      d = avg and 1 or self.dilation[axis] }
  end
  function C:counters(r)
    local kk = self.kernel_size[1] * self.kernel_size[2]
    return { ptflops = r.in_n, torchscan = r.out_n * (kk - 1 + (avg and 2 or 0)) }
  end
  function C:explain(r)
    local lines, n = {}, #r.in_shape
    for axis = 1, 2 do
      local _, res = pool_out(r.in_shape[n - 2 + axis], self.kernel_size[axis], { stride = self.stride[axis],
        padding = self.padding[axis], ceil_mode = self.ceil_mode })
      lines[#lines + 1] = (axis == 1 and "H: " or "W: ") .. res.formula
    end
    return lines
  end
  function C:extra_repr()
    local parts = { "kernel_size=" .. Module.pair_repr(self.kernel_size),
      "stride=" .. Module.pair_repr(self.stride) }
    if self.padding[1] ~= 0 or self.padding[2] ~= 0 then parts[#parts + 1] = "padding=" .. Module.pair_repr(self.padding) end
    if self.dilation[1] ~= 1 or self.dilation[2] ~= 1 then parts[#parts + 1] = "dilation=" .. Module.pair_repr(self.dilation) end
    if self.ceil_mode then parts[#parts + 1] = "ceil_mode=true" end
    if avg and not self.count_include_pad then parts[#parts + 1] = "count_include_pad=false" end
    return table.concat(parts, ", ")
  end
  M[name] = C
end

pool_class("MaxPool2d", { stride = 1, padding = 1, dilation = 1, ceil_mode = 1 }, false,
  { "stride", "padding", "dilation", "return_indices", "ceil_mode" }, { return_indices = false })
pool_class("AvgPool2d", { stride = 1, padding = 1, ceil_mode = 1, count_include_pad = 1 }, true,
  { "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override" }, { divisor_override = "nil" })

local Adaptive = Module.class("AdaptiveAvgPool2d")
function Adaptive:init(size)
  self.output_size = pair("AdaptiveAvgPool2d", "output_size", size, 1)
end
function Adaptive:compute(x) return adaptive_avg_pool2d(x, self.output_size) end
function Adaptive:out_shape(s)
  local n = image_dims(self, s)
  local out = { table.unpack(s) }
  out[n - 1], out[n] = self.output_size[1], self.output_size[2]
  return out
end
function Adaptive:cost(s, out)
  local n, nout = #s, 1
  for i = 1, #out do nout = nout * out[i] end
  -- windows are separable: the sum over all of h_i·w_j is (Σ h_i)(Σ w_j)
  local function spans(inn, o)
    local total = 0
    for i = 0, o - 1 do total = total + (-((-(i + 1) * inn) // o) - (i * inn) // o) end
    return total
  end
  local per_plane = nout // (out[n - 1] * out[n])
  local conns = per_plane * spans(s[n - 1], out[n - 1]) * spans(s[n], out[n])
  return { weights = 0, biases = 0, mults = nout, adds = conns - nout, bias_adds = 0, macs = 0,
    conns = conns, bwd_input = nout, bwd_weight = 0, saved = 0 }
end
-- Bin i covers [floor(i·in/out), ceil((i+1)·in/out)): when out divides in,
-- that is a pool with kernel = stride = in/out (and nothing at all when
-- in = out, as in AlexNet at 224); uneven bins have no one window, and
-- receptive-field tools stop there ("uneven": each output still sees only its
-- bin, which input_region below gives exactly; not the whole input).
function Adaptive:window(axis, s)
  local inn = s and s[#s - 2 + axis]
  local o = self.output_size[axis]
  -- one bin (global pooling) sees everything, whatever the arithmetic says
  if o == 1 then return false end
  if math.type(inn) ~= "integer" then return "unknown" end
  if inn % o ~= 0 then return "uneven" end
  return { k = inn // o, s = inn // o, p = 0, d = 1 }
end
-- for one element the bins are exact, even or not: output o of n reads
-- input floor((o − 1)·in/n) + 1 .. ceil(o·in/n)
function Adaptive:input_region(reg, shape)
  local n, r = #shape, {}
  for d = 1, n - 2 do r[d] = reg[d] end
  for axis = 1, 2 do
    local inn, o, rg = shape[n - 2 + axis], self.output_size[axis], reg[n - 2 + axis]
    r[n - 2 + axis] = { (rg[1] - 1) * inn // o + 1, -((-rg[2] * inn) // o) }
  end
  return r
end
-- fvcore counts the input once; torchscan an estimated kernel's k−1 + 2
function Adaptive:counters(r)
  local k = 1
  for axis = 1, 2 do
    local i, o = r.in_shape[#r.in_shape - 2 + axis], self.output_size[axis]
    k = k * (i % o == 0 and i // o or i - o * (i // o) + 1)
  end
  return { ptflops = r.in_n, fvcore = r.in_n, torchscan = r.out_n * (k - 1 + 2) }
end
function Adaptive:extra_repr() return "output_size=" .. Module.pair_repr(self.output_size) end
M.AdaptiveAvgPool2d = Adaptive

-- Flatten: everything after the batch dim becomes one.  A 3-D input is one
-- image (C x H x W) and becomes a vector; 1-D and N x F inputs stay as they are.
-- nn.Flatten(start_dim [, end_dim]) joins exactly those dims (1-based, as
-- every nncalc dim; negative from the end), whatever the rank: nn.Flatten(2)
-- on a batch of sequences {N, T, C} gives {N, T·C}, as PyTorch's nn.Flatten().
local Flatten = Module.class("Flatten")
Flatten.no_new_values = true   -- the same values, rearranged
function Flatten:cost() return {} end
function Flatten:init(first, last)
  for _, v in ipairs({ first or 1, last or -1 }) do
    if type(v) ~= "number" or not math.tointeger(v) or v == 0 then
      error("Flatten: start_dim and end_dim must be whole numbers (1-based, negative from the end), got " .. tostring(v), 3)
    end
  end
  self.start_dim, self.end_dim = first and math.tointeger(first), last and math.tointeger(last)
end

-- the dims joined for a rank n: start_dim..end_dim, or the default rule
local function span(self, n)
  if not self.start_dim then
    if n <= 1 then return 1, n end
    return n == 3 and 1 or 2, n
  end
  local a, b = self.start_dim, self.end_dim or -1
  if a < 0 then a = n + 1 + a end
  if b < 0 then b = n + 1 + b end
  if a < 1 or b > n or a > b then
    error(("Flatten(%s): dims %d..%d do not fit an input of %d dims"):format(self:extra_repr(), a, b, n), 0)
  end
  return a, b
end

local function flat_shape(self, s)
  local a, b = span(self, #s)
  local out, prod = {}, 1
  for i = 1, a - 1 do out[#out + 1] = s[i] end
  for i = a, b do prod = prod * s[i] end
  out[#out + 1] = prod
  for i = b + 1, #s do out[#out + 1] = s[i] end
  return out
end

function Flatten:compute(x)
  if x:dim() <= 1 and not self.start_dim then return x end
  return x:reshape(table.unpack(flat_shape(self, x:dim() == 0 and {} or x:shape())))
end
function Flatten:out_shape(s)
  if #s <= 1 and not self.start_dim then return { table.unpack(s) } end
  return flat_shape(self, s)
end
function Flatten:extra_repr()
  if not self.start_dim then return "" end
  return self.start_dim .. (self.end_dim and (", " .. self.end_dim) or "")
end
M.Flatten = Flatten

return M
