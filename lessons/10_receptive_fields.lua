-- title: Receptive fields
-- summary: how far one output sees: size, jump and start per layer, the exact input region, checked with gradients
title("Lesson 10: receptive fields")

say([[The receptive field of an output value is the set of input pixels it
depends on. Along one axis it grows layer by layer with two numbers: its size
r and the jump j, the distance in input pixels between two neighbouring
outputs. A layer with kernel k and stride s sets r <- r + (k-1)*j and then
j <- j*s, starting from r = 1, j = 1 at the input. Take the network of the homework on
a 3x224x224 image: conv 5x5 (padding 2), 2x2 max pool, conv 5x5 (padding 2),
2x2 max pool.]])
net = nn.Sequential{ nn.Conv2d(3, 4, 5, {padding = 2}), nn.MaxPool2d(2),
  nn.Conv2d(4, 4, 5, {padding = 2}), nn.MaxPool2d(2) }
rf = receptive_field(net, {3, 224, 224})
say("Row 1 of the list is the whole network; rows 2 to 5 are the layers.")
ask("What is the receptive field after the first pool?", rf[3].h.size, 0,
  ("r = %d + (2 - 1) * %d"):format(rf[2].h.size, rf[2].h.jump))
ask("And after the second convolution?", rf[4].h.size, 0,
  ("r = %d + (5 - 1) * %d"):format(rf[3].h.size, rf[3].h.jump))
ask("What is the jump at the end?", rf[5].h.jump, 0, "each 2x2 pool doubles it")
check("field sizes 5, 6, 14, 16", {rf[2].h.size, rf[3].h.size, rf[4].h.size, rf[5].h.size}, {5, 6, 14, 16})
check("jumps 1, 2, 2, 4", {rf[2].h.jump, rf[3].h.jump, rf[4].h.jump, rf[5].h.jump}, {1, 2, 2, 4})
pause()

say([[The size alone does not say WHERE the field lies. The third number,
start, is the centre of the first output's field in input pixels (1-based).
Padding moves it left, a wider kernel moves it right. The field of output
row i is centred at start + (i - 1) * jump and is r pixels wide:]])
ask("Where is the centre of output row 1's field?", rf[5].h.start, 0)
region = receptive_region(net, {3, 224, 224})
show("receptive_region(net, {3, 224, 224})", region)
say([[This is the homework's answer: y3[k, i, j] depends on X[:, rows, columns]
for exactly these ranges, in every channel. For one output element:]])
r10 = receptive_region(net, {3, 224, 224}, {1, 10, 10})
show("receptive_region(net, {3, 224, 224}, {1, 10, 10})", r10)
ask("What is the first input row output row 10 sees?", r10.rows[1], 0,
  ("4*10 - 9 = %d"):format(r10.rows[1]))
check("output (10, 10) sees rows and columns 31..46", {r10.rows[1], r10.rows[2], r10.cols[1], r10.cols[2]}, {31, 46, 31, 46})
r1 = receptive_region(net, {3, 224, 224}, {1, 1, 1})
show("receptive_region(net, {3, 224, 224}, {1, 1, 1})", r1)
check("at the border the field is clipped to rows 1..10", {r1.rows[1], r1.rows[2]}, {1, 10})
pause()

say([[Check it with autograd: dy[1, 10, 10]/dX is non-zero exactly on the
pixels that output depends on. Two precautions keep the pattern honest:
positive weights and inputs (so no sum cancels to exactly 0), and average
pooling instead of max pooling (a max sends the gradient to one pixel per
window only; both windows are the same size, so the region is the same).]])
seed(10)
net_avg = nn.Sequential{ nn.Conv2d(3, 4, 5, {padding = 2}), nn.AvgPool2d(2),
  nn.Conv2d(4, 4, 5, {padding = 2}), nn.AvgPool2d(2) }
for _, p in ipairs(net_avg:parameters()) do p:detach():copy(rand(p:shape()):add(0.1)) end
X = rand(3, 224, 224):add(0.5):requires_grad()
y = net_avg(X)
y[{1, 10, 10}]:backward()
G = X.grad:sum(1)   -- add the three channels: a 224x224 map
function nonzero_span(v)
  local lo, hi
  for i = 1, v:numel() do if v[i] ~= 0 then lo = lo or i; hi = i end end
  return lo, hi
end
grow = {nonzero_span(G:sum(2))}
gcol = {nonzero_span(G:sum(1))}
show("where the gradient is non-zero, rows and columns 29..48", G:narrow(1, 29, 20):narrow(2, 29, 20):gt(0):format{threshold = 500})
ask("How many input rows does the gradient reach?", grow[2] - grow[1] + 1, 0, "the receptive field size")
check("gradient rows = receptive_region rows", grow, {31, 46})
check("gradient columns = receptive_region columns", gcol, {31, 46})
pause()

say([[Branches. A Concat (Inception) or a Residual (x + block(x)) sees what
its widest branch sees, so its receptive field is the largest one of its
branches. The identity path of a residual block sees 1 pixel, the block of two
3x3 convolutions sees more:]])
branches = nn.Concat{ nn.Conv2d(1, 1, 1), nn.Conv2d(1, 1, 3, {padding = 1}), nn.Conv2d(1, 1, 5, {padding = 2}) }
rf_cat = receptive_field(branches, {1, 16, 16})
res = nn.Residual(nn.Sequential{ nn.Conv2d(1, 1, 3, {padding = 1}), nn.ReLU(), nn.Conv2d(1, 1, 3, {padding = 1}) })
rf_res = receptive_field(res, {1, 16, 16})
ask("What is the receptive field of the residual block?", rf_res[1].h.size, 0, ("r = %d + (3 - 1) * %d, larger than the identity's 1"):format(rf_res[3].h.size, rf_res[3].h.jump))
check("Concat of 1x1, 3x3, 5x5 sees 5", rf_cat[1].h.size, 5)
check("Residual of two 3x3 sees 5", rf_res[1].h.size, 5)

say([[Summary: r grows by (k-1)*jump per layer, strides and pools multiply
the jump, and start says where the window sits. net, rf, region, X, G and
nonzero_span are still defined.]])
