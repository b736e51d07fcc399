-- Every misuse raises a Lua error naming the function, the argument and
-- the shapes; nothing crashes and the state survives.

local A, B = tensor{{1, 2}, {3, 4}, {5, 6}}, tensor{{1}, {2}, {3}}

test("shape mismatches name the function and both shapes", function()
  expect_error(function() return mm(A, B) end, "mm: size mismatch, 3x2 * 3x1 (inner dims 2 vs 3)")
  expect_error(function() return A * B end, "mm: size mismatch, 3x2 * 3x1 (inner dims 2 vs 3)")
  expect_error(function() return A * tensor{1, 2, 3} end, "mv: size mismatch, 3x2 * 3")
  expect_error(function() return dot(tensor{1, 2}, tensor{1, 2, 3}) end, "dot: size mismatch")
  expect_error(function() return tensor{1, 2} + tensor{1, 2, 3} end,
    "add: shapes 2 and 3 do not broadcast (dimension 1: 2 vs 3)")
  expect_error(function() return A - zeros(2, 3) end, "sub: shapes 3x2 and 2x3")
  expect_error(function() return A:cmul(zeros(4)) end, "cmul: shapes 3x2 and 4")
  expect_error(function() return bmm(zeros(2, 2, 3), zeros(3, 3, 2)) end, "bmm: batch sizes differ")
  expect_error(function() return zeros(2, 2, 2, 2) * zeros(2) end, "no matrix product for 2x2x2x2 * 2")
  -- batched products over any leading dims: the inner and the batch dims are checked
  expect_error(function() return zeros(2, 2, 2, 3) * zeros(2, 2) end, "matmul: size mismatch, 2x2x2x3 * 2x2 (inner dims 3 vs 2)")
  expect_error(function() return zeros(2, 3, 2, 2) * zeros(4, 2, 2) end, "matmul: batch dims of 2x3x2x2 and 4x2x2 do not broadcast (3 vs 4)")
  expect_error(function() return tensor{1, 2}:reshape(3) end,
    "reshape: cannot reshape 2 (2 elements) to 3 (3 elements)")
  expect_error(function() return A:t():view(6) end, "view: cannot view 2x3 as 6 without copying")
  expect_error(function() return tensor{1, 2}:expand(3, 3) end, "expand: cannot expand 2 to 3x3")
  expect_error(function() return cat({tensor{1, 2}, tensor{{1}}}) end, "cat: tensor 2 has shape 1x1")
  expect_error(function() return stack({tensor{1, 2}, tensor{1}}) end, "stack: tensor 2 has shape 1")
  expect_error(function() return zeros(2):copy(zeros(3)) end, "copy: cannot copy 3 into 2")
  tensor_eq(tensor{10, 20, 30}:index_select(1, {-1, 1, -3}), { 30, 10, 10 }, 0, "negative positions from the end")
  expect_error(function() return tensor{10, 20, 30}:index_select(1, {-4}) end,
    "bad argument #2 to 'index_select' (index -4 out of range 1..3 (or -3..-1) at position 1, for dimension 1)")
  expect_error(function() plot({}) end, "plot: the list is empty")
  -- an expanded view repeats one element: writing it would change them all
  local e = ones(1):expand(3)
  expect_error(function() e[{2}] = 5 end, "index assignment: cannot write into this 3 tensor", "clone() it first")
  expect_error(function() e:fill(2) end, "fill: cannot write")
  tensor_eq(e, { 1, 1, 1 }, 0, "untouched")
  local c = e:clone(); c[2] = 5
  tensor_eq(c, { 1, 5, 1 }, 0, "a clone is writable")
  -- a weight typed transposed must not be scrambled into place
  local l = nn.Linear(2, 3)
  local w = l.weight:clone()
  expect_error(function() l.weight:copy(tensor{{1, 3, 1}, {0, 4, 2}}) end,
    "copy: cannot copy 2x3 into 3x2", "src:t() transposes")
  tensor_eq(l.weight:detach(), w:totable(), 0, "weight untouched by the refused copy")
  expect_error(function() return zeros(2, 3):copy(tensor{1, 2, 3, 4, 5, 6}) end,
    "copy: cannot copy 6 into 2x3", "src:reshape(...) if that is meant")
  expect_error(function() return inv(tensor{{1, 2, 3}}) end, "inv: needs a square matrix, got 1x3")
  expect_error(function() return det(tensor{1, 2}) end, "det: needs a square matrix, got 2")
  expect_error(function() return solve(eye(2), tensor{1, 2, 3}) end, "solve: right-hand side 3 does not fit 2x2")
  expect_error(function() return softmax(tensor(1)) end, "softmax: needs at least one dimension")
end)

