-- test_bindings.lua — the rules every C binding follows (src/lua_api.h):
-- whole numbers (3.0 is whole, 2.5 is refused and named), the one
-- out-of-range idiom, and option settings that are checked when given
-- (0 where a positive value is required is refused, never "absent").

local x = arange(1, 16):reshape(1, 4, 4)   -- rows 1..4, 5..8, 9..12, 13..16

test("a given setting of 0 is refused where a positive one is required", function()
  expect_error(function() return max_pool2d(x, 2, {stride = 0}) end,
    "max_pool2d: stride must be a whole number >= 1, got 0")
  expect_error(function() return avg_pool2d(x, 2, {stride = 0}) end,
    "avg_pool2d: stride must be a whole number >= 1, got 0")
  expect_error(function() return max_pool2d(x, 2, {stride = {1, 0}}) end,
    "max_pool2d: stride[2] must be a whole number >= 1, got 0")
  expect_error(function() return max_pool2d(x, 2, {dilation = 0}) end, "dilation must be a whole number >= 1, got 0")
  expect_error(function() return max_pool2d(x, 0) end, "max_pool2d: kernel_size must be a whole number >= 1, got 0")
  expect_error(function() return max_pool2d(x, 2, {padding = -1}) end, "padding must be a whole number >= 0, got -1")
  local w = ones(1, 1, 2, 2)
  expect_error(function() return conv2d(x, w, {stride = 0}) end, "conv2d: stride must be a whole number >= 1, got 0")
  expect_error(function() return conv2d(x, w, {dilation = 0}) end, "conv2d: dilation must be a whole number >= 1, got 0")
  expect_error(function() return conv2d(x, w, {groups = 0}) end, "conv2d: groups must be a whole number >= 1, got 0")
  expect_error(function() return adaptive_avg_pool2d(x, 0) end, "output_size must be a whole number >= 1, got 0")
  -- the functional form agrees with the module and with pool_out, which refuse it too
  expect_error(function() return nn.MaxPool2d(2, {stride = 0}) end, "stride")
end)

test("settings that are absent take their defaults; given ones are used", function()
  -- 2x2 windows at stride 2 (the kernel) keep the bottom-right of each block
  tensor_eq(max_pool2d(x, 2), {{{6, 8}, {14, 16}}})
  -- an explicit stride 1: nine overlapping windows, each max = its bottom-right
  tensor_eq(max_pool2d(x, 2, {stride = 1}), {{{6, 7, 8}, {10, 11, 12}, {14, 15, 16}}})
  -- average of 1,2,5,6 = 3.5
  eq(avg_pool2d(x, 2)[{1, 1, 1}], 3.5)
end)

test("whole numbers computed as floats are accepted, 2.5 is refused and named", function()
  tensor_eq(max_pool2d(x, 2.0, {stride = 2 ^ 1}), {{{6, 8}, {14, 16}}})
  expect_error(function() return max_pool2d(x, 2.5) end, "kernel_size must be a whole number >= 1, got 2.5")
  eq(tostring(zeros(2.0, 3.0):shape()), "{2, 3}")
  eq(tostring(zeros{2 ^ 1, 3.0}:shape()), "{2, 3}")
  expect_error(function() return zeros(2.5) end, "size 2.5 is not a whole number")
  -- whole, but past lua_Integer: said as such, not "not a whole number"
  expect_error(function() return zeros(1e300) end, "size 1e+300 is past the largest integer (2^63 - 1)")
  expect_error(function() return seed(2 ^ 63) end, "whole number expected, got 9.2233720368548e+18, past the largest")
  eq(x:sum(1.0):numel(), 16)
  expect_error(function() return x:sum(1.5) end, "whole number expected, got 1.5")
  tensor_eq(tensor{1, 2, 3}:narrow(1, 2.0, 2.0), {2, 3})
  expect_error(function() return tensor{1, 2, 3}:narrow(1, 1.5, 1) end, "whole number expected, got 1.5")
  eq(tensor{1, 2, 3}[2.0], 2)
  expect_error(function() return tensor{1, 2, 3}[1.5] end, "index must be a whole number, got 1.5")
  tensor_eq(tensor{10, 20, 30}:index_select(1, {3.0, 1.0}), {30, 10})
  expect_error(function() return tensor{10, 20, 30}:index_select(1, {1.5}) end,
    "index 1.5 at position 1 is not a whole number")
  seed(42.0); local a = rand(3)
  seed(42); local b = rand(3)
  tensor_eq(a, b:totable(), 0, "seed(42.0) is seed(42)")
  expect_error(function() seed(0.5) end, "whole number expected, got 0.5")
  tensor_eq(conv2d(x, ones(1, 1, 2, 2), {stride = 2.0, padding = 0.0}), {{{14, 22}, {46, 54}}})
end)

