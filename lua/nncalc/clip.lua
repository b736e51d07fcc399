-- nncalc/clip.lua — gradient clipping as PyTorch's torch.nn.utils does it.
--
--   clip_grad_norm(params, max_norm [, {norm_type = 2, trace = false}])
--     total = ‖(‖g₁‖, ‖g₂‖, ...)‖ over every gradient (one vector of them all);
--     factor = max_norm / (total + 1e-6); when factor < 1 every gradient is
--     multiplied by it.  Returns the total norm (before clipping).
--   clip_grad_value(params, v): every gradient entry clamped to [−v, v].

local M = {}
local fmt = require("nncalc.format")

-- params: a module, a tensor, a list of tensors or an optimizer's list
local function grads(fname, params)
  if nn.is_module(params) then params = params:parameters() end
  if nncalc.is_tensor(params) then params = { params } end
  if type(params) ~= "table" then error(fname .. ": parameters expected (net:parameters(), {W, b} or a module)", 3) end
  local list = {}
  for i, p in ipairs(params) do
    local t = type(p) == "table" and not nncalc.is_tensor(p) and (p.tensor or p[2]) or p
    if not nncalc.is_tensor(t) then error(("%s: parameter %d is a %s, not a tensor"):format(fname, i, type(t)), 3) end
    if t.grad then list[#list + 1] = { t = t, name = t:name() or ("p" .. i) } end
  end
  return list
end

function M.clip_grad_norm(params, max_norm, o)
  o = o or {}
  if type(max_norm) ~= "number" or max_norm < 0 or max_norm ~= max_norm then
    error("clip_grad_norm: max_norm must be a number >= 0, got " .. tostring(max_norm), 2)
  end
  if type(o) ~= "table" then error("clip_grad_norm: options must be a table, e.g. {norm_type = 2}", 2) end
  for k in pairs(o) do
    if k ~= "norm_type" and k ~= "trace" then error(("clip_grad_norm: unknown option '%s' (norm_type, trace)"):format(tostring(k)), 2) end
  end
  local p = o.norm_type or 2
  if p == "inf" then p = math.huge end
  if type(p) ~= "number" or p <= 0 then error("clip_grad_norm: norm_type must be a positive number or math.huge", 2) end
  local list = grads("clip_grad_norm", params)
  local total = 0
  local parts = {}
  for _, e in ipairs(list) do
    local g = e.t.grad
    local n = p == math.huge and g:abs():max() or (g:abs() ^ p):sum() ^ (1 / p)
    parts[#parts + 1] = n
    if p == math.huge then total = math.max(total, n) else total = total + n ^ p end
  end
  if p ~= math.huge then total = total ^ (1 / p) end
  local factor = max_norm / (total + 1e-6)
  if o.trace then
    local names = {}
    for i, e in ipairs(list) do names[i] = ("‖%s.grad‖ = %s"):format(e.name, fmt.num(parts[i])) end
    io.write(("clip_grad_norm: %s;  total %s-norm = %s\n"):format(table.concat(names, ", "),
      p == math.huge and "max" or fmt.num(p), fmt.num(total)))
    io.write(("  factor = max_norm / (total + 1e-6) = %s / %s = %s%s\n"):format(fmt.num(max_norm),
      fmt.num(total + 1e-6), fmt.num(factor), factor < 1 and "  < 1: every gradient is scaled by it" or "  >= 1: nothing changes"))
  end
  if factor < 1 then
    no_grad(function() for _, e in ipairs(list) do e.t.grad:copy(e.t.grad * factor) end end)
  end
  return total
end

function M.clip_grad_value(params, v, o)
  if type(v) ~= "number" or v < 0 or v ~= v then error("clip_grad_value: the clip value must be a number >= 0, got " .. tostring(v), 2) end
  local list = grads("clip_grad_value", params)
  local changed = 0
  no_grad(function()
    for _, e in ipairs(list) do
      local g = e.t.grad
      local c = minimum(maximum(g, -v), v)
      changed = changed + (g - c):abs():gt(0):sum()
      g:copy(c)
    end
  end)
  if o and o.trace then io.write(("clip_grad_value: %d entries clamped to [−%s, %s]\n"):format(changed, fmt.num(v), fmt.num(v))) end
  return changed
end

return M
