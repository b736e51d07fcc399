-- convmath.lua — convolution arithmetic for homework: output sizes with
-- their formula, the rows a floor drops, and solving for an unknown.
--
--   out = floor((n + 2p − d(k − 1) − 1) / s) + 1            conv, pool
--   out = ceil(...) + 1, last window starting inside         ceil_mode
--   out = (n − 1)s − 2p + d(k − 1) + output_padding + 1     transposed
-- (Dumoulin & Visin's relations, in PyTorch's form.)

local M = {}

-- sizes and settings up to 2^31 - 1, as the layers accept: the formulas
-- then cannot overflow
local function int_arg(fname, what, v, min)
  if math.type(v) ~= "integer" then
    if type(v) ~= "number" or v ~= math.floor(v) then
      error(("%s: %s must be a whole number, got %s"):format(fname, what, tostring(v)), 4)
    end
    if math.abs(v) >= 2 ^ 31 then
      error(("%s: %s must be from %d to 2^31-1, got %.0f"):format(fname, what, min, v), 4)
    end
    v = math.tointeger(v)
  end
  if v < min or v > 0x7fffffff then
    error(("%s: %s must be from %d to 2^31-1, got %d"):format(fname, what, min, v), 4)
  end
  return v
end

local function settings(fname, n, k, o, known)
  o = o or {}
  if type(o) ~= "table" then error(fname .. ": options must be a table {stride=, padding=, dilation=}", 3) end
  for key in pairs(o) do
    if not known[key] then error(("%s: unknown option '%s'"):format(fname, tostring(key)), 3) end
  end
  return {
    n = int_arg(fname, "n (the input size)", n, 1), k = int_arg(fname, "k (the kernel size)", k, 1),
    s = int_arg(fname, "stride", o.stride or 1, 1), p = int_arg(fname, "padding", o.padding or 0, 0),
    d = int_arg(fname, "dilation", o.dilation or 1, 1), op = int_arg(fname, "output_padding", o.output_padding or 0, 0),
    ceil = o.ceil_mode and true or false, explain = o.explain,
  }
end

