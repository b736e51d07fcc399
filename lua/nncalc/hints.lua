-- hints.lua — one line after the common errors, saying what was probably
-- meant: a misspelt name (by edit distance over nncalc's exports, the help
-- entries and the user's own globals), a method called with '.', PyTorch's
-- and NumPy's spellings (@, tensor([[...]]), torch.).  Called on every
-- error report (term.lua's nncalc._error_text); never raises.

local M = {}

-- Optimal string alignment distance (Levenshtein plus adjacent swaps).
function M.distance(a, b)
  local la, lb = #a, #b
  local d = {}
  for i = 0, la do d[i] = { [0] = i } end
  for j = 0, lb do d[0][j] = j end
  for i = 1, la do
    for j = 1, lb do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and a:sub(i, i) == b:sub(j - 1, j - 1) and a:sub(i - 1, i - 1) == b:sub(j, j) then
        v = math.min(v, d[i - 2][j - 2] + 1)
      end
      d[i][j] = v
    end
  end
  return d[la][lb]
end

-- The closest names to word among candidates (a list), within a distance
-- that grows with the word: 1 up to 4 letters, 2 up to 8, then 3.
function M.closest(word, candidates)
  local limit = #word <= 4 and 1 or (#word <= 8 and 2 or 3)
  local best, found, seen = limit + 1, {}, {}
  local lw = word:lower()
  for _, c in ipairs(candidates) do
    if c ~= word and not seen[c] then
      seen[c] = true
      local d = c:lower() == lw and 0 or M.distance(word, c)
      if d < best then best, found = d, { c } elseif d == best then found[#found + 1] = c end
    end
  end
  table.sort(found)
  if best > limit then return {} end
  return found
end

local pytorch = {
  torch = "nncalc's functions are globals: tensor{...}, zeros(2, 3), exp(x), nn.Linear(2, 3) (no torch. prefix)",
  np = "nncalc's functions are globals: tensor{...}, zeros(2, 3), exp(x) (no np. prefix)",
  numpy = "nncalc's functions are globals: tensor{...}, zeros(2, 3), exp(x) (no numpy. prefix)",
  matmul = "the matrix product is *, as on paper: W1 * x",
  mm = "the matrix product is *, as on paper: W1 * x",
  len = "the number of rows is #x, of elements x:numel(), the sizes x:shape()",
}

local function global_names()
  local names = require("nncalc.exports").names(nncalc)
  for k, v in pairs(_G) do
    if type(k) == "string" and v ~= nil and k:match("^[%a_][%w_]*$") then names[#names + 1] = k end
  end
  return names
end

local function method_names()
  local names = {}
  for k in pairs(nncalc.Tensor) do if type(k) == "string" and k:sub(1, 1) ~= "_" then names[#names + 1] = k end end
  for _, f in ipairs({ "shape", "T", "grad" }) do names[#names + 1] = f end
  for _, t in ipairs({ nn, optim, models }) do   -- nn.Linaer, optim.adam
    for k in pairs(t) do if type(k) == "string" and k:sub(1, 1) ~= "_" then names[#names + 1] = k end end
  end
  return names
end

local function did_you_mean(word, candidates)
  local found = M.closest(word, candidates)
  if #found == 0 then return nil end
  return "did you mean " .. table.concat(found, " or ", 1, math.min(#found, 3)) .. "?"
end

local rules = {
  -- a nil global: misspelt, or another library's spelling
  function(msg)
    local name = msg:match("a nil value %(global '([%w_]+)'%)")
    if not name then return end
    return pytorch[name] or did_you_mean(name, global_names())
  end,
  function(msg)
    local name = msg:match("a nil value %(method '([%w_]+)'%)") or msg:match("a nil value %(field '([%w_]+)'%)")
    if not name then return end
    return pytorch[name] or did_you_mean(name, method_names())
  end,
  -- x.size() in PyTorch is x:size() in Lua: the method got no tensor
  function(msg)
    local fname = msg:match("bad argument #1 to '([%w_.]+)' %(tensor expected, got no value%)")
    fname = fname and fname:match("[%w_]+$")
    if fname then return ("methods are called with a colon in Lua: x:%s(), not x.%s()"):format(fname, fname) end
  end,
  -- PyTorch's 0-based dims: dim 0 is out of range here, and dim=1 would be
  -- the first dim, not PyTorch's second
  function(msg)
    if msg:find("dimension 0 out of range 1%.%.") then
      return "dims are 1-based in nncalc: PyTorch's dim=0 is 1 here, its dim=1 is 2, and -1 is still the last"
    end
  end,
  -- a homework's matrix and kernel: one channel is 1 x H x W, one filter 1 x 1 x kh x kw
  function(msg)
    local f, h, w = msg:match("([%w_]+): the input must be an image C x H x W or a batch N x C x H x W, got (%d+)x(%d+)$")
    if f and msg:find("%(input [%dx]+%): [%w_]+: the input must be") then   -- a module's forward
      return ("a matrix is one channel: give the module x:view(1, %s, %s)"):format(h, w)
    elseif f then
      return ("a matrix is one channel: %s(x:view(1, %s, %s)%s)"):format(f, h, w,
        f:find("conv") and ", w:view(1, 1, kh, kw)" or ", ...")
    end
    if msg:find("expected 4%-D weights %(Cout x Cin/groups x kh x kw%), got %d+x%d+$") then
      return "a kernel matrix is one filter of one channel: w:view(1, 1, kh, kw)"
    end
  end,
  function(msg)
    if msg:find("near '@'", 1, true) then return "the matrix product is *, as on paper: W1 * x (a:cmul(b) multiplies elementwise)" end
  end,
  function(msg)
    -- called through pcall, Lua may name it by its module path (nncalc.tensor)
    if msg:find("bad argument #1 to '[%w_.]*tensor' %(table of numbers expected, got string%)") then
      return "write tensor{{1,2},{3,4}}: braces make a Lua table ([[...]] is a string in Lua)"
    end
    if msg:find("near '['", 1, true) then return "lists are written with braces in Lua: tensor{{1,2},{3,4}}" end
  end,
}

function M.add(msg)
  if type(msg) ~= "string" or msg:find("\n  hint: ", 1, true) then return msg end
  for _, rule in ipairs(rules) do
    local ok, hint = pcall(rule, msg)
    if ok and hint then return msg .. "\n  hint: " .. hint end
  end
  return msg
end

return M