test("out of range, one idiom: the value, the range and where", function()
  local A = zeros(3, 2)
  expect_error(function() return A:size(3) end, "dimension 3 out of range 1..2 (or -2..-1) for a tensor of shape 3x2")
  expect_error(function() return A:size(-3) end, "dimension -3 out of range 1..2")
  expect_error(function() return A:select(2, 3) end, "index 3 out of range 1..2 (or -2..-1) for dimension 2 (shape 3x2)")
  expect_error(function() return A[4] end, "index: index 4 out of range 1..3 (or -3..-1) for dimension 1 (shape 3x2)")
  expect_error(function() A[{1, 3}] = 1 end, "index assignment: index 3 out of range 1..2")
  expect_error(function() return zeros():size(1) end, "dimension 1 given for a tensor with no dimensions")
end)

test("options tables: a typo or a wrong type says which", function()
  expect_error(function() return max_pool2d(x, 2, {strides = 2}) end,
    "max_pool2d: unknown option 'strides' (known: stride, padding, dilation, ceil_mode)")
  expect_error(function() return max_pool2d(x, 2, 7) end, "bad argument #3 to 'max_pool2d' (options table expected, got number)")
  expect_error(function() return max_pool2d(x, 2, {[1] = 2}) end, "option keys are names, got the number key 1")
  expect_error(function() return batch_norm(zeros(2, 3), {weight = 1}) end, "batch_norm: weight must be a tensor, got number")
  expect_error(function() return batch_norm(zeros(2, 3), {eps = "x"}) end, "batch_norm: eps must be a number, got string")
end)

-- issue 12.6: Lua 5.4's ^ always gives a float, so 64 * 2^(i-1) is 128.0
test("the Lua layer takes whole numbers computed as floats, as integers", function()
  local c = nn.Conv2d(3, 64 * 2 ^ (2 - 1), 3.0, {padding = 1.0, stride = 2 ^ 0})
  eq(math.type(c.out_channels), "integer")
  eq(tostring(c.weight:shape()), "{128, 3, 3, 3}")
  eq(tostring(c), "Conv2d(3, 128, kernel_size=3, padding=1)")
  eq(c:out_shape({3, 32, 32})[2], 32)   -- (32 + 2 - 3)/1 + 1
  -- 50176 x 10 weights + 10 biases = 501,770
  eq(summary(nn.Linear(50176.0, 10.0), {50176}, {quiet = true}).total.params, 501770)
  eq(tostring(nn.Linear(2 ^ 2, 2.0)), "Linear(in_features=4, out_features=2, bias=true)")
  eq(tostring(nn.MaxPool2d(2.0)), "MaxPool2d(kernel_size=2, stride=2)")
  eq(nn.MaxPool2d(2.0):out_shape({3, 32, 32})[3], 16)
  eq(math.type(nn.BatchNorm2d(16.0).num_features), "integer")
  eq(tostring(nn.Softmax(1.0)), "Softmax(dim=1)")
  -- a summary shape {2.0, 4}: Linear(4, 2) has 4*2 + 2 = 10 parameters
  local s = summary(nn.Linear(4, 2), {2.0, 2 ^ 2}, {quiet = true})
  eq(s.total.params, 10)
  -- 10 x 6 x 5 = 300 runs, x 10 epochs = 3000, printed as integers
  local g = grid_search{10.0, 6, 5, epochs = 10.0}
  eq(g.runs, 300); eq(math.type(g.runs), "integer"); eq(g.epochs, 3000)
  eq(tostring(g):match("^[^\n]*"), "runs = 10 × 6 × 5 = 300")
  -- a 3x3 conv on 8x8: output (2, 2) sees rows 2..4 and columns 2..4
  local r = receptive_region(nn.Conv2d(1, 1, 3), {1, 8.0, 2 ^ 3}, {1.0, 2.0, 2.0})
  eq(r.rows[1], 2); eq(r.rows[2], 4); eq(r.cols[1], 2); eq(r.cols[2], 4)
end)

test("2.5 is still refused where a whole number is required, and named", function()
  expect_error(function() return nn.Linear(2.5, 3) end, "Linear: in_features must be a positive whole number, got 2.5")
  expect_error(function() return nn.Conv2d(3, 8, 2.5) end, "Conv2d: kernel_size must be whole numbers >= 1, got 2.5")
  expect_error(function() return nn.Conv2d(3, 8.5, 3) end, "out_channels must be a positive whole number, got 8.5")
  expect_error(function() return nn.MaxPool2d(2.5) end, "MaxPool2d: kernel_size must be a whole number")
  expect_error(function() return nn.BatchNorm2d(1.5) end, "num_features must be a positive whole number, got 1.5")
  expect_error(function() return grid_search{2.5} end, "grid_search: entry 1 must be a positive whole number, got 2.5")
  expect_error(function() return summary(nn.Linear(4, 2), {2.5, 4}) end, "input shape entry 1 is 2.5")
  expect_error(function() return receptive_region(nn.Conv2d(1, 1, 3), {1, 8, 8}, {1, 2.5, 1}) end, "row 2.5 is out of range")
  expect_error(function() return nn.Linear("4", 2) end, "in_features must be a positive whole number, got 4")
end)
