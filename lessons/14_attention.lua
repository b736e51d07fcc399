-- title: Attention and transformers
-- summary: attention by hand on 3 tokens, the causal mask, multi-head shapes, why FLOPs do not depend on the number of heads, counting GPT-2 small
title("Lesson 14: attention, by hand and at GPT-2's size")

say([[Self-attention lets every token look at every other one. Each token's
vector x is turned into a query q = W_Q x, a key k = W_K x and a value
v = W_V x. Token i scores token j by q_i·k_j / sqrt(d_head), a softmax turns
each row of scores into weights that sum to 1, and token i's output is the
weighted mean of the values:

  out_i = Σ_j softmax_j(q_i·k_j / sqrt(d_head)) v_j

Three tokens with d = 2, and (to see the mechanism bare) W_Q = W_K = W_V = I,
so q = k = v = x:]])
X = tensor{{1, 0}, {0, 1}, {1, 1}}
show("X", X)
S = X * X:t() / math.sqrt(2)
show("scores Q·Kᵀ/sqrt(2)", S)
ask("What is the score of token 3 against itself (row 3, column 3)?", S[{3, 3}], 1e-4, "(1·1 + 1·1)/sqrt(2) = sqrt(2)")
W = softmax(S, 2)
show("weights = softmax of each row", W)
ask("What weight does token 1 give to token 2?", W[{1, 2}], 1e-4,
  "row 1 is (1/√2, 0, 1/√2): e^0 / (2·e^(1/√2) + 1)")
O = W * X
show("outputs = weights · V", O)
check("each row of weights sums to 1", W:sum(2), {1, 1, 1})
pause()

say([[A decoder (GPT) must not look ahead: token i may only attend to tokens
j ≤ i. The causal mask adds -inf above the diagonal before the softmax, so
those weights become exactly 0. masked_fill with triu builds it:]])
M = masked_fill(zeros(3, 3), triu(ones(3, 3), 1), -math.huge)
show("mask", M)
Wc = softmax(S + M, 2)
show("causal weights", Wc)
ask("What weight does token 2 give to token 3 now?", Wc[{2, 3}], 0, "masked: e^-inf = 0")
ask("And token 1 to itself?", Wc[{1, 1}], 0, "it is the only token it may see")
check("the first output is the first value", (Wc * X)[1], {1, 0})
say([[nn.MultiheadAttention computes the same with learned projections; with
identity weights it gives these numbers. {trace=true} prints every step:]])
attn = nn.MultiheadAttention(2, 1, {bias = false, causal = true})
attn.in_proj_weight:detach():copy(cat({eye(2), eye(2), eye(2)}, 1))
attn.out_proj.weight:detach():copy(eye(2))
Y = attn(X, {trace = true})
check("the module agrees with the hand computation", Y:detach(), (Wc * X):totable())
pause()

say([[Multi-head attention splits d into H heads of d_head = d/H columns, runs
the attention above in each head separately, concatenates the H outputs and
mixes them with W_O. With d = 8 and 2 heads, each head's Q, K and V are
T x 4:]])
seed(14)
mha = nn.MultiheadAttention(8, 2)
ask("How many parameters has it (W_Q, W_K, W_V, W_O and their biases)?",
  summary(mha, {3, 8}, {quiet = true}).total.params, 0, "4·(8·8 + 8)")
say([[Why do the FLOPs not change with H at fixed d? The scores cost T·T·d_head
multiply-adds per head, and H heads of d_head = d/H columns make T·T·d
whatever H is. Compare one head with twelve at GPT-2's d = 768, T = 1024:]])
c1 = nn.MultiheadAttention(768, 1):cost({1024, 768})
c12 = nn.MultiheadAttention(768, 12):cost({1024, 768})
ask("Scores Q·Kᵀ multiply-adds with 12 heads?", c12.parts[2].macs, 0, "1024² · 768")
check("1 head or 12: the same products", c1.parts[2].macs, c12.parts[2].macs)
say([[Only the softmax work grows with H (there are H score matrices of T x T).]])
check("softmax exponentials grow 12-fold", c12.parts[3].acts, 12 * c1.parts[3].acts)
pause()

say([[GPT-2 small: 12 blocks of d = 768 with 12 heads, an MLP of 4d, a
vocabulary of 50,257 tokens and 1,024 positions; the LM head shares the token
embedding's matrix (counted once). summary counts it from the settings alone
(no weight is made):]])
gpt = models.gpt2()
s = summary(gpt, {1024}, {flops = "2mac", quiet = true})
ask("How many parameters has GPT-2 small?", s.total.params, 0, "wte 50257·768 + wpe 1024·768 + 12 blocks + ln_f")
check("GPT-2 small has 124,439,808 parameters", s.total.params, 124439808)
say([[The published counts differ by convention. compare_params lists them
side by side, each with its reason:]])
print(tostring(models.param_counts(gpt)))
say([[nanoGPT's transformer_sizing notebook gives one block's FLOPs at
T = 1024 (2 FLOPs per multiply-add). The attention scores and attention×V
products each cost 2·T²·d:]])
blk = gpt.h[1].attn:cost({1024, 768})
ask("FLOPs of one block's scores Q·Kᵀ?", 2 * blk.parts[2].macs, 0, "2 · 1024² · 768")
check("scores 1,610,612,736 FLOPs", 2 * blk.parts[2].macs, 1610612736)
mlp = gpt.h[1].mlp
ask("FLOPs of one block's MLP (both matrices)?", 2 * (mlp[1]:cost({1024, 768}).macs + mlp[3]:cost({1024, 3072}).macs),
  0, "2 · 2 · T · d · 4d")
check("MLP 9,663,676,416 FLOPs", 2 * (mlp[1]:cost({1024, 768}).macs + mlp[3]:cost({1024, 3072}).macs), 9663676416)
check("the whole forward at T = 1024", s.total.flops, 291648307200)
say([[Older counters miss the attention products altogether: thop before its
2026 fix never saw inside nn.MultiheadAttention, and FlopCounterMode on CPU
counts scaled_dot_product_attention as 0. summary(..., {compare = true})
prints what each reports.]])
