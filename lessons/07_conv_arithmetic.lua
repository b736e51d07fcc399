-- title: Convolution arithmetic
-- summary: output sizes with padding, stride, dilation; rows the floor drops; pooling, ceil_mode, transposed conv; solving for k and s
title("Lesson 7: convolution arithmetic")

-- txt(r): the formula a size function returns as its second result, on one line
local function txt(r) return (tostring(r):gsub("\n", "; ")) end

say([[A k x k filter slides over an n x n image. With padding p (zeros added on
each side), stride s (the step between positions) and dilation d (gaps
between the filter's taps), the number of positions along each axis is
out = floor((n + 2p - d(k - 1) - 1) / s) + 1.
conv_out(n, k, {padding=, stride=, dilation=}) computes it and, as a second
result, shows the formula with the numbers.]])
pause()

say([[Homework 1, Problem 4, Question 1: a 36 x 36 x 3 image, one 3 x 3 filter,
no padding, stride 1.]])
local out1, why1 = conv_out(36, 3)
ask("What is the output height (and width)?", out1, 0, txt(why1) ..
  ". The filter fits at starting rows 1 .. 34: its last row is the start + 2.")
seed(7)
img = randn(3, 36, 36)
local w1 = randn(1, 3, 3, 3)
show("conv2d(img, w):shape() for one 3x3x3 filter", conv2d(img, w1):shape())
say([[The filter spans all 3 input channels (its shape is 1 x 3 x 3 x 3:
filters, channels, rows, columns), so it gives one 34 x 34 map.]])
check("36, k = 3, no padding", out1, 34)
pause()

say([[Question 2: padding 3, stride 2, and 2 filters. Padding makes the image
36 + 2*3 = 42 wide; stride 2 takes every second starting position.]])
local out2, why2 = conv_out(36, 3, {padding = 3, stride = 2})
w2 = randn(2, 3, 3, 3)
local shape2 = conv2d(img, w2, {padding = 3, stride = 2}):shape()
ask("What is the output size along each axis?", out2, 0, txt(why2))
ask("And the output shape, channels first (C, H, W)?", tensor(shape2), 0,
  "one channel per filter: " .. tostring(shape2) .. " - the sheet's 20 x 20 x 2 written channels first")
check("conv2d output shape, p = 3, s = 2, 2 filters", shape2, {2, 20, 20})
say([[The number of output channels is the number of filters. (The sheet's
Question 3 names l filters in its setup but then says the output has c
channels, the input's count: it has l.)]])
pause()

say([[The floor means some positions can be left over. With n = 10, k = 3 and
stride 2, windows start at rows 1, 3, 5, 7: the next one, at row 9, would
need row 11. Row 10 is never seen.]])
local out3, why3 = conv_out(10, 3, {stride = 2})
show("conv_out(10, 3, {stride = 2})", out3)
print(why3)
show("rows dropped (the second result's .dropped)", why3.dropped)
x10 = zeros(1, 10, 10)
x10[{1, 10}] = 1
local seen = conv2d(x10, ones(1, 1, 3, 3), {stride = 2})
ask("x10 is zero except row 10, which is all ones. What does a 3x3 all-ones filter " ..
  "with stride 2 add up to over its whole output?", seen:sum(), 0,
  ("every window misses row 10, so the output is all zeros: %g"):format(seen:sum()))
check("the dropped row contributes nothing", seen:sum(), 0)
local padded = conv2d(x10, ones(1, 1, 3, 3), {stride = 2, padding = 1})
say(("With padding 1 there are %d positions and the last one covers row 10: the output now " ..
  "adds up to %g."):format(conv_out(10, 3, {stride = 2, padding = 1}), padded:sum()))
pause()

say([[Dilation d spreads the k taps d rows apart, so the filter covers
d(k - 1) + 1 rows: a 3 x 3 filter with d = 2 spans 5 rows.]])
local out4, why4 = conv_out(36, 3, {dilation = 2})
ask("36 x 36 input, 3 x 3 filter, dilation 2, no padding: output size?", out4, 0, txt(why4))
check("dilation 2", out4, 32)
pause()

say([[Pooling uses the same formula with the stride equal to the window by
default. ceil_mode = true rounds up instead, keeping a last window that
hangs over the edge - unless that window would start in the right padding,
which is dropped (PyTorch's rule).]])
local p_floor, whyp = pool_out(7, 2)
local p_ceil, whyc = pool_out(7, 2, {ceil_mode = true})
ask("MaxPool 2x2 on a 7 x 7 map: output size?", p_floor, 0, txt(whyp))
ask("And with ceil_mode = true?", p_ceil, 0, txt(whyc))
show("max_pool2d(randn(1, 7, 7), 2, {ceil_mode = true}):shape()", max_pool2d(randn(1, 7, 7), 2, {ceil_mode = true}):shape())
say([[Now 5 rows, window 2, stride 2, padding 1, ceil_mode: the padded rows
are 0 .. 6, with rows 0 and 6 padding. Rounding up allows one more window
than the floor - but look where it would start:]])
local p_pad = pool_out(5, 2, {stride = 2, padding = 1, ceil_mode = true})
local n_ceil = math.ceil((5 + 2 * 1 - 2) / 2) + 1
show("ceil((5 + 2*1 - 2)/2) + 1", n_ceil)
show("start row of window " .. n_ceil .. " = (" .. n_ceil .. " - 1)*2", (n_ceil - 1) * 2)
say("That is the right padding, so the window is dropped and the output has " .. p_pad ..
  " rows, as max_pool2d agrees:")
show("max_pool2d(randn(1, 5, 5), 2, {stride = 2, padding = 1, ceil_mode = true}):shape()",
  max_pool2d(randn(1, 5, 5), 2, {stride = 2, padding = 1, ceil_mode = true}):shape())
check("pool sizes: floor, ceil, ceil with padding", tensor{p_floor, p_ceil, p_pad}, {3, 4, 3})
pause()

say([[A transposed convolution goes the other way: out = (n - 1)s - 2p +
d(k - 1) + output_padding + 1. A stride-2 convolution maps two input sizes
to the same output, so output_padding says which one to give back.]])
local t_out, whyt = convT_out(4, 3, {stride = 2, output_padding = 1})
ask("convT_out(4, 3, {stride = 2, output_padding = 1}) = ?", t_out, 0, txt(whyt))
show("conv_transpose2d(...):shape()", conv_transpose2d(randn(1, 4, 4), randn(1, 1, 3, 3), {stride = 2, output_padding = 1}):shape())
check("transposed: 4 -> 10, and conv: 10 -> 4", tensor{t_out, (conv_out(t_out, 3, {stride = 2}))}, {10, 4})
pause()

say([[Going backwards: which kernel k and stride s take 64 to 6 (p = 0)?
Exactly, with no row dropped, (64 - k)/s = 5, so k = 64 - 5s.
conv_solve lists every pair; exact = true keeps those where the division
is exact (remainder 0). With p = 0 that is also "no input row dropped";
with padding, no_drop = true is the weaker rule that lets the floor discard
a padding row.]])
solutions = conv_solve{input = 64, output = 6, exact = true}
print(solutions)
kernel_for = {}
for _, r in ipairs(solutions) do kernel_for[r.stride] = r.kernel end
ask("With stride 1, which kernel size?", kernel_for[1], 0, "64 - 5*1 = " .. kernel_for[1])
check("kernels for s = 1, 2, 3, 4", tensor{kernel_for[1], kernel_for[2], kernel_for[3], kernel_for[4]},
  {59, 54, 49, 44})
local all = #conv_solve{input = 64, output = 6}
say(("The sheet's table says s = 1, k = 52 - but conv_out(64, 52) = %d, not 6. Its s = 2, k = 54 " ..
  "and s = 3, k = 49 are right. Without exact = true, conv_solve finds %d pairs that give 6 " ..
  "under the floor rule; %d of them leave input rows unseen.")
  :format(conv_out(64, 52), all, all - #solutions))

say([[img, w2, x10, solutions and kernel_for stay defined. Try
conv_solve{input = 64, output = 6, padding = 1, dilation = 2, exact = true}
(the sheet's part d) or conv_out(224, 7, {stride = 2, padding = 3}).]])
