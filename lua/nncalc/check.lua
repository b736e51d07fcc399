-- check.lua — write your own answers next to the computed ones:
--   check("P1 Q1 yhat", yhat, 9)   ->  ✗ P1 Q1 yhat: expected 9, got 8 (difference -1; exact: integers)
--   check_summary()                ->  checks: 5 passed, 1 failed
-- question() isolates a block of checks, variant() seeds a student's numbers;
-- `nncalc check` (nncalc.grade) runs homework files for graders.
--
-- Which comparison a check makes (the report names it):
--   both values integers          exact, unless a tolerance is given (a float
--                                 past 2^53 is not taken for an integer)
--   otherwise                     relative 1e-6 (plus 1e-12 absolute, for an expected 0)
--   expected as written, a string "0.0900 0.2447 0.6652"
--                                 each entry to half a unit of its last written digit
--                                 (an entry written without a decimal point: exact)
--   {digits = d}                  to half a unit of the d-th decimal (±0.5·10^-d)
--   {tol = r} or a number r       relative r;   {abs = a}: within ±a

local M = { results = {}, quiet = false }

local unicode = require("nncalc.term").unicode

-- values by the one printer (format.lua); expected and got with enough
-- digits to tell them apart
local fmt = require("nncalc.format")
local num, apart = fmt.num, fmt.apart
M.num = num

local function is_int(v) return v == math.floor(v) and v - v == 0 end

-- A count, compared exactly: a Lua integer, or a whole float below 2^53.
-- Past 2^53 every float is whole, and two roundings of the same product
-- (6·N·D and N·D·6) may differ in the last bit: those compare relatively.
local function is_count(v) return math.type(v) == "integer" or (is_int(v) and math.abs(v) < 2 ^ 53) end

-- ---- expected values as the screen shows them ------------------------------------

