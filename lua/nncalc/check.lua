-- check.lua — write your own answers next to the computed ones:
--   check("P1 Q1 yhat", yhat, 9)   ->  ✗ P1 Q1 yhat: expected 9, got 8 (difference -1)
--   check_summary()                ->  checks: 5 passed, 1 failed
-- and `nncalc check hw1.lua [--tap | --json]` for graders: a report, and
-- exit status 1 when any check failed.

local M = { results = {}, quiet = false }

local unicode = require("nncalc.term").unicode

local function num(v)
  if v ~= v then return "nan" end
  if v == math.floor(v) and math.abs(v) < 1e15 then return ("%.0f"):format(v) end
  return ("%.10g"):format(v)
end

local function as_tensor(v)
  if nncalc.is_tensor(v) then return v:detach() end
  if type(v) == "table" then
    local ok, t = pcall(tensor, v)
    if ok then return t end
  end
end

-- tol is relative (0.000005 is not 0.00005 at any sensible tol); a tiny
-- absolute slack lets an expected 0 match a round-off residue.
local function close(a, b, tol)
  if a == b then return true end
  if a ~= a and b ~= b then return true end   -- "the answer is NaN" can be checked
  if a ~= a or b ~= b then return false end
  return math.abs(a - b) <= tol * math.abs(b) + 1e-12
end

