-- nn/Position.lua — where a token is in the sequence, told to attention,
-- which by itself ignores order.  Learned positions are an embedding table
-- (see the models); these two have no parameters:
--   sinusoidal (Vaswani et al. 2017, §3.5), added to the input, with
--     PE[p, 2i] = sin(p / 10000^(2i/d)),  PE[p, 2i+1] = cos(p / 10000^(2i/d))
--   rotary, RoPE (Su et al. 2021, RoFormer eq. 34): each pair (x_2i, x_2i+1)
--     of a query or key at position p is rotated by the angle p·θ_i,
--     θ_i = base^(−2i/d), so Q_p·K_q depends only on p − q.
-- Positions p count from 0, as in the papers; i counts pairs from 0.  The
-- pairs are adjacent elements (the paper's form; Hugging Face's LLaMA code
-- pairs element i with i + d/2 instead, a permutation of the same thing).
local Module = require("nncalc.nn.Module")
local M = {}

-- sinusoidal(T, d): the T x d table of position codes
function M.sinusoidal(T, d)
  if math.type(T) ~= "integer" or T < 1 or math.type(d) ~= "integer" or d < 1 then
    error(("sinusoidal: T and d must be positive whole numbers, got %s and %s"):format(tostring(T), tostring(d)), 2)
  end
  local pe = zeros(T, d)
  for p = 0, T - 1 do
    for j = 0, d - 1 do
      local i2 = j - j % 2
      local a = p / 10000 ^ (i2 / d)
      pe[{ p + 1, j + 1 }] = j % 2 == 0 and math.sin(a) or math.cos(a)
    end
  end
  return pe
end

local Sinusoidal = Module.class("SinusoidalPositionalEncoding")
Sinusoidal.elementwise = true
-- nn.SinusoidalPositionalEncoding(d [, {max_len=5000}]): x + PE[1..T] on T x d or N x T x d
function Sinusoidal:init(d, o)
  o = o or {}
  if math.type(d) ~= "integer" or d < 1 then
    error("SinusoidalPositionalEncoding: d must be a positive whole number, got " .. tostring(d), 3)
  end
  self.d, self.max_len = d, o.max_len or 5000
end
function Sinusoidal:out_shape(s)
  local n = #s
  if n < 2 or s[n] ~= self.d or s[n - 1] > self.max_len then
    error(("SinusoidalPositionalEncoding(%d): input {%s} is not T x %d with T ≤ %d"):format(self.d,
      table.concat(s, ", "), self.d, self.max_len), 3)
  end
  return { table.unpack(s) }
end
function Sinusoidal:compute(x)
  local s = x:shape()
  self:out_shape(s)
  return x + M.sinusoidal(s[#s - 1], self.d)
end
function Sinusoidal:cost(s)
  local n = 1
  for i = 1, #s do n = n * s[i] end
  return { adds = n }
end
function Sinusoidal:extra_repr() return ("d=%d, max_len=%d"):format(self.d, self.max_len) end
M.SinusoidalPositionalEncoding = Sinusoidal

-- rope(x [, {base=10000}]): x of shape ... x T x d (d even), each position's
-- pairs rotated; differentiable in x (the angles are constants).
function M.rope(x, o)
  local base = (o and o.base) or 10000
  local s = x:shape()
  local n = #s
  local T, d = s[n - 1], s[n]
  if n < 2 or d % 2 ~= 0 then
    error(("rope: expects ... x T x d with d even, got {%s}"):format(table.concat(s, ", ")), 2)
  end
  local cos_t, sin_t = zeros(T, d // 2), zeros(T, d // 2)
  for p = 0, T - 1 do
    for i = 0, d // 2 - 1 do
      local a = p * base ^ (-2 * i / d)
      cos_t[{ p + 1, i + 1 }], sin_t[{ p + 1, i + 1 }] = math.cos(a), math.sin(a)
    end
  end
  local ps = { table.unpack(s) }
  ps[n], ps[n + 1] = d // 2, 2
  local pairs = x:reshape(table.unpack(ps))
  local xe, xo = pairs:narrow(n + 1, 1, 1):squeeze(n + 1), pairs:narrow(n + 1, 2, 1):squeeze(n + 1)
  local re = xe:cmul(cos_t) - xo:cmul(sin_t)
  local ro = xe:cmul(sin_t) + xo:cmul(cos_t)
  return stack({ re, ro }, n + 1):reshape(table.unpack(s))
end

return M