-- "0.0900" -> 0.09, 0.00005; "1.0000e-07" -> 1e-7, 5e-12; "3" -> 3, 0 (exact)
local function written_number(tok)
  local low = tok:lower()
  local special = { nan = 0 / 0, ["-nan"] = 0 / 0, inf = math.huge, ["+inf"] = math.huge, ["-inf"] = -math.huge }
  if special[low] then return special[low], 0 end
  local v = tonumber(tok)
  if not v or not tok:match("^[-+]?[%d.]+[eE]?[-+]?%d*$") then return nil end
  local mant, ex = tok:match("^([^eE]*)[eE]([-+]?%d+)$")
  mant, ex = mant or tok, tonumber(ex or 0)
  local decimals = mant:match("%.(%d*)$")
  if not decimals and ex == 0 then return v, 0 end
  return v, 0.5 * 10.0 ^ (ex - #(decimals or ""))
end

-- A string of numbers copied from the screen: rows on lines (a
-- "[tensor 2x3]" footer and brackets/commas allowed).  Returns the tensor
-- and the half-units, or nil when the string is not numbers.
local function parse_written(s)
  local rows, halfs = {}, {}
  -- a tensor of 3 or more dims prints as slices, "(1,.,.) =" over each
  -- matrix, with a "[tensor 1x2x2]" footer: the footer (or the slice
  -- indices) gives the shape, the slice headers are not numbers
  local shape, lead = nil, nil
  local footer = s:match("%[tensor ([%dx]+)%]")
  if footer then
    shape = {}
    for d in footer:gmatch("%d+") do shape[#shape + 1] = tonumber(d) end
  end
  for line in (s .. "\n"):gmatch("(.-)\r?\n") do
    line = line:gsub("%[tensor[^%]]*%]", "")
    local head = line:match("^%s*%(([%d,]+)[,.]*%)%s*=%s*$")
    if head then
      local k = 0
      lead = lead or {}
      for d in head:gmatch("%d+") do k = k + 1; lead[k] = math.max(lead[k] or 0, tonumber(d)) end
      line = ""
    end
    local row = {}
    for tok in line:gmatch("[^%s,;{}%[%]()]+") do
      local v, h = written_number(tok)
      if not v then return nil end
      row[#row + 1] = v
      halfs[#halfs + 1] = h
    end
    if #row > 0 then rows[#rows + 1] = row end
  end
  if #rows == 0 then return nil end
  if lead then   -- slices: every number in order, in the printed shape
    local flat, n = {}, 1
    for _, r in ipairs(rows) do for _, v in ipairs(r) do flat[#flat + 1] = v end end
    if not shape then   -- no footer: the slice indices, then rows x columns of each
      local slices = 1
      for _, v in ipairs(lead) do slices = slices * v end
      if #rows % slices ~= 0 then return nil end
      shape = { table.unpack(lead) }
      shape[#shape + 1] = #rows // slices
      shape[#shape + 1] = #rows[1]
    end
    for _, d in ipairs(shape) do n = n * d end
    if n ~= #flat then return nil end
    return tensor(flat):view(table.unpack(shape)), halfs
  end
  local value = rows
  if #rows == 1 then value = rows[1] end
  for _, r in ipairs(rows) do if #r ~= #rows[1] then value = nil end end
  if not value then   -- ragged rows: read it as one list
    value = {}
    for _, r in ipairs(rows) do for _, v in ipairs(r) do value[#value + 1] = v end end
  end
  if #halfs == 1 then return value[1], halfs end
  return tensor(value), halfs
end

-- ---- the comparison rule ---------------------------------------------------------

-- rule = {kind = "default" | "rel" | "abs" | "half", tol, halfs}
local function within(a, b, rule, k, used)
  if a ~= a and b ~= b then return true end   -- "the answer is NaN" can be checked
  if rule.kind == "default" then
    if is_count(a) and is_count(b) then used.exact = true; return a == b end
    used.rel = true
  end
  if a == b then return true end
  if a ~= a or b ~= b then return false end
  local d = math.abs(a - b)
  if rule.kind == "abs" then return d <= rule.tol end
  if rule.kind == "half" then
    local h = rule.halfs and rule.halfs[k] or rule.tol
    return h > 0 and d <= h * (1 + 1e-9)
  end
  return d <= (rule.tol or 1e-6) * math.abs(b) + 1e-12
end

local function rule_text(rule, used)
  if rule.kind == "abs" then return "within ±" .. num(rule.tol) end
  if rule.kind == "rel" then return "relative tolerance " .. num(rule.tol) end
  if rule.kind == "half" and rule.digits then
    return ("%d decimals: within ±%s"):format(rule.digits, num(rule.tol))
  end
  if rule.kind == "half" then
    local h, same = rule.halfs[1], true
    for _, x in ipairs(rule.halfs) do if x ~= h then same = false end end
    if same and h == 0 then return "as written: exact, whole numbers" end
    if same then return "as written: within ±" .. num(h) .. ", half a unit of the last digit" end
    return "as written: each entry within half a unit of its last digit"
  end
  if used.exact and not used.rel then return "exact: integers" end
  if used.rel and not used.exact then return "relative tolerance 1e-06" end
  return "exact for integers, relative 1e-06 otherwise"
end

local function as_tensor(v)
  if nncalc.is_tensor(v) then return v:detach() end
  if type(v) == "table" then
    local ok, t = pcall(tensor, v)
    if ok then return t end
  end
end

local function shape_text(t)
  local s = table.concat(t:shape(), "x")
  return s == "" and "scalar" or s
end

-- Compares; returns ok, the detail line and the difference (a number or nil).
local function compare(got, expected, rule, used)
  if got == nil then return false, ("expected %s, got nil"):format(
    type(expected) == "number" and num(expected) or nncalc.is_tensor(expected) and "a tensor of shape " .. shape_text(expected)
    or tostring(expected)) end
  if type(expected) == "number" and (type(got) == "number" or (nncalc.is_tensor(got) and got:numel() == 1)) then
    local g = type(got) == "number" and got or got:item()
    if within(g, expected, rule, 1, used) then return true, num(g), g - expected end
    local e_text, g_text = apart(expected, g)
    return false, ("expected %s, got %s (difference %s)"):format(e_text, g_text, num(g - expected)), g - expected
  end
  if type(expected) == "number" and nncalc.is_tensor(got) then
    return false, ("expected a single number %s, got a tensor of shape %s"):format(num(expected), shape_text(got))
  end
  if type(expected) == "number" then
    return false, ("expected %s, got a %s"):format(num(expected), type(got))
  end
  if type(expected) == "string" and type(got) ~= "string" then
    -- numbers as the screen shows them were parsed before; this text is not that
    return false, ("expected %q, which is not numbers as nncalc prints them (a word or sign it cannot read), got %s"):format(
      expected, nncalc.is_tensor(got) and ("a tensor of shape " .. shape_text(got)) or tostring(got))
  end
  if type(expected) == "boolean" or type(expected) == "string" then
    if got == expected then return true, tostring(got) end
    return false, ("expected %s, got %s"):format(tostring(expected), tostring(got))
  end
  local e, g = as_tensor(expected), as_tensor(got)
  if not e then return false, ("cannot compare with a %s"):format(type(expected)) end
  if not g then return false, ("expected a tensor of shape %s, got a %s"):format(shape_text(e), type(got)) end
  local es, gs = shape_text(e), shape_text(g)
  -- shapes may differ only by dimensions of size 1 (a 1x3 row for a
  -- vector of 3); a 2x3 answer for a 3x2 one is wrong, not reshaped
  local function squeezed(t)
    local out = {}
    for _, d in ipairs(t:shape()) do if d ~= 1 then out[#out + 1] = d end end
    return table.concat(out, "x")
  end
  if es ~= gs and squeezed(e) ~= squeezed(g) then
    local transposed = e:dim() == 2 and g:dim() == 2 and e:size(1) == g:size(2) and e:size(2) == g:size(1)
    return false, ("expected shape %s, got shape %s%s"):format(es, gs, transposed and " (the transpose?)" or "")
  end
  local n = e:numel()
  local ef, gf = e:reshape(n), g:reshape(n)
  local bad, shown, worst, largest = 0, {}, 0, 0
  for k = 1, n do
    local a, b = gf[k], ef[k]
    local d = math.abs(a - b)
    if d == d and d > largest then largest = d end
    if not within(a, b, rule, k, used) then
      bad = bad + 1
      if d ~= d or (worst == worst and d > worst) then worst = d end   -- NaN sticks
      if #shown < 4 then
        -- the multi-index of flat position k, 1-based
        local idx, rest, shape = {}, k - 1, e:shape()
        for i = #shape, 1, -1 do idx[i] = rest % shape[i] + 1; rest = rest // shape[i] end
        local e_text, g_text = apart(b, a)
        shown[#shown + 1] = ("[%s] expected %s, got %s"):format(table.concat(idx, ","), e_text, g_text)
      end
    end
  end
  if bad == 0 then
    return true, (es ~= gs and ("shape %s read as %s; "):format(gs, es) or "") .. "all " .. n .. " entries match", largest
  end
  return false, ("%d of %d entries differ (largest difference %s): %s%s"):format(bad, n, num(worst),
    table.concat(shown, "; "), bad > #shown and "; ..." or ""), worst
end

-- ---- check() ---------------------------------------------------------------------

local option_names = { tol = true, rel = true, abs = true, digits = true, points = true }

local function read_options(opts)
  if opts == nil then return {} end
  if type(opts) == "number" then return { rel = opts } end
  if type(opts) ~= "table" then
    error("check: the 4th argument is a tolerance (a number) or options {tol=, abs=, digits=, points=}", 3)
  end
  for k in pairs(opts) do
    if not option_names[k] then
      error(("check: unknown option '%s' (tol, abs, digits, points)"):format(tostring(k)), 3)
    end
  end
  local o = { rel = opts.rel or opts.tol, abs = opts.abs, digits = opts.digits, points = opts.points }
  for _, k in ipairs({ "rel", "abs", "points" }) do
    if o[k] ~= nil and (type(o[k]) ~= "number" or o[k] < 0 or o[k] ~= o[k]) then
      error(("check: %s must be a non-negative number, got %s"):format(k == "rel" and "tol" or k, tostring(o[k])), 3)
    end
  end
  if o.digits ~= nil and (math.type(o.digits) == nil or not is_int(o.digits) or o.digits < 0) then
    error("check: digits must be a whole number of decimals, got " .. tostring(o.digits), 3)
  end
  return o
end

-- Error messages from inside a protected block, at the user's line.
local libdir = (debug.getinfo(1, "S").source:match("^@(.*/)nncalc/[^/]*$"))
function M.where(msg)
  if type(msg) ~= "string" then msg = tostring(msg) end
  for level = 2, 40 do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    local src = info.source
    if info.currentline > 0 and not (libdir and src:sub(2, #libdir + 1) == libdir) then
      local pos = ("%s:%d:"):format(info.short_src, info.currentline)
      if msg:sub(1, #pos) == pos then return msg end
      -- a position inside nncalc's own files gives way to the user's line
      local inner = libdir and msg:match("^" .. libdir:gsub("%p", "%%%0") .. "[^:]*:%d+: (.*)$")
      return pos .. " " .. (inner or msg)
    end
  end
  return msg
end

local function record(r)
  M.results[#M.results + 1] = r
  if not M.quiet then
    local mark = r.ok and (unicode() and "✓" or "ok") or (unicode() and "✗" or "FAIL")
    local sep = (r.ok and r.detail:match("^[-%d.e+na]+$")) and " = " or ": "
    -- the rule shows on a failure, and on a pass that was not the default one
    local rule = (r.rule and (not r.ok or r.rule_shown)) and (" [" .. r.rule .. "]") or ""
    io.write(mark, " ", r.label, sep, r.detail, rule, "\n")
  end
  return r.ok
end

-- check(label, got, expected [, tol | {tol=, abs=, digits=, points=}]): prints ✓
-- or ✗ and records it.  got may be a function: it runs protected, and an
-- error fails this check only.
function M.check(label, got, expected, opts)
  if type(label) ~= "string" then error("check: the first argument is a label (a string)", 2) end
  if expected == nil then error("check: give the expected value: check(label, got, expected [, tol])", 2) end
  local o = read_options(opts)
  local r = { label = label, expected = expected, points = o.points or 1, question = M.current_question }
  if type(got) == "function" then
    local ok, v = xpcall(got, M.where)
    if not ok then
      r.ok, r.detail, r.error = false, "error: " .. v, v
      return record(r)
    end
    got = v
  end
  r.got = got
  local rule = { kind = "default" }
  if type(expected) == "string" and type(got) ~= "string" then
    local value, halfs = parse_written(expected)
    if value then expected, rule = value, { kind = "half", halfs = halfs } end
  end
  if o.abs then rule = { kind = "abs", tol = o.abs }
  elseif o.rel then rule = { kind = "rel", tol = o.rel }
  elseif o.digits then rule = { kind = "half", tol = 0.5 * 10.0 ^ -o.digits, digits = o.digits } end
  local used = {}
  r.ok, r.detail, r.difference = compare(got, expected, rule, used)
  local numeric = type(expected) == "number" or type(expected) == "table" or nncalc.is_tensor(expected)
  if numeric and (rule.kind ~= "default" or next(used)) then
    r.rule = rule_text(rule, used)
    r.rule_shown = rule.kind == "half"   -- the way the answer was written decided it
  end
  return record(r)
end

-- question(label, function() ... end [, {points = n}]): a block of checks run
-- protected; an error fails the question (with the points its checks did not
-- get to) and the rest of the file still runs.
function M.question(label, fn, opts)
  if type(label) ~= "string" then error("question: the first argument is a label (a string)", 2) end
  if type(fn) ~= "function" then error("question: the second argument is a function holding the checks", 2) end
  if opts ~= nil and (type(opts) ~= "table" or (opts.points ~= nil and type(opts.points) ~= "number")) then
    error("question: the third argument is {points = n}", 2)
  end
  local first, outer = #M.results + 1, M.current_question
  M.current_question = label
  local ok, err = xpcall(fn, M.where)
  M.current_question = outer
  local earned = 0
  for i = first, #M.results do earned = earned + M.results[i].points end
  if ok then
    -- a declared total the checks do not add up to would make the file's
    -- maximum depend on whether a student's answer raised an error
    if opts and opts.points and earned ~= opts.points then
      nncalc.warn(("warning: question %s declares %s points but its checks are worth %s, so the file's total "
        .. "depends on whether an error stops it: give its checks points that add up to %s\n"):format(label,
        num(opts.points), num(earned), num(opts.points)))
    end
    return true
  end
  local points = (opts and opts.points) and math.max(opts.points - earned, 0) or 1
  record({ label = label, ok = false, points = points, error = err,
    detail = "stopped with an error: " .. err .. " (the rest of this question did not run)" })
  return false
end

-- variant(id): seeds nncalc's generator and math.random from a student id, so
-- each student gets their own numbers, the same on every run and machine.
function M.variant(id)
  if id == nil then error("variant: give the student's id, e.g. variant(arg[1])", 2) end
  local s, h = tostring(id), 0xcbf29ce484222325   -- FNV-1a, 64 bits
  for i = 1, #s do h = (h ~ s:byte(i)) * 0x100000001b3 end
  h = h & 0x7fffffffffffffff
  seed(h)
  math.randomseed(h)
  M.variant_id = s
  return h
end

function M.tally()
  local pass, fail, points, max_points = 0, 0, 0, 0
  for _, r in ipairs(M.results) do
    if r.ok then pass = pass + 1; points = points + r.points else fail = fail + 1 end
    max_points = max_points + r.points
  end
  return pass, fail, points, max_points
end

function M.check_summary()
  local pass, fail = M.tally()
  if not M.quiet then io.write(("checks: %d passed, %d failed\n"):format(pass, fail)) end
  return pass, fail
end

function M.main(args) return require("nncalc.grade").main(args) end

return M
