-- anchor_nncalc.lua — the nncalc side of bench/bench_anchors.lua, in a
-- fresh process: the workloads of anchor_torch.py, each printed as a
-- "key value" line (microseconds, or milliseconds for keys ending in _ms),
-- plus what has no PyTorch counterpart (warm sessions, traces, printing).
local clock = os.clock

local function median(fn, reps, rounds)
  local ts = {}
  for r = 1, rounds or 7 do
    local t0 = clock()
    for _ = 1, reps do fn() end
    ts[r] = (clock() - t0) / reps
  end
  table.sort(ts)
  return ts[(#ts + 1) // 2]
end

local function out(key, seconds, unit)
  print(("%s %.6g"):format(key, seconds * (unit or 1e6)))
  io.stdout:flush()
end

-- ---- small ops and the homework MLP, fresh, then after a session's warm-up
local x, y = tensor{1, 2, 3, 4}, tensor{4, 3, 2, 1}
local function op() local _ = x + y end

local B = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/benchlib.lua")
local mlp = B.homework_mlp()
local xx, params, mlp_forward = mlp.x, mlp.params, mlp.forward
local function mlp_step()
  for _, p in ipairs(params) do p:zero_grad() end
  mlp_forward():backward()
end

out("op_fresh", median(op, 20000))
out("mlp_fresh", median(mlp_step, 2000))
out("mlp_forward", median(mlp_forward, 2000))
out("mlp_nograd", median(function() no_grad(mlp_forward) end, 2000))

-- what a REPL session has done by the time a student times something:
-- thousands of live tensors, a backward through a bigger graph, a summary,
-- an explicit collection
local keep = {}
for i = 1, 13000 do keep[i] = tensor{i} end
do
  local w = randn(64, 64):requires_grad()
  local h = randn(64)
  for _ = 1, 20 do h = tanh(w * h) end
  h:sum():backward()
end
summary(models.vgg16(), {3, 224, 224}, { quiet = true })
collectgarbage()
out("op_warm", median(op, 20000))
out("mlp_warm", median(mlp_step, 2000))

local net = nn.Sequential{ nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1), nn.ReLU() }
local np = net:parameters()
out("mlp_seq", median(function()
  for _, p in ipairs(np) do p:zero_grad() end
  local L = ((net(xx) - 10) ^ 2):sum()
  L:backward()
end, 2000))
keep = nil

-- ---- LeNet-5: forward on 32 images, one SGD epoch on 1,024 -------------------
seed(0)
local lenet = models.lenet5()
local X = randn(1024, 1, 32, 32)
local labels = {}
for i = 1, 1024 do labels[i] = (i - 1) % 10 + 1 end   -- 1-based classes
local Y = tensor(labels)
local xb = X:narrow(1, 1, 32)
out("lenet_fwd_ms", median(function() no_grad(function() return lenet(xb) end) end, 20), 1e3)
local opt = optim.SGD(lenet:parameters(), { lr = 0.01 })
local lossf = nn.CrossEntropyLoss()
out("lenet_epoch_ms", median(function()
  for i = 1, 1024, 32 do
    opt:zero_grad()
    local L = lossf(lenet(X:narrow(1, i, 32)), Y:narrow(1, i, 32))
    L:backward()
    opt:step()
  end
end, 1, 5), 1e3)

-- ---- the large convolutions of bench_conv ----------------------------------
no_grad(function()
  local xr, cr = randn(1, 64, 56, 56), nn.Conv2d(64, 128, 3, { padding = 1 })
  out("conv_resnet_ms", median(function() return cr(xr) end, 3, 5), 1e3)
  local xi = randn(1, 256, 32, 32)
  local br = { nn.Conv2d(256, 128, 1), nn.Conv2d(256, 192, 3, { padding = 1 }),
    nn.Conv2d(256, 96, 5, { padding = 2 }), nn.Conv2d(256, 64, 1) }
  out("conv_inception_ms", median(function() for _, b in ipairs(br) do b(xi) end end, 2, 5), 1e3)
end)

-- ---- traces and graph printing at 1,000 and 10,000 ops ----------------------
warnings{ accumulate = false }
local function chain(n)
  local v = tensor{1, 2}:requires_grad()
  local h = v
  for _ = 1, n do h = h * 1.0001 + 0.5 end
  return h:sum(), 2 * n + 1
end
for _, n in ipairs{ 500, 5000 } do
  local L, ops = chain(n)
  local k = ops < 5000 and "1k" or "10k"
  out("backward_" .. k, median(function() L:backward{ retain_graph = true } end, 1, 5) / ops)
  local devnull = io.open("/dev/null", "w")
  local saved = io.output()
  io.output(devnull)
  local tr = median(function() L:backward{ trace = true, retain_graph = true } end, 1, 3) / ops
  io.output(saved)
  devnull:close()
  out("trace_" .. k, tr)
  local text
  out("graph_" .. k, median(function() text = tostring(graph(L)) end, 1, 3) / ops)
  print(("graph_bytes_%s %.6g"):format(k, #text / ops))
end
