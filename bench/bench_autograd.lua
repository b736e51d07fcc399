-- bench_autograd.lua — forward and forward+backward of the 2-3-2-1
-- homework MLP from Lua, in microseconds per iteration (nncalc bench).
local clock = os.clock
local B = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/benchlib.lua")
local mlp = B.homework_mlp()
local x, y, params, forward = mlp.x, mlp.y, mlp.params, mlp.forward
local W1, b1, W2, b2, W3, b3 = mlp.W1, mlp.b1, mlp.W2, mlp.b2, mlp.W3, mlp.b3

local function time(n, fn)
  local best = math.huge
  for _ = 1, 5 do
    local t0 = clock()
    for _ = 1, n do fn() end
    best = math.min(best, (clock() - t0) / n * 1e6)
  end
  return best
end

local n = tonumber(arg and arg[1]) or 20000
local fwd = time(n, forward)
local fb = time(n, function()
  for _, p in ipairs(params) do p:zero_grad() end
  forward():backward()
end)
local nf = time(n, function() no_grad(forward) end)
print("== autograd: 2-3-2-1 homework MLP driven from Lua (best of 5 x " .. n .. " iterations) ==")
print(("forward (recording the graph)   %8.2f us/iter"):format(fwd))
print(("forward without graph (no_grad) %8.2f us/iter"):format(nf))
print(("forward + backward              %8.2f us/iter   target < 10 us (%s)"):format(fb, fb < 10 and "PASS" or "MISS"))
print("PyTorch on the same step: bench_anchors.lua, measured in the same `make bench`")

-- second order on the same network: the recorded backward (create_graph)
-- beside the plain one above, and the 6x6 Hessian in W1 (1 + 6 passes)
local m = math.max(1, n // 10)
local cg = time(m, function()
  for _, p in ipairs(params) do p.grad = nil end
  forward():backward{ create_graph = true }
end)
local W1v = W1:detach():clone()
local H = time(math.max(1, m // 10), function()
  hessian(function(w)
    local z1 = relu(w:reshape(3, 2) * x + b1:detach())
    local z2 = relu(W2:detach() * z1 + b2:detach())
    return ((relu(W3:detach() * z2 + b3:detach()) - y) ^ 2):sum()
  end, W1v:reshape(6))
end)
print(("forward + backward{create_graph} %7.2f us/iter   (%.1fx the plain backward)"):format(cg, cg / fb))
print(("hessian in W1 (6x6, 7 passes)    %7.2f us/iter"):format(H))
