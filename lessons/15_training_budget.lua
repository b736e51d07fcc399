-- title: The budget of a training run
-- summary: memory of GPT-2 small in three precisions, the KV cache with GQA, 6ND and days, a warmup + cosine schedule, He vs Xavier variance through 10 layers
title("Lesson 15: the budget of a training run")

say([[Before training, count. Memory first: every parameter costs bytes for
its value, its gradient and the optimizer's buffers. GPT-2 small has
124,439,808 parameters (with biases and the token embedding tied to the
output head). In fp32 with Adam: 4 bytes of weight, 4 of gradient, and two
4-byte buffers (m and v).]])
P = 124439808
fp32 = memory{params = P, dtype = "fp32", optimizer = "adam"}
ask("Bytes per parameter for fp32 + Adam?", fp32.bytes_per_param, 0, "4 + 4 + 2·4")
ask("Gigabytes (10^9 bytes) for weights, gradients and Adam state?", fp32.total / 1e9, 1e-3)
check("16 B per parameter", fp32.total, 16 * P)
pause()

say([[Mixed precision runs the passes in 16-bit (2-byte weights and
gradients) but keeps an fp32 master copy of the weights next to Adam's fp32
buffers: 2 + 2 + 4 + 4 + 4. Pure bf16 keeps everything in 2 bytes.]])
mixed = memory{params = P, dtype = "mixed"}
bf16 = memory{params = P, dtype = "bf16"}
ask("Bytes per parameter in mixed precision?", mixed.bytes_per_param, 0)
ask("And in pure bf16?", bf16.bytes_per_param, 0)
check("mixed precision saves no parameter memory with Adam", mixed.total, fp32.total)
check("bf16 halves it", bf16.total * 2, fp32.total)
say([[A checkpoint stores the weights and the optimizer buffers, not the
gradients: 12 bytes per parameter in fp32 (nanoGPT's estimate of 1.49 GB).]])
check("checkpoint bytes", fp32.checkpoint, 12 * P)
pause()

say([[Serving a model, the KV cache dominates: every layer keeps a key and a
value vector per KV head for every token seen. Llama-2-70B has 80 layers,
64 query heads but only 8 KV heads (grouped-query attention), head_dim 128,
in fp16. Per sequence of 4096 tokens:]])
mha = memory{params = 0, training = false, dtype = "fp16", explain = true,
  kv_cache = {layers = 80, kv_heads = 64, head_dim = 128, tokens = 4096}}
gqa = memory{params = 0, training = false, dtype = "fp16", explain = true,
  kv_cache = {layers = 80, kv_heads = 8, head_dim = 128, tokens = 4096}}
ask("GiB of KV cache per sequence with GQA (8 KV heads)?", gqa.kv_cache / 2^30, 1e-6, "2·80·8·128·4096·2 bytes")
ask("How many times more with one KV head per query head?", mha.kv_cache / gqa.kv_cache, 0)
check("1.25 GiB with GQA", gqa.kv_cache, 1.25 * 2^30)
pause()

say([[Compute: a forward pass costs about 2 FLOPs per parameter per token, the
backward twice that, so training costs 6·N·D FLOPs for N parameters and D
tokens. nanoGPT trains GPT-2 small (without biases: 124,337,664) on 300B
tokens on 8 A100s (312 TFLOPS each) at 30% model FLOPs utilization:]])
run = train_compute{params = 124337664, tokens = 300e9, gpus = 8, peak_flops = 312e12, mfu = 0.3}
ask("How many days?", run.days, 0.005)
ask("How many tokens per second does that need?", run.tokens_per_second, 1)
check("3.46 days, as the nanoGPT notebook says", ("%.2f"):format(run.days), "3.46")
pause()

say([[The learning rate of such a run warms up linearly, then follows a
cosine down to a tenth. nanoGPT's warmup is lr·(t+1)/(W+1); other code
writes lr·(t+1)/W or lr·t/W — check which one a homework means.]])
sched = optim.warmup_cosine{lr = 6e-4, min_lr = 6e-5, warmup = 10, total = 100}
sched:table(101, 10)
plot(sched:values(101))
ask("The learning rate at step 0 (nanoGPT's formula)?", sched(0), 1e-12, "6e-4·1/11")
ask("At step 55, halfway down the cosine?", sched(55), 1e-12)
check("at the end of warmup the full rate", sched(10), 6e-4)
check("the CS336 form starts at 0", optim.warmup_cosine{lr = 6e-4, warmup = 10, total = 100, convention = "cs336"}(0), 0)
pause()

say([[Finally initialization. Through a ReLU layer y = relu(W x), Var grows by
fan_in·Var(w)/2 (ReLU zeroes half). Xavier sets Var(w) = 2/(fan_in + fan_out),
which for a square layer is 1/fan_in: the variance halves at every layer.
He (Kaiming) sets Var(w) = 2/fan_in and keeps it. Ten layers of 256 units:]])
function variance_after(init_fn, layers)
  seed(1)
  local x = randn(256, 512)   -- 512 samples of 256 features, Var 1
  for _ = 1, layers do
    local W = init_fn(zeros(256, 256))
    x = relu(W * x)
  end
  return x:cmul(x):mean()     -- E[x²]: what carries to the next layer
end
he = variance_after(function(t) return nn.init.kaiming_normal(t, {nonlinearity = "relu"}) end, 10)
xavier = variance_after(function(t) return nn.init.xavier_normal(t) end, 10)
show("E[x²] after 10 layers, He", he)
show("E[x²] after 10 layers, Xavier", xavier)
ask("Predicted E[x²] after 10 Xavier layers (it halves at each, from 1)?", 0.5 ^ 10, 0.0005)
check("He keeps the scale (within 30%)", math.abs(he - 1) < 0.3, true)
check("Xavier shrinks it about 2^10-fold", xavier < 0.01 and xavier > 0.0002, true)
