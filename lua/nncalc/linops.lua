-- linops.lua — the matrix and statistics formulas of homework sheets,
-- composed of differentiable ops (so autograd, traces and create_graph
-- need nothing new): diag, trace, matrix_power, norm, var, std.  Each
-- follows PyTorch's definition and its gradient, including PyTorch's
-- choices where the formula has none (the norm of 0, ties of a max norm).

local is_tensor = nncalc.is_tensor
local M = {}

local function tensor_arg(fname, x, what)
  if not is_tensor(x) then
    error(("%s: %s must be a tensor, got %s"):format(fname, what or "the input", type(x)), 3)
  end
  return x
end

local function int_arg(fname, what, v, default)
  if v == nil then return default end
  local n = type(v) == "number" and math.tointeger(v)
  if not n then error(("%s: %s must be a whole number, got %s"):format(fname, what, tostring(v)), 3) end
  return n
end

-- ---- diag and trace ----------------------------------------------------------

-- diag(v [, k]): the square matrix with v on diagonal k (k > 0 above the
-- main one); diag(A [, k]): diagonal k of a matrix as a vector, as
-- torch.diag.  Both are index_select on a flat tensor, so the gradient
-- is exact (each entry's gradient goes back to its one source).
function M.diag(x, k)
  tensor_arg("diag", x)
  k = int_arg("diag", "the diagonal k", k, 0)
  local off = math.abs(k)
  if x:dim() == 1 then
    local n = x:numel()
    local size = n + off
    -- entry (i, j) reads v[i] (k >= 0: v[i - ... ]) or the appended 0
    local idx = {}
    for i = 1, size do
      for j = 1, size do
        local d = j - i
        local src = (d == k) and (k >= 0 and i or j) or (n + 1)
        idx[#idx + 1] = src
      end
    end
    local padded = cat({ x, zeros(1) }, 1)
    return padded:index_select(1, tensor(idx)):reshape(size, size)
  elseif x:dim() == 2 then
    local r, c = x:size(1), x:size(2)
    local idx = {}
    for i = 1, r do
      local j = i + k
      if j >= 1 and j <= c then idx[#idx + 1] = (i - 1) * c + j end
    end
    if #idx == 0 then
      error(("diag: a %dx%d matrix has no diagonal %d"):format(r, c, k), 2)
    end
    return x:reshape(r * c):index_select(1, tensor(idx))
  end
  error(("diag: expects a vector (to make a matrix) or a matrix (to read its diagonal), got shape {%s}")
    :format(table.concat(x:shape(), ", ")), 2)
end

-- trace(A) = the sum of the main diagonal (of any 2-D matrix, as torch.trace)
function M.trace(A)
  tensor_arg("trace", A)
  if A:dim() ~= 2 then
    error(("trace: expects a matrix, got shape {%s}"):format(table.concat(A:shape(), ", ")), 2)
  end
  return M.diag(A):sum()
end

-- ---- matrix_power ------------------------------------------------------------

-- matrix_power(A, k): A·A·...·A (k factors) by repeated squaring, as
-- torch.linalg.matrix_power; k = 0 is the identity, k < 0 powers inv(A).
function M.matrix_power(A, k)
  tensor_arg("matrix_power", A)
  local n = A:dim() >= 2 and A:size(A:dim()) or nil
  if A:dim() ~= 2 or A:size(1) ~= n then
    error(("matrix_power: expects a square matrix, got shape {%s}"):format(table.concat(A:shape(), ", ")), 2)
  end
  k = int_arg("matrix_power", "the power k", k)
  if k == nil then error("matrix_power: give the power k, e.g. matrix_power(A, 3)", 2) end
  if k == 0 then return eye(n) end
  local base = k < 0 and inv(A) or A
  local result
  local e = math.abs(k)
  while e > 0 do
    if e % 2 == 1 then result = result and result * base or base end
    e = e // 2
    if e > 0 then base = base * base end
  end
  return result
end

-- ---- norm ----------------------------------------------------------------------

-- s^(1/p) with PyTorch's gradient 0 where s = 0 (the formula's is ∞·0):
-- (s + [s = 0])^(1/p) − [s = 0] is s^(1/p) exactly, and 0 at 0 with a
-- finite derivative.
local function root(s, p)
  if type(s) == "number" then return p == 2 and math.sqrt(s) or s ^ (1 / p) end
  local z = s:eq(0)   -- a 0/1 constant: comparisons record no gradient
  -- sqrt is correctly rounded, pow(s, 0.5) need not be
  return (p == 2 and sqrt(s + z) or (s + z) ^ (1 / p)) - z
end

local function reduce_sum(t, dim, keepdim)
  if dim == nil then return t:sum() end
  return t:sum(dim, keepdim)
end

-- max or min of |x| with the gradient split evenly among ties, as PyTorch:
-- the value is the max itself; the gradient is that of sum(|x|·w), w the
-- ties' share, added as s − s (exactly 0) so the value stays exact.
local function extreme(a, dim, keepdim, largest)
  local pick = largest and "max" or "min"
  local m = dim == nil and a[pick](a) or a[pick](a, dim, true)
  if not is_tensor(m) or not m:grad_fn() then
    if dim ~= nil and not keepdim and is_tensor(m) then m = m:squeeze(dim) end
    return m
  end
  local mv = is_tensor(m) and m:detach() or m
  local ties = a:detach():eq(mv)
  local count = dim == nil and ties:sum() or ties:sum(dim, true)
  local w = ties / count
  local s = reduce_sum(a:cmul(w), dim, true)
  local r = mv + (s - s:detach())
  if dim ~= nil and not keepdim then r = r:squeeze(dim) end
  return r
end

-- norm(x [, p=2 | "fro"] [, dim] [, keepdim]) or norm(x, {p=, dim=, keepdim=}):
-- torch.norm: the vector p-norm of all elements (of a matrix too: p = 2
-- is then the Frobenius norm, not the spectral one), or along dim.
-- p = math.huge is max |x|, -math.huge min |x|, 0 the count of non-zeros.
function M.norm(x, p, dim, keepdim)
  tensor_arg("norm", x)
  if type(p) == "table" then
    local o = p
    for key in pairs(o) do
      if key ~= "p" and key ~= "dim" and key ~= "keepdim" then
        error(("norm: unknown option '%s' (p, dim, keepdim)"):format(tostring(key)), 2)
      end
    end
    p, dim, keepdim = o.p, o.dim, o.keepdim
  end
  if p == nil or p == "fro" then p = 2 end
  if p == "nuc" then error("norm: the nuclear norm (\"nuc\", the sum of singular values) is not offered; norm takes p-norms and \"fro\"", 2) end
  if type(p) ~= "number" then error(("norm: p must be a number or \"fro\", got %s"):format(tostring(p)), 2) end
  if dim ~= nil then
    dim = int_arg("norm", "dim", dim)
    if dim < 0 then dim = x:dim() + 1 + dim end
    if dim < 1 or dim > x:dim() then
      error(("norm: dim %d is out of range for shape {%s}"):format(dim, table.concat(x:shape(), ", ")), 2)
    end
  end
  local a = abs(x)
  if p == math.huge then return extreme(a, dim, keepdim, true) end
  if p == -math.huge then return extreme(a, dim, keepdim, false) end
  if p == 0 then return reduce_sum(x:ne(0), dim, keepdim) end
  if p == 1 then return reduce_sum(a, dim, keepdim) end
  if p == 2 then return root(reduce_sum(x:cmul(x), dim, keepdim), 2) end
  return root(reduce_sum(a ^ p, dim, keepdim), p)
end

-- ---- var and std -----------------------------------------------------------------

-- var(x [, dim] [, {correction=1 | unbiased=true, keepdim=false}]) or
-- var(x, dim, unbiased, keepdim): sum((x − mean)²) / (N − correction).
-- PyTorch's default is the unbiased (sample) variance, correction 1;
-- unbiased=false (correction 0) is the population variance.
local function var_args(fname, x, dim, a, b)
  local correction, keepdim = 1, false
  if type(dim) == "table" then dim, a = nil, dim end
  if type(a) == "table" then
    for key in pairs(a) do
      if key ~= "correction" and key ~= "unbiased" and key ~= "keepdim" and key ~= "dim" then
        error(("%s: unknown option '%s' (correction, unbiased, keepdim, dim)"):format(fname, tostring(key)), 3)
      end
    end
    if a.dim ~= nil then dim = a.dim end
    if a.unbiased ~= nil and a.correction ~= nil then
      error(fname .. ": give correction or unbiased, not both", 3)
    end
    if a.unbiased ~= nil then correction = a.unbiased and 1 or 0 end
    if a.correction ~= nil then
      correction = a.correction
      if type(correction) ~= "number" then error(fname .. ": correction must be a number", 3) end
    end
    keepdim = a.keepdim and true or false
  else
    if a ~= nil then correction = a and 1 or 0 end
    keepdim = b and true or false
  end
  if dim ~= nil then
    dim = int_arg(fname, "dim", dim)
    if dim < 0 then dim = x:dim() + 1 + dim end
    if dim < 1 or dim > x:dim() then
      error(("%s: dim %d is out of range for shape {%s}"):format(fname, dim, table.concat(x:shape(), ", ")), 3)
    end
  end
  local n = dim == nil and x:numel() or x:size(dim)
  if n - correction <= 0 then
    error(("%s: %d value%s with correction %s leave no degrees of freedom (PyTorch gives nan)")
      :format(fname, n, n == 1 and "" or "s", tostring(correction)), 3)
  end
  return dim, correction, keepdim, n
end

function M.var(x, dim, a, b)
  tensor_arg("var", x)
  local d, correction, keepdim, n = var_args("var", x, dim, a, b)
  local mean = (d == nil and x:sum() or x:sum(d, true)) / n
  local dev = x - mean
  return reduce_sum(dev:cmul(dev), d, keepdim) / (n - correction)
end

-- std = sqrt(var), the same switches; at var = 0 its gradient is 0, as
-- PyTorch's (the formula's is 0/0)
function M.std(x, dim, a, b)
  tensor_arg("std", x)
  return root(M.var(x, dim, a, b), 2)
end

-- as methods too: x:norm(), A:trace() ...
for name, f in pairs(M) do nncalc.Tensor[name] = f end

return M