test("singular matrices", function()
  expect_error(function() return inv(tensor{{1, 2}, {2, 4}}) end, "inv: matrix is singular", "rank 1 of 2")
  expect_error(function() return solve(tensor{{1, 2}, {2, 4}}, tensor{1, 2}) end, "solve: matrix is singular")
  eq(det(tensor{{1, 2}, {2, 4}}), 0)
end)

test("wrong types", function()
  expect_error(function() return tensor("x") end, "bad argument #1 to 'tensor'", "got string")
  expect_error(function() return exp("a") end, "bad argument #1 to 'exp'", "tensor expected, got string")
  expect_error(function() return mm(A, 3) end, "bad argument #2 to 'mm'", "tensor expected, got number")
  expect_error(function() return A:mm({}) end, "bad argument #1 to 'mm'", "got table")
  expect_error(function() return tensor{1} + "a" end, "add: cannot combine a tensor with a string")
  expect_error(function() return {} * tensor{1} end, "mul: cannot combine a table with a tensor")
  expect_error(function() return tensor{1} < tensor{2} end, "use x:lt(y)")
  expect_error(function() return full(2, 3) end, "bad argument #1 to 'full'", "shape table")
  expect_error(function() return seed("x") end, "bad argument #1 to 'seed'")
  expect_error(function() return rand(3, "a") end, "bad argument #2 to 'rand'", "size expected, got string")
  expect_error(function() local x = tensor{1, 2}; x[{1}] = "a" end,
    "index assignment: cannot assign a string")
  expect_error(function() local x = tensor{1, 2}; x.foo = 1 end, "cannot set field 'foo' of a tensor")
end)

test("ragged and non-numeric tables", function()
  expect_error(function() return tensor{{1, 2}, {3}} end, "tensor: ragged table, row [2] has 1 entries, expected 2")
  expect_error(function() return tensor{{1, 2}, {3, "a"}} end, "tensor: element [2][2] is a string, expected a number")
  expect_error(function() return tensor{1, {2}} end, "tensor: element [2] is a table, expected a number")
  expect_error(function() return tensor{{1}, 2} end, "tensor: element [2] is a number, expected a table")
  expect_error(function() return tensor{{true}} end, "element [1][1] is a boolean")
end)

test("indices out of range", function()
  expect_error(function() return tensor{1, 2}[3] end, "index: index 3 out of range 1..2 (or -2..-1) for dimension 1 (shape 2)")
  expect_error(function() return tensor{1, 2}[0] end, "index 0 out of range")
  expect_error(function() return tensor{1, 2}[-3] end, "index -3 out of range")
  expect_error(function() return A[{1, 5}] end, "index 5 out of range 1..2 (or -2..-1) for dimension 2 (shape 3x2)")
  expect_error(function() return A[{1, 1, 1}] end, "3 indices for a tensor of shape 3x2")
  expect_error(function() return A[{{1, 4}}] end, "range {1, 4} out of bounds for dimension 1 of size 3")
  expect_error(function() return A[1.5] end, "index must be a whole number")
  expect_error(function() local x = tensor{1, 2}; x[3] = 1 end, "index assignment: index 3 out of range")
  expect_error(function() return A:sum(3) end, "bad argument #1 to 'sum' (dimension 3 out of range 1..2 (or -2..-1) for a tensor of shape 3x2)")
  expect_error(function() return A:narrow(1, 2, 5) end, "narrow: 5 elements from position 2 are out of bounds for dimension 1 of size 3")
  expect_error(function() return A:select(1, 4) end, "bad argument #2 to 'select' (index 4 out of range 1..3")
  expect_error(function() return A:index_select(2, {3}) end, "index 3 out of range 1..2 (or -2..-1) at position 1, for dimension 2")
  expect_error(function() return A:transpose(1, 3) end, "dimension 3 out of range")
  expect_error(function() return A:permute(1, 1) end, "permute: not a permutation of 1..2")
end)

