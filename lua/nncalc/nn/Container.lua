-- nn/Container.lua — Sequential, Residual and Concat.  Children live in
-- the array part (net[1], #net); a failing child is named in the error.
local Module = require("nncalc.nn.Module")
local M = {}

local function kind(v)
  if nncalc.is_tensor(v) then return "tensor" end
  if Module.is_module(v) then return "module" end
  return type(v)
end

local function check_children(name, list)
  if type(list) ~= "table" then error(name .. ": a list of modules expected, e.g. nn." .. name .. "{nn.ReLU()}", 4) end
  for i, m in ipairs(list) do
    if not Module.is_module(m) then
      error(("%s: element %d is a %s, not a module (did you forget the ()?)"):format(name, i, kind(m)), 4)
    end
  end
end

-- The children of a container, spelled either way: one list, nn.Sequential{a, b}
-- (as Torch7 writes it), or the modules as arguments, nn.Sequential(a, b)
-- (as PyTorch does).  With `trailing_opts`, a last argument that is a plain
-- table is the options (nn.Concat(a, b, {dim = 2})).  Anything else is
-- refused, naming the container and the argument.
local function children_of(name, trailing_opts, ...)
  local n = select("#", ...)
  local first = ...
  if Module.is_module(first) then
    local list, opts = {}, nil
    for i = 1, n do
      local v = select(i, ...)
      if Module.is_module(v) then
        list[#list + 1] = v
      elseif trailing_opts and i == n and type(v) == "table" and not nncalc.is_tensor(v) then
        opts = v
      else
        error(("%s: argument %d is a %s, not a module (give the modules as arguments, nn.%s(a, b), "
          .. "or as one list, nn.%s{a, b})"):format(name, i, kind(v), name, name), 4)
      end
    end
    return list, opts
  end
  if type(first) ~= "table" or nncalc.is_tensor(first) then
    error(("%s: modules expected, as arguments nn.%s(a, b) or as one list nn.%s{a, b}, got %s"):format(
      name, name, name, n == 0 and "nothing" or ("a " .. kind(first))), 4)
  end
  if n > (trailing_opts and 2 or 1) then
    error(("%s: after the list of modules, got a %s: give all the modules in the list, nn.%s{a, b, c}"):format(
      name, kind((select(2, ...))), name), 4)
  end
  check_children(name, first)
  local list, last = {}, 0
  for i, m in ipairs(first) do list[i] = m end
  for k in pairs(first) do   -- {a, b, c} has only 1..n (and Concat's dim)
    if math.type(k) == "integer" then
      last = math.max(last, k)
    elseif not (trailing_opts and k == "dim") then
      error(("%s: the list has a field '%s'; only modules 1..n belong in it"):format(name, tostring(k)), 4)
    end
  end
  if last ~= #list then error(("%s: the list of modules has a hole at %d (a nil there?)"):format(name, #list + 1), 4) end
  return list, trailing_opts and (select(2, ...)) or nil, first
end

-- Raises r, the error of child i (m), as "layer i (Repr): ...".
local function blame_error(i, m, r)
  local name = m:repr(""):gsub("\n.*", " ...")
  local msg = tostring(r):gsub("^[^:\n]*:%d+: ", "")
  -- the child's own "Name(settings) (input ...): " prefix becomes ours
  if msg:sub(1, #name) == name then msg = msg:sub(#name + 1):gsub("^: ", "") end
  if not msg:find("^layer ") and not msg:find("^ %(input") then msg = ": " .. msg end
  error(("layer %s (%s)%s"):format(i, name, msg:find("^layer ") and (": " .. msg) or msg), 0)
end

-- Runs fn, adding "layer i (Repr): " to any error it raises.
local function blame(i, m, fn, ...)
  local ok, r = pcall(fn, ...)
  if ok then return r end
  blame_error(i, m, r)
end

-- ---- Sequential: each layer feeds the next ---------------------------------

local Sequential = Module.class("Sequential")
function Sequential:init(...)
  local list = children_of("Sequential", false, ...)
  for i, m in ipairs(list) do rawset(self, i, m) end
end
-- the array part in place (children() would build a list every forward)
function Sequential:compute(x)
  local i, m = 1, rawget(self, 1)
  while m ~= nil do
    x = Module.forward_child(self, i, m, x)
    i = i + 1
    m = rawget(self, i)
  end
  return x
end
function Sequential:compute_traced(x, prefix, list)
  for i, m in ipairs(self:children()) do
    x = blame(i, m, m.compute_traced, m, x, prefix .. (prefix ~= "" and "." or "") .. i, list)
  end
  self.output = x
  return x
end
function Sequential:out_shape(s)
  for i, m in ipairs(self:children()) do s = blame(i, m, m.out_shape, m, s) end
  return s
end
function Sequential:analyse(s, visit)
  for i, m in ipairs(self:children()) do s = visit(m, s, tostring(i)) end
  return s
end
M.Sequential = Sequential

-- ---- Residual: y = x + block(x), or projection(x) + block(x) ----------------

local Residual = Module.class("Residual")
function Residual:init(block, opts, ...)
  if Module.is_module(opts) or select("#", ...) > 0 then
    error("Residual: one block, nn.Residual(block [, {projection = m}]); several modules go in nn.Sequential(a, b) first", 3)
  end
  if opts ~= nil and (type(opts) ~= "table" or nncalc.is_tensor(opts)) then
    error("Residual: the options must be a table like {projection = m}, got a " .. kind(opts), 3)
  end
  if not Module.is_module(block) then
    error(("Residual: a module expected as the block, got %s"):format(block == nil and "nothing" or kind(block)), 3)
  end
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= "projection" then error(("Residual: unknown option '%s' (known: projection)"):format(tostring(k)), 3) end
  end
  check_children("Residual", { block, opts.projection })
  rawset(self, 1, block)
  if opts.projection then rawset(self, 2, opts.projection) end
end
function Residual:compute(x)
  local y = Module.forward_child(self, 1, self[1], x)
  local s = rawget(self, 2) and Module.forward_child(self, 2, self[2], x) or x
  return y + s
end
function Residual:compute_traced(x, prefix, list)
  local p = prefix .. (prefix ~= "" and "." or "")
  local y = blame(1, self[1], self[1].compute_traced, self[1], x, p .. "1", list)
  local s = x
  if rawget(self, 2) then s = blame(2, self[2], self[2].compute_traced, self[2], x, p .. "2", list) end
  self.output = y + s
  list[#list + 1] = { index = prefix, name = "Residual (x + block(x))", module = self, output = self.output }
  return self.output
end
function Residual:out_shape(s)
  local y = blame(1, self[1], self[1].out_shape, self[1], s)
  local sc = rawget(self, 2) and blame(2, self[2], self[2].out_shape, self[2], s) or s
  if table.concat(y, "x") ~= table.concat(sc, "x") then
    error(("Residual: the block gives {%s} but the shortcut gives {%s}; add a projection"):format(
      table.concat(y, ", "), table.concat(sc, ", ")), 2)
  end
  return y
end
function Residual:analyse(s, visit)
  local y = visit(self[1], s, "1")
  local sc = rawget(self, 2) and visit(self[2], s, "2") or s
  if table.concat(y, "x") ~= table.concat(sc, "x") then
    error(("Residual: the block gives {%s} but the shortcut gives {%s}; add a projection"):format(
      table.concat(y, ", "), table.concat(sc, ", ")), 2)
  end
  return { table.unpack(y) }, { y, sc }
end
-- the addition x + block(x): one per output element
function Residual:cost(_, out)
  local n = 1
  for i = 1, #out do n = n * out[i] end
  return { adds = n }
end
function Residual:summary_name() return "Residual (x + block(x))" end
function Residual:counters(r) return { torchscan = 0, ptflops = 0, fvcore = 0, flop_counter = 0, thop = 0, torchinfo = 0 } end
M.Residual = Residual

-- ---- Concat: parallel branches joined along the channel dim -------------------

local Concat = Module.class("Concat")
function Concat:init(...)
  local list, opts, given = children_of("Concat", true, ...)
  if opts ~= nil and type(opts) ~= "table" then
    error("Concat: the options must be a table like {dim = 2}, got a " .. kind(opts), 3)
  end
  for k in pairs(opts or {}) do
    if k ~= "dim" then error(("Concat: unknown option '%s' (known: dim)"):format(tostring(k)), 3) end
  end
  for i, m in ipairs(list) do rawset(self, i, m) end
  -- nn.Concat{a, b, dim = 2}, nn.Concat({a, b}, {dim = 2}) or nn.Concat(a, b, {dim = 2})
  local dim = (opts and opts.dim) or (given and given.dim)
  local d = type(dim) == "number" and math.tointeger(dim)
  if dim ~= nil and (not d or d < 1) then
    error("Concat: dim must be a positive whole number, got " .. tostring(dim), 3)
  end
  self.dim = d or nil
end
-- channels: dim 1 of C x H x W, dim 2 of N x C x H x W, else the last dim
local function join_dim(self, nd)
  if self.dim then return self.dim end
  if nd == 4 then return 2 elseif nd == 3 then return 1 end
  return nd
end
function Concat:compute(x)
  local outs = {}
  for i, m in ipairs(self:children()) do outs[i] = Module.forward_child(self, i, m, x) end
  return cat(outs, join_dim(self, outs[1]:dim()))
end
function Concat:compute_traced(x, prefix, list)
  local outs, p = {}, prefix .. (prefix ~= "" and "." or "")
  for i, m in ipairs(self:children()) do outs[i] = blame(i, m, m.compute_traced, m, x, p .. i, list) end
  self.output = cat(outs, join_dim(self, outs[1]:dim()))
  list[#list + 1] = { index = prefix, name = "Concat", module = self, output = self.output }
  return self.output
end
function Concat:out_shape(s)
  local out, d
  for i, m in ipairs(self:children()) do
    local o = blame(i, m, m.out_shape, m, s)
    if not out then
      out, d = { table.unpack(o) }, join_dim(self, #o)
    else
      for k = 1, #o do
        if k ~= d and o[k] ~= out[k] then
          error(("Concat: branch %d gives {%s}, branch 1 gives {%s}: only dim %d may differ"):format(
            i, table.concat(o, ", "), table.concat(out, ", "), d), 2)
        end
      end
      out[d] = out[d] + o[d]
    end
  end
  return out
end
Concat.rf_note = "receptive field: the largest branch's (each branch's own is on its rows)"
function Concat:analyse(s, visit)
  local outs = {}
  for i, m in ipairs(self:children()) do outs[i] = visit(m, s, tostring(i)) end
  return self:out_shape(s), outs
end
M.Concat = Concat

return M
