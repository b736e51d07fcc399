-- grade.lua — `nncalc check FILE... [--tap | --json | --gradescope[=PATH]] [-- ARGS...]`:
-- runs homework files of check() calls for a grader.  Each file runs in its
-- own environment with the generator at its start-up seed, as if it ran
-- alone; an error in a question() block or a check's function fails that
-- question only, an error at the top level ends the file with a report.
-- The report: per file and in total (passed, failed, points); exit status
-- 1 when anything failed, 2 for a usage error.

local C = require("nncalc.check")
local M = {}

local usage = "usage: nncalc check FILE.lua... [--tap | --json | --gradescope[=PATH]] [-- ARGS...]"

-- ---- JSON -------------------------------------------------------------------------

local function json_string(s)
  return '"' .. tostring(s):gsub('[%c"\\]', function(c)
    local map = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\t"] = "\\t", ["\r"] = "\\r" }
    return map[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end
M.json_string = json_string

-- numbers, tensors (nested arrays), lists, strings, booleans; NaN and
-- infinities (not JSON numbers) as the strings "nan", "inf", "-inf"
local function json_value(v, depth)
  depth = depth or 0
  local ty = type(v)
  if v == nil then return "null" end
  if ty == "boolean" then return tostring(v) end
  if ty == "number" then
    if v ~= v then return '"nan"' end
    if v == math.huge then return '"inf"' elseif v == -math.huge then return '"-inf"' end
    if math.type(v) == "integer" or (v == math.floor(v) and math.abs(v) < 2 ^ 53) then return ("%d"):format(v) end
    return ("%.17g"):format(v)
  end
  if nncalc.is_tensor(v) then
    if v:dim() == 0 then return json_value(v:item()) end
    return json_value(v:detach():totable(), depth)
  end
  if ty == "table" and depth < 8 then
    local parts = {}
    for i = 1, #v do parts[i] = json_value(v[i], depth + 1) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  return json_string(tostring(v))
end

-- ---- running one file -------------------------------------------------------------

-- Runs file with arg = {[0] = file, ...}; returns its record: results, error.
local function run_file(file, args, quiet)
  C.results, C.variant_id, C.current_question, C.quiet = {}, nil, nil, quiet
  seed(0)   -- the start-up seed: a file's numbers do not depend on the files before it
  local arg = { [0] = file }
  for i, a in ipairs(args) do arg[i] = a end
  local env = setmetatable({ arg = arg }, { __index = _G })
  local chunk, err = loadfile(file, "t", env)
  local ok = chunk ~= nil
  -- in the machine formats what the homework prints goes to stderr, so
  -- that stdout holds nothing but the report
  local saved_output = io.output()
  if quiet then io.output(io.stderr) end
  if ok then ok, err = xpcall(chunk, C.where, table.unpack(args)) end
  io.output():flush()
  io.output(saved_output)
  local f = { file = file, results = C.results, error = not ok and tostring(err) or nil, variant = C.variant_id }
  f.passed, f.failed, f.points, f.max_points = C.tally()
  return f
end

-- ---- reports ----------------------------------------------------------------------

local function points_text(p, max)
  return ("%s of %s point%s"):format(C.num(p), C.num(max), max == 1 and "" or "s")
end

local function text_line(f)
  local lines = {}
  if f.error then
    lines[1] = ("%s: stopped with an error: %s; the checks after it did not run\n"):format(f.file, f.error)
  end
  lines[#lines + 1] = ("%s: %d passed, %d failed (%s)\n"):format(f.file, f.passed, f.failed, points_text(f.points, f.max_points))
  return table.concat(lines)
end

local function label_of(f, r, several) return several and (f.file .. ": " .. r.label) or r.label end

local function tap(files, out)
  local several, n = #files > 1, 0
  for _, f in ipairs(files) do n = n + #f.results + (f.error and 1 or 0) end
  out:write("TAP version 13\n1..", n, "\n")
  local i = 0
  for _, f in ipairs(files) do
    for _, r in ipairs(f.results) do
      i = i + 1
      -- one line per test point, and '#' would start a TAP directive
      local label = label_of(f, r, several):gsub("[\r\n]+", " "):gsub("#", "\\#")
      out:write(r.ok and "ok " or "not ok ", i, " - ", label, "\n")
      if not r.ok then out:write("  ---\n  message: ", json_string(r.detail), "\n  ...\n") end
    end
    if f.error then
      i = i + 1
      out:write("not ok ", i, " - ", f.file, " ran to the end\n  ---\n  message: ", json_string(f.error), "\n  ...\n")
    end
  end
end

local function json_file(f)
  local items = {}
  for _, r in ipairs(f.results) do
    items[#items + 1] = ('{"label":%s,"ok":%s,"expected":%s,"got":%s,"difference":%s,"rule":%s,"points":%s,"question":%s,"detail":%s}')
      :format(json_string(r.label), tostring(r.ok), json_value(r.expected), json_value(r.got),
        json_value(r.difference), r.rule and json_string(r.rule) or "null", json_value(r.points),
        r.question and json_string(r.question) or "null", json_string(r.detail))
  end
  return ('{"file":%s,"variant":%s,"passed":%d,"failed":%d,"points":%s,"max_points":%s,"error":%s,"checks":[%s]}')
    :format(json_string(f.file), f.variant and json_string(f.variant) or "null", f.passed, f.failed,
      json_value(f.points), json_value(f.max_points), f.error and json_string(f.error) or "null", table.concat(items, ","))
end

local function totals(files)
  local t = { passed = 0, failed = 0, points = 0, max_points = 0, errors = 0 }
  for _, f in ipairs(files) do
    for _, k in ipairs({ "passed", "failed", "points", "max_points" }) do t[k] = t[k] + f[k] end
    if f.error then t.errors = t.errors + 1 end
  end
  return t
end

local function json(files, out)
  if #files == 1 then out:write(json_file(files[1]), "\n"); return end
  local parts, t = {}, totals(files)
  for i, f in ipairs(files) do parts[i] = json_file(f) end
  out:write(('{"files":[%s],"passed":%d,"failed":%d,"points":%s,"max_points":%s,"errors":%d}\n'):format(
    table.concat(parts, ","), t.passed, t.failed, json_value(t.points), json_value(t.max_points), t.errors))
end

-- Gradescope's results.json: a test per check (score, max_score, output,
-- visibility), a top-level error as a test worth nothing, the total score.
local function gradescope(files, out)
  local tests, score, several = {}, 0, #files > 1
  for _, f in ipairs(files) do
    for _, r in ipairs(f.results) do
      local s = r.ok and r.points or 0
      score = score + s
      local output = (r.ok and "passed: " or "failed: ") .. r.detail .. (r.rule and (" [" .. r.rule .. "]") or "")
      tests[#tests + 1] = ('{"name":%s,"score":%s,"max_score":%s,"status":%s,"output":%s,"visibility":"visible"}')
        :format(json_string(label_of(f, r, several)), json_value(s), json_value(r.points),
          r.ok and '"passed"' or '"failed"', json_string(output))
    end
    if f.error then
      tests[#tests + 1] = ('{"name":%s,"score":0,"max_score":0,"status":"failed","output":%s,"visibility":"visible"}')
        :format(json_string(f.file .. " ran to the end"),
          json_string("stopped with an error: " .. f.error .. "; the checks after it did not run"))
    end
  end
  local t = totals(files)
  local summary = ("%d passed, %d failed, %s"):format(t.passed, t.failed, points_text(t.points, t.max_points))
  out:write(('{"score":%s,"output":%s,"visibility":"visible","stdout_visibility":"hidden","tests":[%s]}\n'):format(
    json_value(score), json_string(summary), table.concat(tests, ",")))
end

-- ---- the command ------------------------------------------------------------------

local function parse(args)
  local o = { mode = "text", files = {}, args = {} }
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--" then
      for j = i + 1, #args do o.args[#o.args + 1] = args[j] end
      break
    elseif a == "--tap" or a == "--json" then o.mode = a:sub(3)
    elseif a == "--gradescope" then o.mode = "gradescope"
    elseif a:match("^%-%-gradescope=") then
      o.gradescope_path = a:match("=(.*)")
      if o.gradescope_path == "" then return nil, "--gradescope= needs a path, e.g. --gradescope=results.json" end
    elseif a:sub(1, 1) == "-" and a ~= "-" then return nil, "unknown option " .. a
    else o.files[#o.files + 1] = a end
    i = i + 1
  end
  if #o.files == 0 then return nil end
  return o
end

function M.main(args)
  local o, err = parse(args)
  if not o then
    if err then io.stderr:write("nncalc check: ", err, "\n") end
    io.stderr:write(usage, "\n")
    return 2
  end
  local quiet = o.mode ~= "text"
  local files, several = {}, #o.files > 1
  for _, file in ipairs(o.files) do
    if several and not quiet then io.write("== ", file, " ==\n") end
    local f = run_file(file, o.args, quiet)
    files[#files + 1] = f
    if not quiet then io.write(text_line(f)) end
  end
  C.quiet = false
  local out = io.stdout   -- machine formats: raw bytes, whatever the terminal
  if o.mode == "tap" then tap(files, out)
  elseif o.mode == "json" then json(files, out)
  elseif o.mode == "gradescope" then gradescope(files, out) end
  local t = totals(files)
  if several and not quiet then
    io.write(("total: %d files, %d passed, %d failed%s (%s)\n"):format(#files, t.passed, t.failed,
      t.errors > 0 and (", " .. t.errors .. " stopped by an error") or "", points_text(t.points, t.max_points)))
  end
  if o.gradescope_path then
    local fh, ferr = io.open(o.gradescope_path, "w")
    if not fh then io.stderr:write("nncalc check: cannot write ", ferr, "\n"); return 2 end
    gradescope(files, fh)
    fh:close()
  end
  return (t.failed == 0 and t.errors == 0) and 0 or 1
end

return M