test("negative, fractional, NaN and absurd sizes", function()
  expect_error(function() return zeros(-1, 2) end, "zeros: negative size -1 in dimension 1")
  expect_error(function() return zeros(2.5) end, "size 2.5 is not a whole number")
  expect_error(function() return zeros(0 / 0) end, "is not a whole number")
  expect_error(function() return ones(1e10, 1e10) end, "ones: size 10000000000x10000000000 is over the limit")
  expect_error(function() return zeros(2 ^ 40, 2 ^ 40, 2 ^ 40) end, "is over the limit")
  expect_error(function() return zeros(1, 1, 1, 1, 1, 1, 1, 1, 1) end, "9 dimensions (at most 8)")
  expect_error(function() return eye(-1) end, "eye: negative size -1")
  expect_error(function() return arange(1, 10, 0) end, "arange: step must not be 0")
  expect_error(function() return arange(1, 1e12) end, "arange: 1000000000000 elements is over the limit")
  expect_error(function() return arange(0, 0 / 0) end, "arange: start, stop and step must be finite")
  expect_error(function() return linspace(0, 1, -1) end, "linspace: negative number of points -1")
  expect_error(function() return zeros(0):max() end, "max: max of an empty tensor")
  expect_error(function() return tensor{1, 2}:item() end, "item: tensor of shape 2 has 2 elements, not 1")
end)

test("the allocation cap is settable and enforced", function()
  local old = limits().max_elements
  eq(old, 2 ^ 27)
  limits{max_elements = 100}
  expect_error(function() return zeros(11, 10) end, "zeros: size 11x10 is over the limit of 100 elements")
  expect_error(function() return zeros(10):expand(20, 10) end, "over the limit")
  eq(zeros(10, 10):numel(), 100)
  limits{max_elements = old}
  expect_error(function() limits{max_elements = -3} end, "limits: max_elements must be a positive whole number")
  expect_error(function() limits{foo = 1} end, "limits: unknown limit 'foo'")
end)

test("format options are checked", function()
  expect_error(function() format{precision = -1} end, "format: precision must be a whole number from 0 to 17")
  expect_error(function() format{bogus = 1} end, "format: unknown option 'bogus'")
  expect_error(function() format{full = 1} end, "format: option 'full' must be a boolean")
end)

test("state survives errors", function()
  local x = tensor{1, 2, 3}
  for _ = 1, 100 do pcall(function() return x * zeros(4) end) end
  tensor_eq(x, {1, 2, 3})
  eq(x:sum(), 6)
end)

test("absurd numbers found by fuzzing are refused, not overflowed", function()
  expect_error(function() return permute(zeros(2), math.mininteger) end, "bad argument #2 to 'permute' (dimension -9223372036854775808 out of range 1..1 (shape 2))")
  expect_error(function() return permute(zeros(2, 3), 2 ^ 32 + 2, 2 ^ 32 + 1) end, "bad argument #2 to 'permute' (dimension 4294967298 out of range 1..2")
  expect_error(function() return zeros(3):narrow(1, math.mininteger, 1) end, "bad argument #2 to 'narrow' (start -9223372036854775808 out of range 1..4")
  tensor_eq(tensor{1, 2, 3, 4}:narrow(1, -2, 2), { 3, 4 }, 0, "narrow from the end")
  expect_error(function() return zeros(3):narrow(1, -4, 1) end, "bad argument #2 to 'narrow' (start -4 out of range 1..4 (or -3..-1) for dimension 1 (shape 3))")
  expect_error(function() return zeros(0, math.maxinteger, 2) end, "over the limit")
  expect_error(function() return eye(2 ^ 40, 0) end, "over the limit")
  eq(zeros(0, 5):numel(), 0)
  eq(tostring(zeros(0, 5):stride()), "{5, 1}")
  expect_error(function() format{ edgeitems = math.maxinteger } end, "edgeitems must be a whole number from 1 to 1000")
  expect_error(function() format{ edgeitems = 0 } end, "edgeitems must be a whole number from 1 to 1000")
  expect_error(function() format{ threshold = -1 } end, "threshold must be a number >= 0")
  expect_error(function() return zeros(setmetatable({ 3, 3 }, { __len = function() return 2 ^ 32 + 2 end })) end,
    "4294967298 dimensions (at most 8)")
  expect_error(function() return allclose(zeros(1), zeros(1), -1) end, "the relative tolerance must be >= 0")
  expect_error(function() return conv_out(2 ^ 62, 3) end, "must be from 1 to 2^31-1")
  expect_error(function() return conv_solve{ input = 100000, output = 1 } end, "conv_solve: the search up to")
  expect_error(function() return nn.AdaptiveAvgPool2d(math.maxinteger) end, "from 1 to 2^31-1")
  eq(summary(nn.AdaptiveAvgPool2d(100000), {3, 8, 8}, { quiet = true }).total.conns > 0, true)
end)

