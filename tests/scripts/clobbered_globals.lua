-- Every calculator global replaced by something else (a number, or print):
-- the functions taken beforehand still work, since nncalc's own code never
-- calls through the globals.  Prints "clobbered-ok" at the end.
local api = {}
for _, name in ipairs(require("nncalc.exports").names(nncalc)) do api[name] = _G[name] end
local nn_, optim_ = nn, optim
local real_print = print
for name in pairs(api) do
  if name ~= "print" then _G[name] = (name:sub(1, 1) < "m") and 1 or real_print end
end
summary, check, plot, format = 1, print, print, 1

local net = nn_.Sequential{ nn_.Conv2d(1, 2, 3), nn_.ReLU(), nn_.MaxPool2d(2), nn_.Flatten(), nn_.Linear(2 * 3 * 3, 2) }
local s = api.summary(net, {1, 8, 8}, {quiet = true})
assert(s.total.params == (2 * 9 + 2) + (18 * 2 + 2), "summary params")
local rf = api.receptive_field(net, {1, 8, 8}, {quiet = true})
assert(rf, "receptive_field")
api.receptive_region(nn_.Sequential{ nn_.Conv2d(1, 2, 3), nn_.MaxPool2d(2) }, {1, 8, 8}, {1, 1, 1})
local x = api.tensor{2, 1}
local W = api.tensor{{1, 0}, {3, 4}}:requires_grad()
local L = api.relu(W * x):sum()
L:backward{trace = true}
api.check("grad", W.grad, api.tensor{{2, 1}, {2, 1}})
api.check_summary()
api.gradcheck(function(w) return api.tanh(w * x):sum() end, {W})
api.graph(L)
api.conv_solve{input = 32, output = 16, padding = 1}
api.plot(api.sigmoid, -3, 3, {quiet = true})
local opt = optim_.SGD(net:parameters(), {lr = 0.1})
local out = net(api.randn(1, 1, 8, 8))
api.mse_loss(out, api.zeros(1, 2)):backward()
opt:step{trace = true}
api.fit(nn_.Linear(1, 1), nn_.MSELoss(), {api.tensor{{1}, {2}}, api.tensor{{2}, {4}}}, {epochs = 2, quiet = true})
api.help("summary")
api.format{precision = 3}
real_print("clobbered-ok")
