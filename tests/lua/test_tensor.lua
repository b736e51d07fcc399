-- Tensors from Lua: construction, indexing, views, printing.

test("tensor from nested tables", function()
  local W = tensor{{1, 0}, {3, 4}, {1, 2}}
  eq(tostring(W:shape()), "{3, 2}")
  eq(W:dim(), 2); eq(W:numel(), 6); eq(#W, 3)
  eq(W:size(1), 3); eq(W:size(2), 2); eq(W:size(-1), 2)
  eq(W[{2, 1}], 3); eq(W[{3, 2}], 2)
  eq(tensor(5):dim(), 0)
  eq(tensor(5):item(), 5)
  eq(tensor{}:numel(), 0)
end)

test("creation functions", function()
  tensor_eq(zeros(2, 3), {{0, 0, 0}, {0, 0, 0}})
  tensor_eq(ones{2, 2}, {{1, 1}, {1, 1}})
  tensor_eq(full({2, 2}, 7), {{7, 7}, {7, 7}})
  tensor_eq(eye(3), {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}})
  tensor_eq(eye(2, 3), {{1, 0, 0}, {0, 1, 0}})
  tensor_eq(arange(1, 5), {1, 2, 3, 4, 5})
  tensor_eq(arange(4), {1, 2, 3, 4})
  tensor_eq(arange(5, 1, -2), {5, 3, 1})
  eq(arange(0, 1, 0.1):numel(), 11)
  tensor_eq(linspace(0, 1, 5), {0, 0.25, 0.5, 0.75, 1})
  eq(linspace(0, 1, 3)[3], 1)
  eq(zeros(0, 3):numel(), 0)
end)

test("seeded random numbers repeat", function()
  seed(42); local a = rand(3, 4)
  seed(42); local b = rand(3, 4)
  eq(a == b, true, "same seed, same numbers")
  seed(43); local c = rand(3, 4)
  eq(a == c, false, "other seed, other numbers")
  seed(7); local n = randn(10000)
  near(n:mean(), 0, 0.05, "randn mean")
  near(((n - n:mean()) ^ 2):mean(), 1, 0.05, "randn variance")
  local u = rand(1000)
  eq(u:min() >= 0 and u:max() < 1, true, "rand in [0, 1)")
end)

test("x[i] is a row view, or a number for 1-D", function()
  local x = tensor{{1, 2}, {3, 4}}
  tensor_eq(x[2], {3, 4})
  eq(tensor{5, 6}[2], 5 + 1)
  eq(tensor{5, 6}[-1], 6)
  eq(x[-1][-1], 4)
  local row = x[1]
  row[{2}] = 20                 -- a view: writes through to x
  eq(x[{1, 2}], 20)
end)

test("ranges and {} in index tables", function()
  local x = tensor{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}
  tensor_eq(x[{{}, 2}], {2, 5, 8})
  tensor_eq(x[{{2, 3}, {1, 2}}], {{4, 5}, {7, 8}})
  tensor_eq(x[{2, {2, -1}}], {5, 6})
  tensor_eq(x[{{1}}], {{1, 2, 3}})
end)

test("assignment through indices", function()
  local x = zeros(2, 3)
  x[{1, 2}] = 5
  x[2] = 1
  x[{{}, 3}] = tensor{8, 9}
  tensor_eq(x, {{0, 5, 8}, {1, 1, 9}})
  x[{1}] = tensor{7, 7, 7}
  tensor_eq(x, {{7, 7, 7}, {1, 1, 9}})
end)

test("views share storage, copies do not", function()
  local a = tensor{{1, 2, 3}, {4, 5, 6}}
  local t = a:t()
  eq(t:is_contiguous(), false)
  tensor_eq(t, {{1, 4}, {2, 5}, {3, 6}})
  eq(tostring(t:stride()), "{1, 3}")
  t[{1, 2}] = 40
  eq(a[{2, 1}], 40)
  local c = t:clone()
  c[{1, 1}] = 100
  eq(a[{1, 1}], 1)
  tensor_eq(a:narrow(2, 2, 2), {{2, 3}, {5, 6}})
  tensor_eq(a:select(2, 3), {3, 6})
  tensor_eq(a:view(3, 2), {{1, 2}, {3, 40}, {5, 6}})
  tensor_eq(a:view(-1), {1, 2, 3, 40, 5, 6})
  tensor_eq(t:reshape(6), {1, 40, 2, 5, 3, 6})
  tensor_eq(a:unsqueeze(1):squeeze(), a:totable())
  eq(tostring(a:unsqueeze(2):shape()), "{2, 1, 3}")
  eq(tostring(a:permute(2, 1):shape()), "{3, 2}")
  tensor_eq(tensor{{1}, {2}}:expand(2, 3), {{1, 1, 1}, {2, 2, 2}})
  tensor_eq(a:index_select(2, {3, 1}), {{3, 1}, {6, 40}})
  tensor_eq(a:transpose(1, 2), t:totable())
end)

test("a view keeps its storage alive", function()
  local v
  do
    local big = arange(1, 6):view(2, 3)
    v = big:t()
  end
  collectgarbage(); collectgarbage()
  tensor_eq(v, {{1, 4}, {2, 5}, {3, 6}})
end)

