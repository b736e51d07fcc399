-- run.lua — runs Lua test files through nncalc and prints the tally:
--   nncalc tests/lua/run.lua tests/lua/test_*.lua
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local T = require("testlib")
for k, v in pairs(T) do if type(v) == "function" then _G[k] = v end end

for i = 1, #arg do
  T.file = arg[i]
  local chunk, err = loadfile(arg[i])
  if not chunk then
    T.failed = T.failed + 1
    io.stderr:write("FAIL ", arg[i], ": cannot load: ", err, "\n")
  else
    local before = T.passed + T.failed
    local ok, e = xpcall(chunk, debug.traceback)
    if not ok then
      T.failed = T.failed + 1
      io.stderr:write("FAIL ", arg[i], ": error outside a test: ", tostring(e), "\n")
    end
    print(("  %-34s %d tests"):format(arg[i]:match("[^/]*$"), T.passed + T.failed - before))
  end
end
print(("lua: %d passed, %d failed"):format(T.passed, T.failed))
os.exit(T.failed == 0 and 0 or 1)