-- The result of one computation: out, the formula filled in, the input
-- rows/columns no window reaches, and notes.  Prints as the formula.
local Result = {}
Result.__index = Result
Result.__tostring = function(r)
  local lines = { r.formula }
  if r.dropped and r.dropped > 0 then
    local first, last = r.n - r.dropped + 1, r.n
    lines[#lines + 1] = ("note: the floor drops %d input row%s (or column%s) at the end: no window reaches %s")
      :format(r.dropped, r.dropped > 1 and "s" or "", r.dropped > 1 and "s" or "",
        first == last and ("position " .. last) or ("positions " .. first .. ".." .. last))
  end
  for _, n in ipairs(r.notes or {}) do lines[#lines + 1] = "note: " .. n end
  return table.concat(lines, "\n")
end

local function window_size(c) return c.d * (c.k - 1) + 1 end

local function forward(fname, c)
  local span = c.n + 2 * c.p - window_size(c)
  if span < 0 then
    error(("%s: the %s window (k=%d, dilation %d) is larger than the padded input %d + 2·%d = %d")
      :format(fname, window_size(c) == c.k and tostring(c.k) or ("effective " .. window_size(c)), c.k, c.d,
        c.n, c.p, c.n + 2 * c.p), 3)
  end
  local out = span // c.s + 1
  local r = setmetatable({ out = out, notes = {} }, Result)
  local core = ("(%d + 2·%d − %d·(%d − 1) − 1) / %d"):format(c.n, c.p, c.d, c.k, c.s)
  if c.ceil then
    local up = -((-span) // c.s) + 1
    r.formula = ("out = ⌈%s⌉ + 1 = %d"):format(core, up)
    -- the last window must start inside the input or its left padding
    if (up - 1) * c.s >= c.n + c.p then
      up = up - 1
      r.formula = r.formula .. (", but the last window would start in the right padding: out = %d"):format(up)
    end
    if up > out then
      r.notes[#r.notes + 1] = ("ceil_mode adds an output whose window hangs over the end (floor would give %d)"):format(out)
    end
    r.out = up
  else
    r.formula = ("out = ⌊%s⌋ + 1 = %d"):format(core, out)
    -- in padded coordinates the input is p+1 .. p+n and the last window
    -- ends at (out-1)s + d(k-1) + 1; trailing padding is no loss
    local last_seen = (out - 1) * c.s + window_size(c)
    r.n = c.n
    r.dropped = math.max(0, c.n + c.p - last_seen)
  end
  return r
end

-- conv_out(n, k [, {stride, padding, dilation, explain}])
function M.conv_out(n, k, o)
  local c = settings("conv_out", n, k, o, { stride = 1, padding = 1, dilation = 1, explain = 1 })
  local r = forward("conv_out", c)
  if c.explain then print(r) end
  return r.out, r
end

-- pool_out(n, k [, {stride=k, padding, dilation, ceil_mode, explain}])
function M.pool_out(n, k, o)
  o = o or {}
  local oo = {}
  for key, v in pairs(o) do oo[key] = v end
  if oo.stride == nil and type(k) == "number" then oo.stride = k end
  local c = settings("pool_out", n, k, oo, { stride = 1, padding = 1, dilation = 1, ceil_mode = 1, explain = 1 })
  if c.p > c.k // 2 then error(("pool_out: padding %d is more than half the kernel %d"):format(c.p, c.k), 2) end
  local r = forward("pool_out", c)
  if c.explain then print(r) end
  return r.out, r
end

-- convT_out(n, k [, {stride, padding, dilation, output_padding, explain}])
function M.convT_out(n, k, o)
  local c = settings("convT_out", n, k, o, { stride = 1, padding = 1, dilation = 1, output_padding = 1, explain = 1 })
  if c.op >= math.max(c.s, c.d) then
    error(("convT_out: output_padding %d must be smaller than the stride %d or the dilation %d"):format(c.op, c.s, c.d), 2)
  end
  local out = (c.n - 1) * c.s - 2 * c.p + c.d * (c.k - 1) + c.op + 1
  if out < 1 then error(("convT_out: the output size %d is not positive"):format(out), 2) end
  local r = setmetatable({ out = out, notes = {} }, Result)
  r.formula = ("out = (%d − 1)·%d − 2·%d + %d·(%d − 1) + %d + 1 = %d"):format(c.n, c.s, c.p, c.d, c.k, c.op, out)
  if c.s > 1 then
    r.notes[#r.notes + 1] = ("a convolution with the same settings maps every size from %d to %d back to %d: "
      .. "output_padding (0..%d) picks which one the transpose produces"):format(out - c.op, out - c.op + c.s - 1,
        c.n, c.s - 1)
  end
  if c.op >= c.s then
    -- PyTorch accepts output_padding below the dilation too, but then the
    -- size no longer inverts the forward convolution
    r.notes[#r.notes + 1] = ("output_padding %d is allowed (it is below the dilation %d) but %d does not map back "
      .. "to %d: a convolution with the same settings gives %d"):format(c.op, c.d, out, c.n,
        (out + 2 * c.p - c.d * (c.k - 1) - 1) // c.s + 1)
  end
  if c.explain then print(r) end
  return out, r
end

-- ---- solving for an unknown ----------------------------------------------------

local unknowns = { "input", "kernel", "stride", "padding", "dilation" }

-- conv_solve{input=64, output=6, padding=1, dilation=2}: every assignment of
-- the missing settings (at most two unknowns; stride and kernel by default)
-- that gives `output` under the floor rule.  Two filters, because homework
-- means two different things by "exact":
--   exact=true    the division (n + 2p − d(k − 1) − 1) / s has remainder 0
--                 (the floor discards nothing, padding rows included)
--   no_drop=true  no real input row is left unseen; the floor may discard
--                 trailing padding rows.  dropped = max(0, remainder − p),
--                 so exact implies no_drop, and with p = 0 they agree.
function M.conv_solve(o)
  if type(o) ~= "table" then error("conv_solve: a table {input=, output=, kernel=, stride=, padding=, dilation=} expected", 2) end
  local known = { input = 1, output = 1, kernel = 1, stride = 1, padding = 1, dilation = 1, exact = 1, no_drop = 1, max = 1 }
  for k in pairs(o) do if not known[k] then error(("conv_solve: unknown key '%s'"):format(tostring(k)), 2) end end
  if o.output == nil then error("conv_solve: give the output size (output=...)", 2) end
  local missing = {}
  for _, name in ipairs(unknowns) do
    if o[name] == nil then missing[#missing + 1] = name end
  end
  -- padding and dilation default to 0 and 1 when two others are unknown
  local given, assumed = {}, {}
  for _, name in ipairs(unknowns) do given[name] = o[name] end
  if #missing > 2 then
    if given.padding == nil then given.padding = 0; assumed[#assumed + 1] = "padding 0" end
    if given.dilation == nil then given.dilation = 1; assumed[#assumed + 1] = "dilation 1" end
    missing = {}
    for _, name in ipairs(unknowns) do if given[name] == nil then missing[#missing + 1] = name end end
  end
  if #missing == 0 then error("conv_solve: nothing to solve for: leave out one or two of input, kernel, stride, padding, dilation", 2) end
  if #missing > 2 then error("conv_solve: at most two unknowns (got " .. table.concat(missing, ", ") .. ")", 2) end
  for _, name in ipairs(unknowns) do
    if given[name] ~= nil then given[name] = int_arg("conv_solve", name, given[name], name == "padding" and 0 or 1) end
  end
  local output = int_arg("conv_solve", "output", o.output, 1)
  local limit = o.max and int_arg("conv_solve", "max", o.max, 1) or 2 * (given.input or 64) + 64
  -- the search is a double loop over the unknowns: keep it to seconds
  if (#missing == 2 and limit > 3000) or limit > 10000000 then
    error(("conv_solve: the search up to %d is too large; give more of the settings, or max=N for a smaller range")
      :format(limit), 2)
  end
  local ranges = {
    input = { 1, limit }, kernel = { 1, limit }, stride = { 1, limit }, padding = { 0, limit }, dilation = { 1, limit },
  }
  local sols = {}
  local function try(v)
    local n, k, s, p, d = v.input, v.kernel, v.stride, v.padding, v.dilation
    local span = n + 2 * p - d * (k - 1) - 1
    if span < 0 or span // s + 1 ~= output then return end
    local remainder = span % s
    -- the floor discards the last `remainder` padded rows; the trailing p are padding
    local dropped = math.max(0, remainder - p)
    if o.exact and remainder > 0 then return end
    if o.no_drop and dropped > 0 then return end
    local sol = {}
    for _, name in ipairs(missing) do sol[name] = v[name] end
    sol.remainder, sol.dropped = remainder, dropped
    sols[#sols + 1] = sol
  end
  local v = {}
  for _, name in ipairs(unknowns) do v[name] = given[name] end
  local a, b = missing[1], missing[2]
  for x = ranges[a][1], ranges[a][2] do
    v[a] = x
    if b then
      for y = ranges[b][1], ranges[b][2] do v[b] = y; try(v) end
    else
      try(v)
    end
  end
  local filter = o.exact and "exact division" or o.no_drop and "no real input row dropped" or nil
  -- the settings taken for granted are said, so "no stride" is not read as "none at all"
  local took = #assumed > 0 and ("; assumed " .. table.concat(assumed, " and ")
    .. " (give padding= or dilation= to solve for the others)") or ""
  if #sols == 0 then
    error(("conv_solve: no %s gives output %d from these settings%s%s"):format(table.concat(missing, " and "), output,
      filter and (" with " .. filter) or "", took), 2)
  end
  sols.assumed = assumed
  sols.unknowns = missing
  return setmetatable(sols, { __tostring = function(t)
    local lines = { table.concat(missing, "  ") .. "  remainder  dropped" }
    for _, sol in ipairs(t) do
      local row = {}
      for _, name in ipairs(missing) do row[#row + 1] = ("%" .. #name .. "d"):format(sol[name]) end
      lines[#lines + 1] = table.concat(row, "  ") .. ("  %9d  %7d"):format(sol.remainder, sol.dropped)
    end
    lines[#lines + 1] = ("(%d solution%s%s%s)"):format(#t, #t == 1 and "" or "s",
      filter and (" with " .. filter) or "", #assumed > 0 and ("; assumed " .. table.concat(assumed, " and ")) or "")
    lines[#lines + 1] = "remainder = (n + 2p − d(k − 1) − 1) mod s; exact=true keeps remainder 0"
    lines[#lines + 1] = "dropped = real input rows no window reaches = max(0, remainder − p); no_drop=true keeps 0"
    return table.concat(lines, "\n")
  end })
end

return M