test("an image C x H x W too small for the window is named as given, not as the batch of one it runs as", function()
  expect_error(function() return max_pool2d(zeros(1, 4, 4), 5) end, "max_pool2d: input 1x4x4 is too small for the 5x5 window")
  expect_error(function() return avg_pool2d(zeros(3, 2, 6), {3, 3}) end, "avg_pool2d: input 3x2x6 is too small for the 3x3 window")
  expect_error(function() return conv2d(zeros(2, 4, 4), zeros(1, 2, 5, 5)) end, "conv2d: input 2x4x4 is too small for the 5x5 kernel")
  expect_error(function() return conv_transpose2d(zeros(1, 2, 2), zeros(1, 1, 3, 3), {padding = 5}) end,
    "conv_transpose2d: input 1x2x2 gives an empty output")
  expect_error(function() return nn.MaxPool2d(3)(zeros(2, 2, 2)) end, "max_pool2d: input 2x2x2 is too small")
  -- a batch keeps its own shape
  expect_error(function() return max_pool2d(zeros(2, 1, 4, 4), 5) end, "max_pool2d: input 2x1x4x4 is too small")
  expect_error(function() return max_pool2d(zeros(1, 1, 4, 4), 5) end, "max_pool2d: input 1x1x4x4 is too small")
end)

test("a reduction's options table is checked: sum{dims=1} is not the sum of everything", function()
  local x = tensor{{1, 2}, {3, 4}}
  expect_error(function() return x:sum{dims = 1} end, "sum: unknown option 'dims' (known: dim, keepdim)")
  expect_error(function() return x:mean{keep_dim = true, dim = 1} end, "mean: unknown option 'keep_dim'")
  expect_error(function() return x:max{axis = 2} end, "max: unknown option 'axis'")
  expect_error(function() return x:argmax{dims = 2} end, "argmax: unknown option 'dims'")
  tensor_eq(x:sum{dim = 1}, { 4, 6 }); tensor_eq(x:sum{dim = 2, keepdim = true}, { { 3 }, { 7 } })
  local v, i = x:max{dim = 2}
  tensor_eq(v, { 2, 4 }); tensor_eq(i, { 2, 2 })
end)

test("gradcheck and net:forward name a misspelt option", function()
  expect_error(function() gradcheck(function(x) return x:sum() end, {tensor{1}}, {eps2 = 1e-3}) end,
    "gradcheck: unknown option 'eps2' (eps, atol, rtol, quiet)")
  expect_error(function() gradgradcheck(function(x) return (x ^ 3):sum() end, {tensor{1}}, {ep = 1e-3}) end,
    "gradgradcheck: unknown option 'ep' (eps, atol, rtol, quiet)")
  expect_error(function() nn.Linear(1, 1):forward(tensor{1}, {trce = true}) end, "Linear:forward: unknown option 'trce' (trace)")
  eq((gradcheck(function(x) return (x ^ 2):sum() end, {tensor{1, 2}}, {eps = 1e-5, quiet = true})), true)
end)

test("nn.Softmax(0): dims are 1-based, said when the layer is built", function()
  expect_error(function() nn.Softmax(0) end, "Softmax: dim 0 does not exist: dims are 1-based")
  expect_error(function() nn.LogSoftmax{dim = 0} end, "LogSoftmax: dim 0 does not exist")
  tensor_eq(nn.Softmax(2)(tensor{{0, 0}, {0, 0}}), { { 0.5, 0.5 }, { 0.5, 0.5 } })
end)

test("layer errors name the shape given: a C x H x W image is not reported as 1 x C x H x W", function()
  expect_error(function() max_pool2d(zeros(1, 4, 4), 5) end, "max_pool2d: input 1x4x4 is too small for the 5x5 window")
  expect_error(function() avg_pool2d(zeros(3, 4, 4), 5) end, "avg_pool2d: input 3x4x4 is too small")
  expect_error(function() conv2d(zeros(1, 4, 4), zeros(1, 1, 5, 5)) end, "conv2d: input 1x4x4 is too small for the 5x5 kernel")
  expect_error(function() conv2d(zeros(2, 1, 4, 4), zeros(1, 1, 5, 5)) end, "conv2d: input 2x1x4x4 is too small")
end)
