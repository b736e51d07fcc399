-- title: Convolutions as filters
-- summary: finite differences, average pooling and RGB to gray as convolutions; max-pool and activations
title("Lesson 8: convolutions as filters")

say([[conv2d slides a small kernel over the image and, at every position, adds
up kernel times pixels (a cross-correlation, as in PyTorch: the kernel is not
flipped). Choosing the kernel by hand turns a convolution into a classic image
filter. Here is a 4x4 gray image with 1 channel (shape 1x4x4):]])
X = tensor{{1, 2, 4, 7}, {3, 5, 8, 12}, {6, 9, 13, 18}, {10, 14, 19, 25}}:view(1, 4, 4)
show("X", X)
pause()

say([[Finite differences. With -1 at the centre and +1 just below it, the
output at (i, j) is X[i+1, j] - X[i, j]: a vertical difference. With +1 just
to the right of the centre it is X[i, j+1] - X[i, j]: a horizontal difference.
Both kernels go into one weight of shape out x in x 3 x 3 = 2x1x3x3, and
padding 1 keeps the output 4x4.]])
w1 = tensor{{0, 0, 0}, {0, -1, 0}, {0, 1, 0}}
w2 = tensor{{0, 0, 0}, {0, -1, 1}, {0, 0, 0}}
W = stack({w1, w2}):view(2, 1, 3, 3)
Y = conv2d(X, W, {padding = 1})
show("Y = conv2d(X, W, {padding = 1})", Y)
ask("What is Y[{1, 2, 3}], the vertical difference at row 2, column 3?", Y[{1, 2, 3}], 0,
  ("X[3, 3] - X[2, 3] = %g - %g = %g"):format(X[{1, 3, 3}], X[{1, 2, 3}], Y[{1, 2, 3}]))
check("vertical differences, rows 1-3", Y[1]:narrow(1, 1, 3), {{2, 3, 4, 5}, {3, 4, 5, 6}, {4, 5, 6, 7}})
check("horizontal differences, columns 1-3", Y[2]:narrow(2, 1, 3), {{1, 2, 3}, {2, 3, 4}, {3, 4, 5}, {4, 5, 6}})
say([[The last row of the vertical map (and the last column of the horizontal
one) is not a real difference: the padding pretends the pixel below is 0, so
the filter returns 0 - X[4, j].]])
ask("What is Y[{1, 4, 1}]?", Y[{1, 4, 1}], 0, "0 (padding) - X[4, 1]")
say([[Why "edge detector": on an image that jumps from 0 to 1 between columns
2 and 3, the horizontal difference is zero except at the jump (and at the
padded border).]])
E = tensor{{0, 0, 1, 1}, {0, 0, 1, 1}, {0, 0, 1, 1}, {0, 0, 1, 1}}:view(1, 4, 4)
show("conv2d(E, W:narrow(1, 2, 1), {padding = 1})", conv2d(E, W:narrow(1, 2, 1), {padding = 1}))
check("the edge shows up in column 2 only", conv2d(E, W:narrow(1, 2, 1), {padding = 1})[1]:narrow(2, 1, 3),
  {{0, 1, 0}, {0, 1, 0}, {0, 1, 0}, {0, 1, 0}})
pause()

say([[Average pooling is a convolution too. For C channels and a KxK window,
take a weight of shape C x C x K x K whose block (i, i) is filled with 1/K^2
and every other block is 0, and use stride K without padding: output channel
i then averages its own input channel and ignores the others.]])
C, K = 2, 2
Wavg = zeros(C, C, K, K)
for i = 1, C do Wavg[i][i]:fill(1 / K ^ 2) end
Z = arange(1, 32):view(C, 4, 4)
show("Z (channel 1 holds 1..16, channel 2 holds 17..32)", Z)
A1 = conv2d(Z, Wavg, {stride = K})
A2 = avg_pool2d(Z, K)
show("conv2d(Z, Wavg, {stride = K})", A1)
check("the convolution equals avg_pool2d(Z, 2)", A1, A2)
check("the window averages", A1, {{{3.5, 5.5}, {11.5, 13.5}}, {{19.5, 21.5}, {27.5, 29.5}}})
ask("How many numbers does the weight Wavg hold?", Wavg:numel(), 0, "C*C*K*K")
ask("How many of them are not zero?", Wavg:ne(0):sum(), 0, "C blocks of K*K")
pause()

say([[A 1x1 convolution mixes the channels of each pixel and nothing else.
Gray = 0.299 R + 0.587 G + 0.114 B is a 1x1 convolution from 3 channels to 1,
weight shape 1x3x1x1. The 2x2 test image has a red, a green, a blue and a
white pixel:]])
RGB = tensor{{{1, 0}, {0, 1}}, {{0, 1}, {0, 1}}, {{0, 0}, {1, 1}}}
Wgray = tensor{0.299, 0.587, 0.114}:view(1, 3, 1, 1)
gray = conv2d(RGB, Wgray)
show("gray = conv2d(RGB, Wgray)", gray)
check("each pure colour gets its own weight", gray, {{{0.299, 0.587}, {0.114, 1}}})
ask("What gray value does the white pixel (1, 1, 1) get?", gray[{1, 2, 2}], 1e-12,
  "0.299 + 0.587 + 0.114: the weights add up to 1, so white stays white")
pause()

say([[Max pooling and activations. If sigma never decreases, the largest
input of a window also gives the largest sigma, so
maxpool(sigma(x)) = sigma(maxpool(x)). That is why conv -> ReLU -> pool and
conv -> pool -> ReLU are the same network, and with a 2x2 pool the second one
evaluates the activation on 4 times fewer values. Try it on a random 1x4x4 input:]])
seed(8)
Zr = randn(1, 4, 4)
show("Zr", Zr)
show("max_pool2d(relu(Zr), 2)", max_pool2d(relu(Zr), 2))
show("relu(max_pool2d(Zr, 2))", relu(max_pool2d(Zr, 2)))
check("ReLU commutes with max pooling", max_pool2d(relu(Zr), 2) == relu(max_pool2d(Zr, 2)), true)
check("sigmoid and tanh commute too", max_pool2d(sigmoid(Zr), 2) == sigmoid(max_pool2d(Zr, 2))
  and max_pool2d(tanh(Zr), 2) == tanh(max_pool2d(Zr, 2)), true)
ask("How many activation evaluations does pooling first save here?", Zr:numel() - max_pool2d(Zr, 2):numel(), 0,
  ("%d values before the 2x2 pool, %d after"):format(Zr:numel(), max_pool2d(Zr, 2):numel()))
pause()

say([[For a decreasing function the argument breaks: sigma(x) = -x turns the
largest entry into the smallest, so maxpool(-x) = -minpool(x), which is not
-maxpool(x).]])
show("max_pool2d(-Zr, 2)", max_pool2d(-Zr, 2))
show("-max_pool2d(Zr, 2)", -max_pool2d(Zr, 2))
check("a decreasing activation does not commute", not (max_pool2d(-Zr, 2) == -max_pool2d(Zr, 2)), true)

say([[Summary: a difference kernel is an edge detector, average pooling is a
strided convolution with a block-diagonal weight, a 1x1 convolution mixes
channels, and max pooling may be moved past any nondecreasing activation.
X, W, Y, E, Wavg, Z, RGB, Wgray and Zr are still defined to experiment with.]])