-- Compares; returns ok and the lines that explain a failure.
local function compare(got, expected, tol)
  if type(expected) == "number" and (type(got) == "number" or (nncalc.is_tensor(got) and got:numel() == 1)) then
    local g = type(got) == "number" and got or got:item()
    if close(g, expected, tol) then return true, num(g) end
    return false, ("expected %s, got %s (difference %s)"):format(num(expected), num(g), num(g - expected))
  end
  if type(expected) == "number" and nncalc.is_tensor(got) then
    return false, ("expected a single number %s, got a tensor of shape %s"):format(num(expected),
      table.concat(got:shape(), "x"))
  end
  if type(expected) == "boolean" or type(expected) == "string" then
    if got == expected then return true, tostring(got) end
    return false, ("expected %s, got %s"):format(tostring(expected), tostring(got))
  end
  local e, g = as_tensor(expected), as_tensor(got)
  if not e then return false, ("cannot compare with a %s"):format(type(expected)) end
  if not g then return false, ("expected a tensor of shape %s, got a %s"):format(table.concat(e:shape(), "x"), type(got)) end
  local es, gs = table.concat(e:shape(), "x"), table.concat(g:shape(), "x")
  -- shapes may differ only by dimensions of size 1 (a 1x3 row for a
  -- vector of 3); a 2x3 answer for a 3x2 one is wrong, not reshaped
  local function squeezed(t)
    local out = {}
    for _, d in ipairs(t:shape()) do if d ~= 1 then out[#out + 1] = d end end
    return table.concat(out, "x")
  end
  if es ~= gs and squeezed(e) ~= squeezed(g) then
    local transposed = e:dim() == 2 and g:dim() == 2 and e:size(1) == g:size(2) and e:size(2) == g:size(1)
    return false, ("expected shape %s, got shape %s%s"):format(es == "" and "scalar" or es, gs == "" and "scalar" or gs,
      transposed and " (the transpose?)" or "")
  end
  local n = e:numel()
  local ef, gf = e:reshape(n), g:reshape(n)
  local bad, shown, worst = 0, {}, 0
  for k = 1, n do
    local a, b = gf[k], ef[k]
    if not close(a, b, tol) then
      bad = bad + 1
      local d = math.abs(a - b)
      if d ~= d or (worst == worst and d > worst) then worst = d end   -- NaN sticks
      if #shown < 4 then
        -- the multi-index of flat position k, 1-based
        local idx, rest, shape = {}, k - 1, e:shape()
        for d = #shape, 1, -1 do idx[d] = rest % shape[d] + 1; rest = rest // shape[d] end
        shown[#shown + 1] = ("[%s] expected %s, got %s"):format(table.concat(idx, ","), num(b), num(a))
      end
    end
  end
  if bad == 0 then return true, (es ~= gs and ("shape %s read as %s; "):format(gs, es) or "") .. "all " .. n .. " entries match" end
  return false, ("%d of %d entries differ (largest difference %s): %s%s"):format(bad, n, num(worst),
    table.concat(shown, "; "), bad > #shown and "; ..." or "")
end

-- check(label, got, expected [, tol=1e-6]): prints ✓ or ✗ and records it;
-- tol is relative to the expected value.
function M.check(label, got, expected, tol)
  if type(label) ~= "string" then error("check: the first argument is a label (a string)", 2) end
  if expected == nil then error("check: give the expected value: check(label, got, expected [, tol])", 2) end
  tol = tol or 1e-6
  if type(tol) ~= "number" or tol < 0 then error("check: tol must be a non-negative number", 2) end
  local ok, detail = compare(got, expected, tol)
  local r = { label = label, ok = ok, detail = detail, got = got, expected = expected }
  M.results[#M.results + 1] = r
  if not M.quiet then
    local mark = ok and (unicode() and "✓" or "ok") or (unicode() and "✗" or "FAIL")
    local sep = (ok and detail:match("^[-%d.e+na]+$")) and " = " or ": "
    io.write(mark, " ", label, sep, detail, "\n")
  end
  return ok
end

function M.check_summary()
  local pass, fail = 0, 0
  for _, r in ipairs(M.results) do if r.ok then pass = pass + 1 else fail = fail + 1 end end
  if not M.quiet then io.write(("checks: %d passed, %d failed\n"):format(pass, fail)) end
  return pass, fail
end

-- ---- `nncalc check FILE.lua [--tap|--json]` ---------------------------------------

local function json_string(s)
  return '"' .. tostring(s):gsub('[%c"\\]', function(c)
    local map = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\t"] = "\\t", ["\r"] = "\\r" }
    return map[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

function M.main(args)
  local mode, file = "text", nil
  for _, a in ipairs(args) do
    if a == "--tap" then mode = "tap"
    elseif a == "--json" then mode = "json"
    elseif a:sub(1, 2) == "--" then io.stderr:write("nncalc check: unknown option ", a, "\n"); return 2
    elseif not file then file = a
    else io.stderr:write("nncalc check: unexpected argument '", a, "' (one file at a time)\n"); return 2 end
  end
  if not file then io.stderr:write("usage: nncalc check FILE.lua [--tap | --json]\n"); return 2 end
  M.quiet = mode ~= "text"
  local chunk, err = loadfile(file)
  local ok = chunk ~= nil
  -- what the homework prints goes to stderr in the machine formats, so
  -- that stdout holds nothing but the TAP or JSON report
  local saved_output = io.output()
  if M.quiet then io.output(io.stderr) end
  if ok then ok, err = pcall(chunk) end
  io.output(saved_output)
  local pass, fail = 0, 0
  for _, r in ipairs(M.results) do if r.ok then pass = pass + 1 else fail = fail + 1 end end
  local out = io.stdout   -- machine formats: raw bytes, whatever the terminal
  if mode == "tap" then
    local n = #M.results + (ok and 0 or 1)
    out:write("TAP version 13\n1..", n, "\n")
    for i, r in ipairs(M.results) do
      -- one line per test point, and '#' would start a TAP directive
      local label = r.label:gsub("[\r\n]+", " "):gsub("#", "\\#")
      out:write(r.ok and "ok " or "not ok ", i, " - ", label, "\n")
      if not r.ok then out:write("  ---\n  message: ", json_string(r.detail), "\n  ...\n") end
    end
    if not ok then out:write("not ok ", n, " - ", file, " ran to the end\n  ---\n  message: ", json_string(err), "\n  ...\n") end
  elseif mode == "json" then
    local items = {}
    for _, r in ipairs(M.results) do
      items[#items + 1] = ('{"label":%s,"ok":%s,"detail":%s}'):format(json_string(r.label), tostring(r.ok), json_string(r.detail))
    end
    out:write(('{"file":%s,"passed":%d,"failed":%d,"error":%s,"checks":[%s]}\n'):format(json_string(file), pass, fail,
      ok and "null" or json_string(err), table.concat(items, ",")))
  else
    if not ok then io.write(file, ": stopped with an error: ", tostring(err), "\n") end
    io.write(("%s: %d passed, %d failed\n"):format(file, pass, fail))
  end
  return (fail == 0 and ok) and 0 or 1
end

check = M.check
check_summary = M.check_summary
return M
