-- stock_lua_test.lua — nncalc as a library of a stock lua5.4: require
-- "nncalc" gives the API as a table, nc.globals() the calculator names.
-- Run by tests/stock_lua_test.sh, in the tree and after make install.
local pass, fail = 0, 0
local function ok(cond, what)
  if cond then pass = pass + 1 else fail = fail + 1; io.stderr:write("FAIL stock lua: ", what, "\n") end
end

local nc = require("nncalc")
ok(type(nc) == "table" and type(nc.tensor) == "function", "require returns the library table")
ok(rawget(_G, "tensor") == nil and rawget(_G, "summary") == nil, "no globals before nc.globals()")
ok(package.loaded.nncalc == nc, "package.loaded.nncalc is the table")

-- the homework MLP's first layer, through the table alone
local x = nc.tensor{2, 1}
local W1 = nc.tensor{{1, 0}, {3, 4}, {1, 2}}:requires_grad():name("W1")
local L = nc.relu(W1 * x):sum():name("L")   -- W1 x = (2, 10, 4), all positive
ok(L:item() == 16, "forward: sum(relu(W1 x)) = 16, got " .. tostring(L:item()))

-- a trace printed while the output is captured
local lines = {}
local real_write = io.write
io.write = function(...) for _, s in ipairs({...}) do lines[#lines + 1] = tostring(s) end end
local okb, err = pcall(L.backward, L, {trace = true})
io.write = real_write
local text = table.concat(lines)
ok(okb, "backward{trace=true}: " .. tostring(err))
ok(text:find("dL/dW1", 1, true) ~= nil, "the trace names W1: " .. text:sub(1, 200))
-- dL/dW1 = 1 · xᵀ for every row
local g = W1.grad
ok(g[{1, 1}] == 2 and g[{1, 2}] == 1 and g[{3, 1}] == 2 and g[{3, 2}] == 1, "W1.grad = [2 1; 2 1; 2 1]")

-- summary from settings alone: Linear(2,3) has 2*3 + 3 = 9 parameters
local net = nc.nn.Sequential{nc.nn.Linear(2, 3), nc.nn.ReLU(), nc.nn.Linear(3, 1)}
io.write = function() end
local s = nc.summary(net, {2})
io.write = real_write
ok(s.total.params == 9 + 4, "summary params = 13, got " .. tostring(s.total.params))

-- the calculator globals, on request, never over the user's own
check = "mine"
nc.globals()
ok(type(tensor) == "function" and type(summary) == "function" and nn == nc.nn, "globals() installs the API")
ok(check == "mine", "globals() keeps the user's own global check")
ok(tensor{1, 2}:sum() == 3, "tensor{1,2}:sum() through the globals")

io.write(("stock: %d passed, %d failed\n"):format(pass, fail))
os.exit(fail == 0 and 0 or 1)
