-- nn/initializers.lua — nn.init: PyTorch's torch.nn.init, each filling a
-- tensor in place from the seeded generator (seed(n) first to repeat) and
-- returning it with what it used:
--
--   W, info = nn.init.kaiming_normal(zeros(256, 128), {nonlinearity = "relu"})
--   info.std, info.fan_in, info.gain, info.formula
--
-- Fans as PyTorch computes them (_calculate_fan_in_and_fan_out): for a
-- weight of shape out x in x k1 x k2 ..., fan_in = in·k1·k2·..., fan_out =
-- out·k1·k2·...  {explain = true} prints the formula with its numbers and
-- the variance it predicts for a layer's outputs, Var(y) = fan_in·Var(w)·Var(x)
-- (zero-mean weights and inputs, no bias), with Var(x) = 1 unless given.

local fmt = require("nncalc.format")
local init = {}

local function check_tensor(fname, t)
  if not nncalc.is_tensor(t) then error(("nn.init.%s: a tensor to fill expected, got %s"):format(fname, type(t)), 3) end
end

local function options(fname, o, known)
  o = o or {}
  if type(o) ~= "table" then error(("nn.init.%s: options must be a table"):format(fname), 3) end
  for k in pairs(o) do
    if not known[k] then
      local names = {}
      for n in pairs(known) do names[#names + 1] = n end
      table.sort(names)
      error(("nn.init.%s: unknown option '%s' (%s)"):format(fname, tostring(k), table.concat(names, ", ")), 3)
    end
  end
  return o
end

function init.fans(t)
  local s = t:shape()
  if #s < 2 then
    error(("nn.init: fan in and fan out need a tensor of at least 2 dims, got shape {%s}"):format(table.concat(s, ", ")), 3)
  end
  local receptive = 1
  for i = 3, #s do receptive = receptive * s[i] end
  return s[2] * receptive, s[1] * receptive
end

-- calculate_gain(nonlinearity [, param]): PyTorch's recommended gains.
function init.calculate_gain(nl, param)
  local linear = { linear = 1, conv1d = 1, conv2d = 1, conv3d = 1, conv_transpose1d = 1, conv_transpose2d = 1,
    conv_transpose3d = 1, sigmoid = 1 }
  if linear[nl] then return 1 end
  if nl == "tanh" then return 5 / 3 end
  if nl == "relu" then return math.sqrt(2) end
  if nl == "leaky_relu" then
    local slope = param == nil and 0.01 or param
    if type(slope) ~= "number" then error("nn.init.calculate_gain: the negative slope must be a number", 2) end
    return math.sqrt(2 / (1 + slope * slope))
  end
  if nl == "selu" then return 3 / 4 end
  error(("nn.init.calculate_gain: unknown nonlinearity '%s' (linear, conv2d, sigmoid, tanh, relu, leaky_relu, selu)")
    :format(tostring(nl)), 2)
end

-- fills t with values (a tensor of t's shape) outside any graph
local function fill(t, values)
  no_grad(function() t:copy(values) end)
  return t
end

local function report(info, o, t)
  if o.explain then
    local lines = { info.formula }
    if info.fan_in then
      local vx = o.var_x or 1
      local var_w = info.std and info.std ^ 2 or (info.bound and info.bound ^ 2 / 3)
      if var_w then
        lines[#lines + 1] = ("predicted Var(out) = fan_in·Var(w)·Var(x) = %s·%s·%s = %s"):format(fmt.num(info.fan_in),
          fmt.num(var_w), fmt.num(vx), fmt.num(info.fan_in * var_w * vx))
        info.var_out = info.fan_in * var_w * vx
      end
    end
    io.write(table.concat(lines, "\n"), "\n")
  end
  return t, info
end

local function shape(t) return table.unpack(t:shape()) end

function init.uniform(t, a, b, o)
  check_tensor("uniform", t)
  a, b = a or 0, b or 1
  o = options("uniform", o, { explain = 1 })
  fill(t, rand(shape(t)) * (b - a) + a)
  return report({ low = a, high = b, formula = ("w ~ U(%s, %s)"):format(fmt.num(a), fmt.num(b)) }, o, t)
end

function init.normal(t, mean, std, o)
  check_tensor("normal", t)
  mean, std = mean or 0, std or 1
  o = options("normal", o, { explain = 1 })
  fill(t, randn(shape(t)) * std + mean)
  return report({ mean = mean, std = std, formula = ("w ~ N(%s, %s²)"):format(fmt.num(mean), fmt.num(std)) }, o, t)
end

function init.constant(t, v)
  check_tensor("constant", t)
  if type(v) ~= "number" then error("nn.init.constant: the value must be a number", 2) end
  fill(t, full(t:shape(), v))
  return t, { value = v, formula = "w = " .. fmt.num(v) }
end
function init.zeros(t) check_tensor("zeros", t); return init.constant(t, 0) end
function init.ones(t) check_tensor("ones", t); return init.constant(t, 1) end

-- Xavier / Glorot (2010): Var(w) = gain²·2/(fan_in + fan_out)
function init.xavier_uniform(t, o)
  check_tensor("xavier_uniform", t)
  o = options("xavier_uniform", o, { gain = 1, explain = 1, var_x = 1 })
  local fan_in, fan_out = init.fans(t)
  local gain = o.gain or 1
  local std = gain * math.sqrt(2 / (fan_in + fan_out))
  local bound = math.sqrt(3) * std
  fill(t, rand(shape(t)) * (2 * bound) - bound)
  return report({ fan_in = fan_in, fan_out = fan_out, gain = gain, std = std, bound = bound,
    formula = ("bound = gain·√(6/(fan_in + fan_out)) = %s·√(6/(%d + %d)) = %s;  w ~ U(−bound, bound)"):format(
      fmt.num(gain), fan_in, fan_out, fmt.num(bound)) }, o, t)
end

function init.xavier_normal(t, o)
  check_tensor("xavier_normal", t)
  o = options("xavier_normal", o, { gain = 1, explain = 1, var_x = 1 })
  local fan_in, fan_out = init.fans(t)
  local gain = o.gain or 1
  local std = gain * math.sqrt(2 / (fan_in + fan_out))
  fill(t, randn(shape(t)) * std)
  return report({ fan_in = fan_in, fan_out = fan_out, gain = gain, std = std,
    formula = ("std = gain·√(2/(fan_in + fan_out)) = %s·√(2/(%d + %d)) = %s;  w ~ N(0, std²)"):format(
      fmt.num(gain), fan_in, fan_out, fmt.num(std)) }, o, t)
end

-- He / Kaiming (2015): Var(w) = gain²/fan, fan = fan_in (forward) or fan_out
local function kaiming(fname, t, o, sample)
  check_tensor(fname, t)
  o = options(fname, o, { a = 1, mode = 1, nonlinearity = 1, explain = 1, var_x = 1 })
  local mode, nl = o.mode or "fan_in", o.nonlinearity or "leaky_relu"
  if mode ~= "fan_in" and mode ~= "fan_out" then error(("nn.init.%s: mode must be \"fan_in\" or \"fan_out\""):format(fname), 3) end
  local fan_in, fan_out = init.fans(t)
  local fan = mode == "fan_in" and fan_in or fan_out
  local gain = init.calculate_gain(nl, o.a or 0)
  local std = gain / math.sqrt(fan)
  local info = { fan_in = fan_in, fan_out = fan_out, fan = fan, mode = mode, gain = gain, std = std }
  sample(info, std)
  return report(info, o, t)
end

function init.kaiming_uniform(t, o)
  return kaiming("kaiming_uniform", t, o, function(info, std)
    local bound = math.sqrt(3) * std
    info.bound = bound
    info.formula = ("gain = %s (%s); bound = gain·√(3/%s) = %s·√(3/%d) = %s;  w ~ U(−bound, bound)"):format(
      fmt.num(info.gain), (o and o.nonlinearity) or "leaky_relu", info.mode, fmt.num(info.gain), info.fan, fmt.num(bound))
    fill(t, rand(shape(t)) * (2 * bound) - bound)
  end)
end

function init.kaiming_normal(t, o)
  return kaiming("kaiming_normal", t, o, function(info, std)
    info.formula = ("gain = %s (%s); std = gain/√%s = %s/√%d = %s;  w ~ N(0, std²)"):format(
      fmt.num(info.gain), (o and o.nonlinearity) or "leaky_relu", info.mode, fmt.num(info.gain), info.fan, fmt.num(std))
    fill(t, randn(shape(t)) * std)
  end)
end

-- N(mean, std²) conditioned on [a, b] (PyTorch's defaults a = −2, b = 2 are
-- absolute bounds, not multiples of std): redrawn until inside.
function init.trunc_normal(t, o)
  check_tensor("trunc_normal", t)
  o = options("trunc_normal", o, { mean = 1, std = 1, a = 1, b = 1, explain = 1 })
  local mean, std, a, b = o.mean or 0, o.std or 1, o.a or -2, o.b or 2
  if not (a < b) then error("nn.init.trunc_normal: a must be below b", 2) end
  local n = t:numel()
  local vals, k, tries = {}, 0, 0
  while k < n do
    tries = tries + 1
    if tries > 1000 then error("nn.init.trunc_normal: [a, b] holds almost none of N(mean, std²)", 2) end
    local draw = randn(n) * std + mean
    for i = 1, n do
      local v = draw[i]
      if k < n and v >= a and v <= b then k = k + 1; vals[k] = v end
    end
  end
  fill(t, tensor(vals):reshape(shape(t)))
  return report({ mean = mean, std = std, a = a, b = b,
    formula = ("w ~ N(%s, %s²) restricted to [%s, %s]"):format(fmt.num(mean), fmt.num(std), fmt.num(a), fmt.num(b)) }, o, t)
end

-- orthogonal(t [, {gain}]): the rows (or columns, whichever are fewer) of the
-- flattened rows x cols matrix orthonormal: Q of a QR of a normal matrix with
-- R's diagonal made positive (modified Gram–Schmidt), times gain.
function init.orthogonal(t, o)
  check_tensor("orthogonal", t)
  o = options("orthogonal", o, { gain = 1, explain = 1 })
  if t:dim() < 2 then error("nn.init.orthogonal: a tensor of at least 2 dims expected", 2) end
  local rows = t:size(1)
  local cols = t:numel() // rows
  local m, n = math.max(rows, cols), math.min(rows, cols)   -- Q is m x n
  local A = randn(m, n)
  local q = {}
  for j = 1, n do
    local v = {}
    for i = 1, m do v[i] = A[{ i, j }] end
    for p = 1, j - 1 do
      local d = 0
      for i = 1, m do d = d + q[p][i] * v[i] end
      for i = 1, m do v[i] = v[i] - d * q[p][i] end
    end
    local norm = 0
    for i = 1, m do norm = norm + v[i] * v[i] end
    norm = math.sqrt(norm)
    for i = 1, m do v[i] = v[i] / norm end
    q[j] = v
  end
  local gain = o.gain or 1
  local out = {}
  for r = 1, rows do
    out[r] = {}
    for c = 1, cols do
      -- Q is m x n; its transpose when there are fewer rows than columns
      out[r][c] = gain * (rows >= cols and q[c][r] or q[r][c])
    end
  end
  fill(t, tensor(out):reshape(shape(t)))
  return report({ gain = gain, formula = ("rows x cols = %d x %d flattened: orthonormal %s, times gain %s"):format(rows, cols,
    rows >= cols and "columns" or "rows", fmt.num(gain)) }, o, t)
end

return init
