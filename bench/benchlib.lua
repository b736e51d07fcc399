-- benchlib.lua — what the benchmarks share: the median time of a function
-- in ms, this process's peak RSS in MB, and the homework MLP.  Loaded with
-- dofile beside the script (bench/ is not on package.path).
local B = {}

function B.median_ms(fn, runs)
  runs = runs or 21
  local times = {}
  for i = 1, runs do
    local t0 = os.clock()
    fn()
    times[i] = (os.clock() - t0) * 1000
  end
  table.sort(times)
  return times[(runs + 1) // 2]
end

function B.peak_rss_mb()
  local f = io.open("/proc/self/status")
  local hwm = f and f:read("a"):match("VmHWM:%s*(%d+)") or "0"
  if f then f:close() end
  return tonumber(hwm) / 1024
end

-- The 2-3-2-1 homework MLP (x = {2, 1}, target 10, the sheet's weights):
-- its tensors, params (the six leaves) and forward() = the squared error.
function B.homework_mlp()
  local x, y = tensor{2, 1}, 10
  local W1 = tensor{{1, 0}, {3, 4}, {1, 2}}:requires_grad()
  local b1 = tensor{0, -2, 5}:requires_grad()
  local W2 = tensor{{2, 6, 1}, {0, 3, 1}}:requires_grad()
  local b2 = tensor{-23, -11}:requires_grad()
  local W3 = tensor{{-2, 3}}:requires_grad()
  local b3 = tensor{18}:requires_grad()
  local function forward()   -- (upvalues, not fields: what is timed is the MLP)
    local z1 = relu(W1 * x + b1)
    local z2 = relu(W2 * z1 + b2)
    local yhat = relu(W3 * z2 + b3)
    return ((yhat - y) ^ 2):sum()
  end
  return { x = x, y = y, W1 = W1, b1 = b1, W2 = W2, b2 = b2, W3 = W3, b3 = b3,
           params = { W1, b1, W2, b2, W3, b3 }, forward = forward }
end

return B
