-- testlib.lua — a small test vocabulary for Lua tests run by the real
-- nncalc binary: test(name, fn), expect_error(fn, plain substrings...),
-- eq / near / tensor_eq assertions that say what differed.

local M = { passed = 0, failed = 0, failures = {} }

local function fail(msg, level)
  error(msg, (level or 1) + 1)
end

function M.test(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    M.passed = M.passed + 1
  else
    M.failed = M.failed + 1
    M.failures[#M.failures + 1] = name .. ": " .. tostring(err)
    io.stderr:write("FAIL ", M.file or "?", ": ", name, "\n  ", tostring(err), "\n")
  end
end

function M.eq(got, want, what)
  if got ~= want then
    fail(("%s: expected %s, got %s"):format(what or "value", tostring(want), tostring(got)), 2)
  end
end

function M.near(got, want, tol, what)
  tol = tol or 1e-12
  if type(got) ~= "number" or math.abs(got - want) > tol * math.max(1, math.abs(want)) then
    fail(("%s: expected %.17g, got %s"):format(what or "value", want, tostring(got)), 2)
  end
end

-- t must have the shape and values of the nested table want (within tol).
function M.tensor_eq(t, want, tol, what)
  tol = tol or 1e-12
  local w = tensor(want)
  if tostring(t:shape()) ~= tostring(w:shape()) then
    fail(("%s: expected shape %s, got %s"):format(what or "tensor", tostring(w:shape()),
      tostring(t:shape())), 2)
  end
  local n = t:numel()
  local tf, wf = t:reshape(n), w:reshape(n)
  for i = 1, n do
    local a, b = tf[i], wf[i]
    if not (a == b or math.abs(a - b) <= tol * math.max(1, math.abs(b))) then
      fail(("%s: element %d expected %.17g, got %.17g\n%s"):format(what or "tensor", i, b, a,
        tostring(t)), 2)
    end
  end
end

-- fn must raise an error whose message contains every given substring.
function M.expect_error(fn, ...)
  local ok, err = pcall(fn)
  if ok then fail("expected an error, but the call succeeded", 2) end
  err = tostring(err)
  for _, s in ipairs({ ... }) do
    if not err:find(s, 1, true) then
      fail(("error message %q does not contain %q"):format(err, s), 2)
    end
  end
  return err
end

-- Everything print() would write, captured as one string.
function M.capture(fn)
  local out = {}
  local old = io.write
  io.write = function(...)
    for _, v in ipairs({ ... }) do out[#out + 1] = tostring(v) end
  end
  local ok, err = pcall(fn)
  io.write = old
  if not ok then error(err, 0) end
  return table.concat(out)
end

return M
