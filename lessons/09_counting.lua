-- title: Counting parameters and operations
-- summary: LeNet shapes, an Inception module with and without 1x1 reductions, a VGG-style table, counting conventions
title("Lesson 9: counting parameters, multiplications and activations")

say([[A convolution with C_out filters of size C_in x k x k has C_out*C_in*k*k
weights (plus C_out biases), and each output value costs C_in*k*k
multiplications. summary() counts all of this from the layer settings alone.
First the LeNet questions: a 1x32x32 image, a 5x5 convolution with 6 filters,
2x2 max pooling, a 5x5 convolution with 16 filters, no biases.]])
lenet = nn.Sequential{ nn.Conv2d(1, 6, 5, {bias = false}), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5, {bias = false}) }
ask("What is the height of the first convolution's output?", conv_out(32, 5), 0,
  ("(32 - 5)/1 + 1 = %d"):format(conv_out(32, 5)))
s_lenet = summary(lenet, {1, 32, 32}, {columns = {"out", "params"}})
check("shapes 6x28x28 -> 6x14x14 -> 16x10x10", {s_lenet[2].out_shape, s_lenet[3].out_shape, s_lenet[4].out_shape},
  {{6, 28, 28}, {6, 14, 14}, {16, 10, 10}})
ask("How many parameters has the second convolution?", s_lenet[4].params, 0, "16 filters x (6 x 5 x 5)")
check("parameters 150 and 2400", tensor{s_lenet[2].params, s_lenet[4].params}, {150, 2400})
ask("And with one bias per filter?", summary(nn.Conv2d(6, 16, 5), {6, 14, 14}, {quiet = true}).total.params, 0,
  ("%d weights + 16 biases"):format(s_lenet[4].params))
say([[The paragraph under the table states the counting conventions. From
here on the lesson prints only the tables (quiet = true, then table_only):]])
function table_only(s) return (tostring(s):gsub("\n\nconventions:.*", "")) end
pause()

say([[An Inception module runs several convolutions side by side on the same
256x32x32 input and stacks their outputs. The naive module has a 1x1 (128
filters), a 3x3 (192) and a 5x5 (96) convolution, each with 'same' padding and
a ReLU:]])
inc1 = models.inception{input = 256, b1 = 128, b3 = 192, b5 = 96, b3_reduce = false, pool = false}
s1 = summary(inc1, {256, 32, 32}, {columns = {"out", "params", "mults", "acts"}, quiet = true})
print(table_only(s1))
say([[The second module first shrinks the input to 64 channels with 1x1
convolutions before the 3x3 and 5x5 ones, and adds a 3x3 max-pool branch
followed by a 1x1 projection to 64 channels:]])
inc2 = models.inception{input = 256, b1 = 128, b3_reduce = 64, b3 = 192, b5_reduce = 64, b5 = 96, pool_proj = 64}
s2 = summary(inc2, {256, 32, 32}, {columns = {"out", "params", "mults", "acts"}, quiet = true})
print(table_only(s2))
ask("How many parameters has the naive module?", s1.total.params, 0,
  "(256+1)*128 + (9*256+1)*192 + (25*256+1)*96")
ask("And the module with 1x1 reductions?", s2.total.params, 0)
ask("How many times fewer multiplications does the second module need?", s1.total.mults / s2.total.mults, 1e-3)
check("parameters: naive vs reduced", tensor{s1.total.params, s2.total.params}, {1089952, 346720})
check("multiplications: naive vs reduced", tensor{s1.total.mults, s2.total.mults}, {1115684864, 354418688})
check("activation evaluations: naive vs reduced", tensor{s1.total.acts, s2.total.acts}, {425984, 622592})
say([[The second module evaluates MORE activations, because its 1x1 reduction
and projection layers have ReLUs of their own. A homework sheet gives 1,147,264 parameters for the
first module: that count uses 128 outputs in every branch instead of
128/192/96. Check:]])
ask("Parameters of a naive module with 128 outputs in all three branches?",
  summary(models.inception{input = 256, b1 = 128, b3 = 128, b5 = 128, b3_reduce = false, pool = false},
    {256, 32, 32}, {quiet = true}).total.params, 0, "(257 + 2305 + 6401) * 128")
pause()

say([[A VGG-style network on a 3x224x224 image: conv3-64 with stride 2 and
padding 1, 2x2 max pool, conv3-128, pool, two conv3-256, pool, then FC-1024
and FC-100. Neurons are output values, connections are the inputs each
neuron reads (for a pool: its K*K window).]])
vgg = nn.Sequential{ nn.Conv2d(3, 64, 3, {stride = 2, padding = 1}), nn.MaxPool2d(2),
  nn.Conv2d(64, 128, 3, {padding = 1}), nn.MaxPool2d(2),
  nn.Conv2d(128, 256, 3, {padding = 1}), nn.Conv2d(256, 256, 3, {padding = 1}), nn.MaxPool2d(2),
  nn.Flatten(), nn.Linear(14 * 14 * 256, 1024), nn.Linear(1024, 100) }
s3 = summary(vgg, {3, 224, 224}, {columns = {"out", "neurons", "params", "conns"}, quiet = true})
print(table_only(s3))
ask("How many neurons in total?", s3.total.neurons, 0)
ask("How many parameters in total?", s3.total.params, 0)
ask("How many input connections in total?", s3.total.conns, 0)
check("totals: neurons, parameters, connections", tensor{s3.total.neurons, s3.total.params, s3.total.conns},
  {1957988, 52444644, 999407616})
say([[The sheet writes 105,200 parameters for FC-100, a slip: its own total
needs 1024*100 + 100. explain=true prints the formula of every count:]])
s_fc = summary(nn.Linear(1024, 100), {1024}, {columns = {"out", "params", "mults"}, explain = true})
check("FC-100 has 102,500 parameters", s_fc.total.params, 102500)
pause()

say([[Conventions. A multiply-add (MAC) is one multiplication plus one
addition. Within a window of k*C inputs there are k*C - 1 additions, and the
bias adds one more, so with the bias adds = mults (the Inception sheet counts
additions that way). Some tools call a MAC one
FLOP, others two. compare=true shows what common counters report for a small
convolution with a ReLU:]])
small = nn.Sequential{ nn.Conv2d(1, 10, 5), nn.ReLU() }
s4 = summary(small, {1, 28, 28}, {columns = {"params", "mults", "adds", "macs", "flops", "acts"}, compare = true})
ask("How many additions without the bias?",
  summary(small, {1, 28, 28}, {quiet = true, bias = false}).total.adds, 0, ("one fewer per output: %d outputs"):format(s4.total.acts))
ask("How many FLOPs when a MAC counts as 2?", summary(small, {1, 28, 28}, {quiet = true, flops = "2mac"}).total.flops, 0)
check("mults = 10 x 24 x 24 outputs x 25 weights", s4.total.mults, 144000)
check("adds with the bias equal mults", s4.total.adds, s4.total.mults)

say([[Always say which convention you count in. The tables are in s_lenet,
s1, s2, s3 and s4 (s1.total.params, s3[2].out_shape ...).]])