test("cat, stack, copy, fill, totable", function()
  tensor_eq(cat({tensor{1, 2}, tensor{3}}), {1, 2, 3})
  tensor_eq(cat({eye(2), ones(2, 1)}, 2), {{1, 0, 1}, {0, 1, 1}})
  tensor_eq(stack({tensor{1, 2}, tensor{3, 4}}, 2), {{1, 3}, {2, 4}})
  local z = zeros(2, 2)
  z:copy(tensor{5, 6})       -- broadcast over rows
  tensor_eq(z, {{5, 6}, {5, 6}})
  z:fill(3)
  tensor_eq(z, {{3, 3}, {3, 3}})
  local t = tensor{{1, 2}, {3, 4}}:totable()
  eq(t[2][1], 3)
end)

test("printing: integers plain, aligned, shape footer", function()
  eq(tostring(tensor{{1, 0}, {3, 4}, {1, 2}}), " 1  0\n 3  4\n 1  2\n[tensor 3x2]")
  eq(tostring(tensor{2, -10}), "   2  -10\n[tensor 2]")
  eq(tostring(tensor{0.5, 0.25}), " 0.5000  0.2500\n[tensor 2]")
  eq(tostring(tensor(3)), "3")
  eq(tostring(zeros(0, 2)), "[empty tensor 0x2]")
end)

test("printing: no factored-out scale; small values in e-notation", function()
  local s = tostring(tensor{0.001, 0.00002})
  eq(s, " 1.0000e-03  2.0000e-05\n[tensor 2]")
  eq(s:find("*", 1, true), nil)
end)

test("printing: large tensors abbreviated, format options", function()
  local s = tostring(arange(1, 1000))
  eq(s:find("...", 1, true) ~= nil, true)
  eq(s:match("[^\n]*$"), "[tensor 1000]")
  eq(#s < 200, true)
  local x = tensor{1 / 3}
  eq(x:format{precision = 8}, " 0.33333333\n[tensor 1]")
  eq(x:format{full = true}, " 0.33333333333333331\n[tensor 1]")
  format{precision = 2}
  eq(tostring(x), " 0.33\n[tensor 1]")
  format{}
  eq(tostring(x), " 0.3333\n[tensor 1]")
  eq(tostring(tensor{0/0, 1/0, -1/0, 1}), "  nan   inf  -inf     1\n[tensor 4]")
end)

test("printing 3-D tensors by slices", function()
  local s = tostring(arange(1, 8):view(2, 2, 2))
  eq(s, "(1,.,.) =\n 1  2\n 3  4\n\n(2,.,.) =\n 5  6\n 7  8\n\n[tensor 2x2x2]")
end)

test("single values are plain numbers", function()
  local x = tensor{{1, 2}, {3, 4}, {5, 6}}
  eq(x:sum() == 21, true)
  eq(type(x:sum()), "number")
  eq(type(x[{1, 1}]), "number")
  eq(type(tensor{1, 2} * tensor{3, 4}), "number")
  eq(tensor{1, 2} * tensor{3, 4}, 11)
end)

test("a loop of large temporaries does not pile them up (the collector is told of tensor memory)", function()
  collectgarbage(); collectgarbage()
  local base = stats().bytes
  local x = randn(300, 300)                  -- 720 kB per result below
  local peak = 0
  for _ = 1, 400 do                          -- 864 MB if nothing were freed
    local a = (x + x):relu() + x             -- intermediates that outlive minor collections
    peak = math.max(peak, stats().bytes - base)
  end
  eq(peak < 200e6, true, ("held %.0f MB of tensors at the peak"):format(peak / 1e6))
  local kept = {}
  for i = 1, 40 do kept[i] = zeros(100, 1000) end   -- live data is never collected
  collectgarbage()
  eq(stats().bytes - base >= 40 * 800000, true, "kept tensors are alive")
  eq(kept[40]:sum(), 0)
  -- a user's collectgarbage("stop") is respected
  collectgarbage("stop")
  local before = stats().storages
  for _ = 1, 20 do local a = zeros(300, 300) end
  eq(stats().storages - before >= 20, true, "nothing collected while stopped")
  collectgarbage("restart"); collectgarbage()
end)

-- Lua's generational collector, left alone, falls into its "bad collection"
-- state after a major collection (the garbage awaiting __gc is not freed) and
-- then lets the heap double between collections: with 13,000 tensors alive
-- that was ~100,000 dead small tensors waiting at once.  l_gc.c runs a minor
-- collection every 2,048 new tensors, so the dead ones waiting stay a few
-- thousand, in a fresh state and after a session's warm-up alike.
local function peak_dead(n)
  local x, y = tensor{1, 2, 3, 4}, tensor{4, 3, 2, 1}
  local base, peak = stats().tensors, 0
  for i = 1, n do
    local _ = x + y
    if i % 64 == 0 then peak = math.max(peak, stats().tensors - base) end
  end
  return peak
end

test("dead small tensors are collected in small batches, fresh or after a session's warm-up", function()
  local fresh = peak_dead(20000)
  local w = tensor{1, 2}:requires_grad()
  ;(w * w):sum():backward()
  local keep = {}
  for i = 1, 13000 do keep[i] = tensor{i} end
  collectgarbage()
  local warm = peak_dead(20000)
  -- two minor collections' worth (a dead tensor's finalizer runs in one,
  -- its memory goes in the next), with room for Lua's own minor steps
  eq(fresh <= 3 * 2048, true, "fresh: " .. fresh .. " dead tensors waiting")
  eq(warm <= 3 * 2048, true, "warm: " .. warm .. " dead tensors waiting")
  eq(#keep, 13000)
end)
