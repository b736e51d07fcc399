-- help_text.lua — the help of every public name, in one place.  Each entry:
-- topic, usage, text (what it does, conventions), example (runnable).
-- tests/lua/test_help.lua fails when a public function has no entry here.

local E = {}

-- Names that share an entry ("sum mean prod") see it in their own words:
-- the first name in the usage and the example becomes theirs.
local function doc(names, topic, usage, text, example)
  local first = names:match("%S+")
  local pat = "%f[%w_]" .. first:gsub("%p", "%%%0") .. "%f[^%w_]"
  for name in names:gmatch("%S+") do
    -- a usage that already spells out this name (the schedulers) stays;
    -- so does one that lists other names of the group: renaming its first
    -- name would give this one the first's options (nn.GRU the RNN's)
    local lists_others = false
    for other in names:gmatch("%S+") do
      if other ~= first and other ~= name and usage:find(other, 1, true) then lists_others = true end
    end
    local own = function(s)
      if usage:find(name, 1, true) or lists_others then return s end
      return (s:gsub(pat, (name:gsub("%%", "%%%%"))))
    end
    -- in the example only a method call is safe to rename (x:sum(1) -> x:mean(1));
    -- nn.MSELoss()(a, b) as nn.BCELoss would need other numbers
    local ex = example:find(":" .. first .. "(", 1, true) and own(example) or example
    E[name] = { topic = topic, usage = own(usage), text = text, example = ex }
  end
end

-- ---- creating tensors ---------------------------------------------------
doc("tensor", "create", "tensor{...} | tensor(number) | tensor(x)",
  "A tensor from nested tables of numbers (rows must all have the same length), a 0-d tensor from a number, or a copy of tensor x.",
  "W1 = tensor{{1,0},{3,4},{1,2}}")
doc("zeros ones", "create", "zeros(n1, n2, ...) | zeros{n1, n2, ...}",
  "A tensor of the given shape filled with 0 (zeros) or 1 (ones).",
  "zeros(2, 3)")
doc("full", "create", "full({n1, n2, ...}, value)", "A tensor of the given shape filled with value.", "full({2,2}, 7)")
doc("eye", "create", "eye(n [, m])", "The n x n (or n x m) identity matrix.", "eye(3)")
doc("arange", "create", "arange(a, b [, step]) | arange(n)",
  "a, a+step, ... up to AND INCLUDING b, as Lua's for loop counts (a rounding error past b is forgiven: arange(0, 0.3, 0.1) ends at 0.3). arange(n) is 1..n.",
  "arange(1, 10, 3)")
doc("linspace", "create", "linspace(a, b [, n=100])", "n evenly spaced points from a to b, both included.", "linspace(0, 1, 5)")
doc("rand randn", "create", "rand(n1, ...) | randn(n1, ...)",
  "Uniform [0,1) (rand) or standard normal (randn) numbers from nncalc's seeded generator (xoshiro256**): the same seed gives the same numbers on every machine.",
  "seed(42); rand(2, 2)")
doc("seed", "create", "seed(n)", "Restarts the random generator from seed n (the start-up seed is 0).", "seed(1)")
doc("cat", "create", "cat({a, b, ...} [, dim=1])", "Joins tensors along an existing dim; the other sizes must match.", "cat({eye(2), ones(1,2)})")
doc("stack", "create", "stack({a, b, ...} [, dim=1])", "Stacks same-shaped tensors along a new dim.", "stack({tensor{1,2}, tensor{3,4}})")

-- ---- inspecting ---------------------------------------------------------
doc("shape", "inspect", "x:shape() | x.shape", "The sizes as a table {n1, n2, ...}; shapes compare with ==. x.shape (PyTorch's spelling) is the same table.", "tensor{{1,2,3}}.shape")
doc("T", "views", "x.T", "The transpose, as PyTorch's x.T: x:t() for a matrix, the dimensions reversed for more, a vector as it is.", "tensor{{1,2,3}}.T")
doc("size", "inspect", "x:size([d])", "The size of dim d (negative counts from the end), or the whole shape.", "zeros(2,3):size(2)")
doc("dim", "inspect", "x:dim()", "The number of dimensions.", "zeros(2,3):dim()")
doc("numel", "inspect", "x:numel()", "The number of elements.", "zeros(2,3):numel()")
doc("stride", "inspect", "x:stride([d])",
  "Distance in memory between neighbours along each dim: a view (x:t(), x:narrow ...) changes strides, not data.",
  "zeros(2,3):t():stride()")
doc("is_contiguous", "inspect", "x:is_contiguous()", "True when the elements lie in row-major order without gaps.", "zeros(2,3):t():is_contiguous()")
doc("item", "inspect", "x:item()", "The number inside a one-element tensor.", "tensor{5}:item()")
doc("totable", "inspect", "x:totable()", "The values as nested Lua tables.", "eye(2):totable()")

-- ---- views and copies -----------------------------------------------------
doc("t", "views", "x:t()", "The transpose of a matrix, as a view (no copy).", "tensor{{1,2,3}}:t()")
doc("transpose", "views", "x:transpose(d1, d2)", "Swaps two dims (a view).", "zeros(2,3,4):transpose(1,3):shape()")
doc("permute", "views", "x:permute(d1, d2, ...)", "Reorders all dims (a view).", "zeros(2,3,4):permute(3,1,2):shape()")
doc("view", "views", "x:view(n1, ...)",
  "The same elements under another shape, without copying (-1 infers one size); fails on non-contiguous tensors: use reshape.",
  "arange(6):view(2, -1)")
doc("reshape", "views", "x:reshape(n1, ...)", "Like view, but copies when it must.", "arange(6):view(2,3):t():reshape(6)")
doc("squeeze", "views", "x:squeeze([d])", "Drops dim d, or all dims, of size 1.", "zeros(1,3,1):squeeze():shape()")
doc("unsqueeze", "views", "x:unsqueeze(d)", "Inserts a dim of size 1 at position d.", "tensor{1,2}:unsqueeze(2)")
doc("narrow", "views", "x:narrow(d, start, length)", "Elements start..start+length-1 along dim d (a view); a negative start counts from the end.", "arange(5):narrow(1, 2, 3)")
doc("select", "views", "x:select(d, i)", "Slice i along dim d, dropping that dim (a view).", "eye(3):select(2, 1)")
doc("expand", "views", "x:expand(n1, ...)", "Repeats size-1 dims without copying (stride 0); -1 keeps a size.", "tensor{{1},{2}}:expand(2, 3)")
doc("clone", "views", "x:clone()", "A fresh contiguous copy.", "eye(2):clone()")
doc("contiguous", "views", "x:contiguous()", "x itself if contiguous, else a contiguous copy.", "eye(2):t():contiguous()")
doc("copy", "views", "x:copy(src)", "Copies src into x (src broadcasts to x's shape; a src of another shape is an error, not reshaped, so a transposed weight is caught); returns x.", "zeros(2,2):copy(tensor{1,2})")
doc("fill", "views", "x:fill(v)", "Sets every element to v; returns x.", "zeros(2):fill(7)")
doc("index_select", "views", "x:index_select(d, {i1, i2, ...})", "Gathers the given positions along dim d (a copy); negative positions count from the end.", "arange(5):index_select(1, {5, 1})")

-- ---- elementwise ------------------------------------------------------------
doc("neg abs exp log sqrt sign tanh", "elementwise", "neg(x) | x:neg()",
  "Elementwise function; numbers in give a number out (exp(1) = e). sign(0) = 0.",
  "exp(tensor{0, 1})")
doc("sigmoid", "elementwise", "sigmoid(x)", "1 / (1 + e^-x), computed without overflow for large |x|.", "sigmoid(tensor{-1, 0, 1})")
doc("relu", "elementwise", "relu(x)", "max(0, x); relu(0) = 0 and its derivative at 0 is taken as 0.", "relu(tensor{-2, 0, 3})")
doc("where", "elementwise", "where(c, a, b)", "a where c ≠ 0, else b, elementwise with broadcasting (a, b tensors or numbers); the gradient goes to a where c holds and to b elsewhere, none to c.", "where(tensor{1, 0, 1}, tensor{1, 2, 3}, 0)")
doc("masked_fill", "elementwise", "masked_fill(x, mask, v) | x:masked_fill(mask, v)", "x with v wherever mask ≠ 0 (broadcast), as PyTorch; masked_fill(scores, triu(ones(T, T), 1), -math.huge) is the causal mask.", "masked_fill(zeros(2, 2), eye(2), -1)")
doc("tril triu", "elementwise", "tril(x [, k]) | triu(x [, k])", "The lower (upper) triangle of the last two dims, on and below (above) the k-th diagonal (k = 0 the main one, k > 0 above it), the rest set to 0; works on batches of matrices.", "tril(ones(3, 3))")
doc("erf", "elementwise", "erf(x)", "The error function 2/√π ∫₀ˣ e^(−t²) dt; derivative 2/√π·e^(−x²).", "erf(tensor{0, 1})")
doc("gelu gelu_tanh", "elementwise", "gelu(x [, {approximate=\"none\"|\"tanh\"}]) | gelu_tanh(x)",
  "GELU as PyTorch: x·Φ(x) = 0.5·x·(1 + erf(x/√2)), or with approximate=\"tanh\" (gelu_tanh) 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), the form GPT-2 used. gelu(1) = 0.841345, gelu_tanh(1) = 0.841192.",
  "gelu(tensor{-1, 0, 1})")
doc("silu", "elementwise", "silu(x)", "x·σ(x) (swish); derivative σ(x)·(1 + x·(1 − σ(x))).", "silu(tensor{-1, 0, 1})")
doc("relu6", "elementwise", "relu6(x)", "min(max(x, 0), 6); derivative 1 strictly between 0 and 6, else 0 (as PyTorch).", "relu6(tensor{-1, 3, 7})")
doc("sin cos", "elementwise", "sin(x) | cos(x)", "Sine and cosine in radians, elementwise (the sinusoidal position codes are made of them).", "sin(tensor{0, 1})")
doc("softplus", "elementwise", "softplus(x)", "log(1 + e^x), without overflow.", "softplus(tensor{0, 100})")
doc("add sub mul div pow", "elementwise", "add(a, b) | a + b, a - b, a / b, a ^ b",
  "Elementwise with NumPy broadcasting; either side may be a number (1 - x, 2 / x). mul(a, b) is elementwise: the operator * is the matrix product.",
  "tensor{{1},{2}} + tensor{10, 20}")
doc("floor ceil round", "elementwise", "floor(x) | ceil(x) | round(x)",
  "Rounding elementwise: floor down, ceil up, round to the nearest integer with ties to the even one (round(2.5) = 2, round(-0.5) = -0), as torch.round. The gradient is 0 everywhere (flat between the jumps), as PyTorch's.",
  "round(tensor{0.5, 1.5, 2.5, -1.7})")
doc("remainder", "elementwise", "a % b | remainder(a, b)",
  "The floored remainder a - floor(a/b)·b, with the sign of b (as Lua's % on numbers and torch.remainder; not C's fmod): 5 % 3 = 2, -5 % 3 = 1, 5 % -3 = -1; a % 0 is nan. Either side may be a number; broadcasting. Gradient: 1 for a, -floor(a/b) for b.",
  "tensor{5, -5, 7.5} % 3")
doc("cmul cdiv", "elementwise", "a:cmul(b) | a:cdiv(b)", "Elementwise product / quotient, with broadcasting.", "tensor{1,2}:cmul(tensor{3,4})")
doc("maximum minimum", "elementwise", "maximum(a, b)", "Elementwise larger / smaller value (NaN wins).", "maximum(tensor{1,5}, 3)")
doc("eq ne lt le gt ge", "elementwise", "x:eq(y) | x:ne(y) | x:lt(y) | x:le(y) | x:gt(y) | x:ge(y)",
  "Elementwise comparison giving 1 where true and 0 elsewhere. (x == y compares whole tensors and gives true or false.)",
  "tensor{1,2,3}:gt(1)")

-- ---- reductions -------------------------------------------------------------
doc("sum mean prod", "reductions", "x:sum() | x:sum(d [, keepdim]) | x:sum{dim=d, keepdim=true}",
  "The sum (mean, product): over all elements a plain number; along dim d a tensor (keepdim keeps d with size 1).",
  "tensor{{1,2},{3,4}}:sum(1)")
doc("max min", "reductions", "x:max() | x:max(d) | max(a, b)",
  "Largest (max) or smallest (min) element, a number; along dim d the values and their 1-based positions (two results); of two tensors, elementwise. NaN propagates.",
  "tensor{{1,5},{7,2}}:max(2)")
doc("argmax argmin", "reductions", "x:argmax([d])", "1-based position of the largest (smallest) element, overall (flat) or along d.", "tensor{3,9,4}:argmax()")
doc("softmax log_softmax", "reductions", "softmax(x [, d])",
  "e^x_i / sum_j e^x_j along dim d (default: the last), computed stably by subtracting the max first; log_softmax is its logarithm.",
  "softmax(tensor{1, 2, 3})")

-- ---- products and linear algebra ------------------------------------------
doc("matmul", "products", "a * b | matmul(a, b)",
  "The product as written on paper, chosen by dims: vector.vector = number (dot), matrix*vector, vector*matrix, matrix*matrix, batched: stacks of matrices over any leading dims, broadcast as NumPy (B x H x T x D * B x H x D x T, or one matrix shared by every entry). A number times a tensor scales it.",
  "tensor{{1,2},{3,4}} * tensor{1, 1}")
doc("dot", "products", "dot(u, v)", "Sum of u_i v_i for two vectors (a number).", "dot(tensor{1,2,3}, tensor{4,5,6})")
doc("mv", "products", "mv(A, x)", "Matrix times vector.", "mv(eye(2), tensor{1,2})")
doc("mm", "products", "mm(A, B)", "Matrix times matrix; inner sizes must agree.", "mm(eye(2), tensor{{1,2},{3,4}})")
doc("bmm", "products", "bmm(A, B)", "Batched matrix product of 3-D tensors (b x n x k times b x k x m).", "bmm(ones(2,1,3), ones(2,3,1))")
doc("outer", "products", "outer(u, v)", "The matrix u v^T.", "outer(tensor{1,2}, tensor{3,4,5})")
doc("diag", "linalg", "diag(v [, k]) | diag(A [, k])",
  "As torch.diag: a vector becomes the square matrix with v on diagonal k (k > 0 above the main one, k < 0 below); a matrix gives its diagonal k as a vector (rectangular matrices too). Differentiable: each entry's gradient goes to its one source.",
  "diag(tensor{1, 2, 3})")
doc("trace", "linalg", "trace(A) | A:trace()", "The sum of the main diagonal of a matrix (rectangular too, as torch.trace); its gradient is the identity pattern.", "trace(tensor{{1, 2}, {3, 4}})")
doc("matrix_power", "linalg", "matrix_power(A, k)",
  "A·A·...·A (k factors, by repeated squaring) for a square matrix, as torch.linalg.matrix_power: k = 0 gives the identity, k < 0 powers inv(A). Differentiable through the products (and inv).",
  "matrix_power(tensor{{2, 1}, {1, 3}}, 3)")
doc("norm", "linalg", "norm(x [, p=2 | \"fro\"] [, dim] [, keepdim]) | norm(x, {p=, dim=, keepdim=})",
  "The vector p-norm (Σ|x|^p)^(1/p) of all elements or along dim, as torch.norm: of a matrix with p = 2 (or \"fro\") it is the Frobenius norm, not the spectral one. p = 1 sums |x|, p = math.huge is max |x| (-math.huge min |x|), p = 0 counts the non-zeros. Gradients as PyTorch's: 0 at x = 0 (where the formula divides 0 by 0), and a max norm's gradient shared evenly between tied entries.",
  "norm(tensor{3, -4}), norm(tensor{3, -4}, 1), norm(tensor{{1, 2}, {3, 4}}, 2, 2)")
doc("var std", "reductions", "var(x [, dim] [, {correction=1 | unbiased=true, keepdim=false}]) | var(x, dim, unbiased, keepdim)",
  "The variance Σ(x - mean)² / (N - correction) of all elements or along dim, and std = its square root. PyTorch's default is the unbiased (sample) variance, correction = 1 (divide by N - 1); unbiased = false or correction = 0 gives the population variance (divide by N). N - correction <= 0 is an error (PyTorch gives nan). Differentiable; std's gradient at a constant input is 0, as PyTorch's.",
  "var(tensor{1, 2, 3, 4}), var(tensor{1, 2, 3, 4}, {unbiased = false})")
doc("det", "linalg", "det(A)", "Determinant (LU with partial pivoting); 0 for a singular matrix. Its gradient is det(A)·A⁻ᵀ, the cofactor matrix, which also exists at a singular A (computed from the minors there, up to 64x64).", "det(tensor{{1,2},{3,4}})")
doc("inv", "linalg", "inv(A)", "Inverse of a square matrix; a singular (or numerically singular) matrix is an error that gives its rank.", "inv(tensor{{4,7},{2,6}})")
doc("solve", "linalg", "solve(A, b)", "x with A x = b (b a vector or a matrix of right-hand sides).", "solve(tensor{{2,1},{1,3}}, tensor{3,5})")
doc("pinv", "linalg", "pinv(A [, rcond])",
  "Moore-Penrose pseudo-inverse (from an SVD). pinv(X) * t is the least-squares solution of X w = t with the smallest norm: for under-determined X it equals X^T (X X^T)^-1 t.",
  "pinv(tensor{{1,2,3},{4,5,6}}) * tensor{1,2}")
doc("rank", "linalg", "rank(A [, rcond])", "Numerical rank: singular values above rcond * the largest (default max(m,n) * eps).", "rank(tensor{{1,2},{2,4}})")
doc("eigh", "linalg", "w, V = eigh(A)",
  "Eigenvalues (ascending) and orthonormal eigenvectors (the columns of V) of a symmetric matrix, A = V diag(w) Vᵀ, by cyclic Jacobi rotations (accurate to a few ulps of ‖A‖ on small matrices). A matrix that is not symmetric is refused, naming the entry; no gradient (call it on x:detach()).",
  "eigh(tensor{{2,1},{1,2}})")
doc("allclose", "linalg", "allclose(a, b [, rtol=1e-5 [, atol=1e-8]])",
  "True when |a - b| <= atol + rtol |b| everywhere (NumPy's rule); NaN is never close.",
  "allclose(tensor{1, 2}, tensor{1, 2 + 1e-9})")

-- ---- settings, printing, the REPL -------------------------------------------
doc("format", "printing", "format{precision=N, full=true, threshold=N, edgeitems=N} | x:format{...}",
  "How tensors print: digits after the point (default 4), full=true for 17 significant digits and no eliding, threshold = element count above which edges are shown with '...'; format{} resets. x:format{...} returns the text for one tensor.",
  "format{precision = 6}")
doc("limits", "settings", "limits{max_elements=N} | limits()",
  "The largest tensor that may be allocated, in elements (default 2^27, or NNCALC_MAX_ELEMENTS); an allocation over it is an error, not an out-of-memory crash.",
  "limits().max_elements")
doc("help", "repl", "help() | help(f) | help \"name\" | ?name | name? | help(x)", "Lists the topics, or explains one function or method. On a value (?W1, W1?, help(W1), ?net[1].weight) it says what it is: a tensor's shape, dtype, whether it requires grad and its graph node; a module's layers and its class's help. At a terminal long help goes through a pager ($PAGER, else less -R).", "help \"softmax\"")
doc("apropos", "repl", "apropos \"word\"", "Every name whose help mentions word.", "apropos \"transpose\"")
doc("debug_mode", "repl", "debug_mode(true|false)", "Show a stack traceback with every error (like nncalc --debug).", "debug_mode(true)")
doc("exit", "repl", "exit([code])", "Leaves nncalc (history is already saved). Ctrl-D does the same.", "exit()")
doc("print", "repl", "print(...)", "Lua's print, except that numbers print as a person writes them (10, not 10.0).", "print(2.0, 1/3)")

-- ---- autograd ----------------------------------------------------------------
doc("requires_grad", "autograd", "x:requires_grad([on=true])",
  "Marks a leaf tensor (a weight, an input) so that backward computes dL/dx into x.grad. Returns x, so W = tensor{...}:requires_grad() reads naturally. Only leaves can be marked.",
  "W = tensor{{1,2},{3,4}}:requires_grad()")
doc("name", "autograd", "x:name(\"W1\") | x:name()",
  "Labels a tensor for traces and graphs (returns x); without an argument gives the label. Unlabelled tensors held by global variables are shown with the variable's name, the rest by op: relu#3.",
  "tensor{1,2}:name(\"x\")")
doc("backward", "autograd", "L:backward() | L:backward(g) | L:backward{trace=true, step=true, retain_graph=true, create_graph=true, grad=g}",
  "Computes dL/dx for every leaf x that L depends on and ADDS it to x.grad (zero_grad first when repeating). L must be a single value, or pass the upstream gradient g = dL/dz shaped like z (z:backward(0.01): a number for a single value); the trace then reads dL/d... for the loss L beyond z. trace=true prints every chain-rule step with names and numbers; step=true waits for Enter between steps in the REPL; retain_graph=true allows another backward through the same graph. create_graph=true records the backward pass itself (as PyTorch): x.grad is then a tensor of a graph, named dL/dx, that can be differentiated again (its trace shows d(dL/dx)/dx); where nncalc has no second derivative (prod at a zero element, det at a singular matrix) it is refused with the reason. Conventions: relu'(0) = 0, |x|' = sign(x), max splits ties evenly.",
  "x = tensor{1,2}:requires_grad(); (x*x):backward(); x.grad")
doc("grad", "autograd", "x.grad | grad(L, inputs [, {create_graph=false, retain_graph=create_graph, grad=g}]) | grad(f, inputs [, {...}])",
  "x.grad: the accumulated gradient of a leaf (or of a tensor with retain_grad) after backward, or nil; x.grad = nil drops it. grad(L, inputs): dL/dx for each input (a tensor for a tensor, a list for a list) as torch.autograd.grad, WITHOUT touching any .grad; an input L does not depend on gets zeros. grad(f, inputs) computes L = f(inputs...) first (an input outside any graph is replaced by a leaf copy). create_graph=true records the gradients so they can be differentiated again (second derivatives: grad(grad(L, x, {create_graph=true}):sum(), x)).",
  "x = tensor{3}:requires_grad(); g = grad((x^3):sum(), x, {create_graph=true}); grad(g:sum(), x)")
doc("retain_grad", "autograd", "z:retain_grad()", "Keeps the gradient of an intermediate (non-leaf) tensor in z.grad after backward. Without it z.grad is nil, and reading it says so once (as PyTorch's warning; warnings{nonleaf_grad=false} turns that off); backward{trace=true} prints every intermediate gradient.", "x = tensor{1}:requires_grad(); z = 2*x; z:retain_grad(); z:sum():backward(); z.grad")
doc("detach", "autograd", "x:detach()", "A new leaf sharing x's values, outside any graph.", "x = tensor{1}:requires_grad(); (2*x):detach()")
doc("zero_grad", "autograd", "x:zero_grad()", "Sets x.grad to zeros (gradients accumulate across backward calls until you do).", "x = tensor{1}:requires_grad(); x:zero_grad()")
doc("is_leaf", "autograd", "x:is_leaf()", "True for tensors made directly (not computed by a recorded op).", "tensor{1}:is_leaf()")
doc("grad_fn", "autograd", "x:grad_fn()", "The op that computed x and its number (\"relu#3\"), or nil for a leaf.", "relu(tensor{1}:requires_grad()):grad_fn()")
doc("no_grad", "autograd", "no_grad(function() ... end)", "Runs the function without recording a graph (for updates such as W = W - lr * W.grad); returns its results.", "no_grad(function() return 1 end)")
doc("grad_enabled", "autograd", "grad_enabled()", "False inside no_grad.", "grad_enabled()")
doc("detect_anomaly", "autograd", "detect_anomaly(true|false)",
  "When on, the first op that produces a NaN or Inf, in forward or in backward, raises an error naming the op and where in the script it was created. Returns the previous setting.",
  "detect_anomaly(false)")
doc("warnings", "autograd", "warnings{accumulate=false, nonleaf_grad=false}", "Turns off the warning printed when backward adds to a .grad that already held a gradient (accumulate), and the one said once when the .grad of a non-leaf tensor is read (nonleaf_grad; setting it true says it again next time). warnings() returns the settings.", "warnings()")
doc("graph", "autograd", "graph(L [, {rankdir=\"LR\"|\"TB\", clusters=true}]) | graph(L):dot([\"g.dot\"] [, opts]) | graph(L):svg(\"g.svg\" [, opts])",
  "The computation graph that produced L: printed as an indented tree with shapes, values and gradients; :dot writes Graphviz DOT (returns the text), :svg runs Graphviz's dot when installed. The picture shows every node's gradient after L:backward() (intermediate ones from that last backward, for graphs up to 64 nodes), each op's formula with its constants (yhat − 10, ^ 2), parameters, inputs and the output in their own colours, and each module's nodes in a cluster labelled with it; rankdir=\"TB\" lays it out top to bottom.",
  "x = tensor{1,2}:requires_grad(); graph(relu(x):sum())")
doc("forward_trace", "autograd", "forward_trace(L [, {quiet=true}])",
  "Every intermediate value that led to L, in the order it was computed, with names and shapes; returns them as a list.",
  "x = tensor{1,2}:requires_grad(); forward_trace(relu(x):sum())")
doc("gradcheck", "autograd", "gradcheck(f, {x, W, ...} [, {eps=1e-6, atol=1e-5, rtol=1e-3}])",
  "Compares the backward gradients of f(x, W, ...) (a single value) with central finite differences for every element of every input (on copies of them); prints and returns ok, message, worst mismatch. It leaves every .grad as it found it, including those of other tensors f captures, and its own passes print no accumulation warning.",
  "gradcheck(function(x) return (x^3):sum() end, {tensor{1,2}}, {quiet=true})")
doc("bptt_norms", "autograd", "bptt_norms(rnn, x [, h0 [, {quiet=true}]]) | bptt_norms(f, h0, x [, opts])",
  "Backprop through time as a product of Jacobians: for t = T down to 0, dh_T/dh_t = J_T ··· J_{t+1} with J_k = dh_k/dh_{k-1}, and its Frobenius norm, with the ratio per step, so a vanishing (or exploding) gradient shows as a geometric fall (or rise). Takes a one-layer nn.RNN / nn.GRU / nn.LSTM and one sequence x {T, in} (for the LSTM the state is (h, c) and dc_T/dc_t, the cell's own path, is shown too), or a step function f(x_t, h) -> h'. Returns the list of {t, J, norm}.",
  "bptt_norms(function(x, h) return tanh(0.5 * h + x) end, zeros(2), zeros(3, 2), {quiet = true})[4].norm")
doc("jacobian numjacobian", "autograd", "jacobian(f, x) | numjacobian(f, x [, eps=1e-6])",
  "The matrix of d f(x)_i / d x_j, always 2-D: a matrix x or f(x) counts its elements in row-major order (for y = σ(A·x) and A 3x4, d y_2 / d A_{2,3} is J[{2, (2-1)·4 + 3}]; J:view(3, 3, 4) is PyTorch's layout, the output's shape then the input's). jacobian works by one grad() pass per output (so f may use autograd inside, e.g. f = a gradient made with create_graph, and no .grad changes), numjacobian by central differences. numjacobian runs f with recording ON, on a fresh copy of x for each evaluation, and reads its result as numbers, so f may call grad or backward itself.",
  "jacobian(softmax, tensor{1,2,3})")
doc("hessian", "autograd", "hessian(f, x) | hessian(f, {W, b, ...})",
  "The Hessian d²f/dx_i dx_j of a function f returning a single value, by reverse-over-reverse autograd (create_graph, then one backward pass per row): n x n for an x of n elements, x's shape twice for a matrix x (as PyTorch). With a list, f(W, b, ...) and one N x N matrix over all their elements in order (W row by row, then b ...), mixed blocks included. Exact up to rounding: e.g. softmax cross-entropy gives diag(p) - p pᵀ.",
  "hessian(function(x) return (x^3):sum() end, tensor{1,2})")
doc("hvp", "autograd", "hvp(f, x, v)",
  "The Hessian-vector product H v of f at x without forming H: d/dx (∇f(x) · v) by reverse-over-reverse. Returns H v (shaped like x) and f(x).",
  "hvp(function(x) return (x^3):sum() end, tensor{1,2}, tensor{1,0})")
doc("gradgradcheck", "autograd", "gradgradcheck(f, {x, W, ...} [, {eps=1e-6, atol=1e-5, rtol=1e-3, quiet=true}])",
  "Checks second derivatives: the Hessian of f (a single value) over all elements of all inputs by autograd, against central differences of the first gradient; prints and returns ok, message, worst mismatch. gradcheck's companion, as in PyTorch.",
  "gradgradcheck(function(x) return (tanh(x)^3):sum() end, {tensor{0.5,-1}}, {quiet=true})")
doc("curvature", "autograd", "curvature(H [, {explain=true}]) | curvature(f, x [, {explain=true}])",
  "The eigenvalues of a symmetric Hessian (given, or hessian(f, x)) and what they say: a table {H, eigenvalues, eigenvectors, lambda_min, lambda_max, lr_max = 2/λ_max, lr_best = 2/(λ_min+λ_max), convex, strictly_convex}. Gradient descent on the quadratic multiplies the error along the eigenvector of λ by (1 − ηλ), so it converges iff 0 < η < 2/λ_max. explain=true prints the reasoning. An eigenvalue of size at most 1e-12 times the largest |λ| counts as 0 (rounding, not curvature).",
  "curvature(tensor{{3,1},{1,2}}, {explain=true})")
doc("newton_step", "autograd", "x_new, info = newton_step(f, x [, {trace=true, damping=0}])",
  "One Newton step x − H⁻¹ g with g = ∇f(x) and H = ∇²f(x) by autograd (solved, not inverted; damping λ uses H + λI). info holds f, g, H, step, f_new. trace=true prints H, g, the step and f before and after; a note warns when H is not positive definite. On a quadratic with positive definite H one step reaches the minimum.",
  "newton_step(function(x) return (x^4):sum() end, tensor{1,2}, {trace=true})")
doc("gauss_newton", "autograd", "G, info = gauss_newton(r, x [, {explain=true}])",
  "For L(x) = Σ rᵢ(x)², the sum of squared residuals r(x) (divide by n for a mean): the Gauss-Newton matrix G = 2 JᵀJ with J = dr/dx (jacobian), beside the true Hessian H = 2 JᵀJ + 2 Σ rᵢ ∇²rᵢ (hessian). G is positive semidefinite and equals H when r is linear in x or vanishes at x. info holds J, H, r and rest = H − G; explain=true prints them.",
  "gauss_newton(function(x) return tensor{1, 1}:cmul(x) - 1 end, tensor{2, 3}, {explain=true})")
doc("stats", "autograd", "stats()", "Live tensors, storages and graph nodes, and the bytes held by storages of more than 32 values: a leak check for long loops. Large temporaries are counted against Lua's collector, so a loop making them does not pile them up.", "stats()")

-- ---- layers as functions -------------------------------------------------------
doc("linear", "layers", "linear(x, W [, b])", "y = W x + b for a vector x, or x Wᵀ + b for a batch (N x in); W is out x in as on homework sheets.", "linear(tensor{1, 2}, tensor{{1, 0}, {0, 1}, {1, 1}})")
doc("leaky_relu", "elementwise", "leaky_relu(x [, slope=0.01])", "x where x > 0, slope·x elsewhere.", "leaky_relu(tensor{-2, 3}, 0.1)")
doc("conv2d", "layers", "conv2d(x, w [, b] [, {stride=1, padding=0, dilation=1, groups=1}])",
  "2-D convolution (cross-correlation, as in every framework) of an image C x H x W or a batch N x C x H x W with weights Cout x Cin/groups x kh x kw; settings are numbers or {h, w} pairs; zero padding. Output size per axis: floor((n + 2p - d(k-1) - 1)/s) + 1.",
  "conv2d(tensor{{{6,0,1},{3,4,1},{4,7,0}}}, tensor{{{{1,0},{0,1}}}})")
doc("conv_transpose2d", "layers", "conv_transpose2d(x, w [, b] [, {stride, padding, output_padding, dilation, groups}])",
  "The transposed convolution (the adjoint of conv2d): weights Cin x Cout/groups x kh x kw; output (n-1)s - 2p + d(k-1) + output_padding + 1.",
  "conv_transpose2d(ones(1, 2, 2), ones(1, 1, 2, 2), nil, {stride = 2})")
doc("max_pool2d", "layers", "max_pool2d(x, k [, {stride=k, padding=0, dilation=1, ceil_mode=false}])",
  "The maximum of each k x k window (padding counts as -infinity); its gradient goes to each window's maximum.",
  "max_pool2d(arange(16):view(1, 4, 4), 2)")
doc("avg_pool2d", "layers", "avg_pool2d(x, k [, {stride=k, padding=0, ceil_mode=false, count_include_pad=true}])",
  "The mean of each window; count_include_pad divides by the whole window including padding, as PyTorch does.",
  "avg_pool2d(arange(16):view(1, 4, 4), 2)")
doc("adaptive_avg_pool2d", "layers", "adaptive_avg_pool2d(x, size | {h, w})",
  "Average pooling to a fixed output size: window i covers [floor(i·H/h), ceil((i+1)·H/h)).", "adaptive_avg_pool2d(ones(1, 5, 5), 3)")
doc("batch_norm", "layers", "batch_norm(x, {weight=, bias=, running_mean=, running_var=, training=true, momentum=0.1, eps=1e-5})",
  "Normalizes each channel (dim 2 of N x C [x ...]) to mean 0 and variance 1 with the batch statistics in training (updating the running ones with the unbiased variance) or the running statistics in evaluation, then scales by weight and shifts by bias.",
  "batch_norm(tensor{{1, 10}, {3, 20}})")
doc("mse_loss l1_loss", "losses", "mse_loss(prediction, target [, {reduction=\"mean\"|\"sum\"|\"none\"}])",
  "Mean (or sum, or each) of (p - t)² (mse) or |p - t| (l1). The target may be a tensor or a number.", "mse_loss(tensor{1, 2}, tensor{1, 4})")
doc("cross_entropy", "losses", "cross_entropy(logits, class [, {reduction=}])",
  "-log softmax(logits)[class], averaged over the batch: logits C or N x C; classes are 1-based numbers (one per sample) or class probabilities shaped like the logits. Its gradient is softmax(logits) - onehot(class).",
  "cross_entropy(tensor{1, 2, 3}, 3)")
doc("nll_loss", "losses", "nll_loss(log_probs, class [, {reduction=}])", "-log_probs[class], averaged: cross_entropy is nll_loss(log_softmax(x)).", "nll_loss(log_softmax(tensor{1, 2, 3}), 3)")
doc("binary_cross_entropy", "losses", "binary_cross_entropy(p, t [, {reduction=}])",
  "-(t log p + (1-t) log(1-p)) for probabilities p in [0, 1] (logs clamped at -100, as PyTorch does).", "binary_cross_entropy(tensor{0.8}, tensor{1})")
doc("binary_cross_entropy_with_logits", "losses", "binary_cross_entropy_with_logits(x, t [, {reduction=}])",
  "binary_cross_entropy(sigmoid(x), t) computed stably from the raw score x; its gradient is sigmoid(x) - t.", "binary_cross_entropy_with_logits(tensor{0}, tensor{1})")
doc("is_tensor", "inspect", "nncalc.is_tensor(v)", "True when v is a tensor (a field of the nncalc table, not a global).", "nncalc.is_tensor(zeros(1))")
doc("globals", "inspect", "nncalc.globals()",
  "Writes the calculator's globals (tensor, summary, nn ...) wherever no global of that name exists yet, and returns the nncalc table. The nncalc binary calls it at start-up; from a stock lua5.4, local nc = require \"nncalc\" gives the API as a table and nc.globals() the calculator. Every name it writes is listed in nncalc/exports.lua.",
  "nncalc.globals() == nncalc")

-- ---- nn modules -------------------------------------------------------------
doc("nn.Module", "nn", "net(x) | net:forward(x [, {trace=true}]) | net:trace(x) | net:parameters() | net:named_parameters() | net:zero_grad() | net:train() | net:eval() | net:out_shape(shape)",
  "What every module can do: forward (also net(x)); trace=true prints each layer's name, settings, output shape and values, net:trace(x) returns them as a list; parameters in order (named \"1.weight\" ...); zero_grad; train/eval mode; out_shape computes the output shape from an input shape without any data. Parameters are made on first use from a seed drawn when the module is built (seed(n) first for the same numbers every run), PyTorch's initialization: uniform in ±1/sqrt(fan_in).",
  "nn.Linear(2, 3):out_shape{2}")
doc("nn.class", "nn", "C = nn.class(\"Name\" [, parent]); function C:init(...) end; function C:compute(x) end; function C:out_shape(s) end; function C:cost(s, out) end; function C:window(axis, s) end",
  "Defines your own layer, and the contract summary(), receptive fields and traces read (nothing else: no class names). init takes the settings: self:param(name, shape, bound) declares a parameter; modules stored in fields (self.fc = nn.Linear(2, 2)) are children whose parameters, train/eval and printing follow the layer's, as in PyTorch. compute(x) is the forward pass with tensor operations (autograd gives the backward). out_shape(s) is the shape rule (nn.Module.same_shape for elementwise layers); summary needs it. cost(s, out) returns the counts of one forward: weights, biases, mults, adds, bias_adds, macs, conns, acts, comps, saved, bwd_input, bwd_weight, lookups, optional parts = {{name=, macs=, ...}} printed as sub-rows and note = \"...\"; parameters are counted from the declared ones and the children when it gives no weights. Without cost the row says \"not counted: Name defines no cost\" and the totals are partial. window(axis, s) is the receptive-field rule per axis ({k=, s=, p=, d=}, nil for the identity, false when every output sees everything); without it the field is unknown (?) from that layer on. elementwise = true (activations, normalisation) or no_new_values = true (reshapes) on the class: no new neurons and the identity window. input_layout = \"sequence\" on the class (nn.Embedding, the recurrent layers): a model starting with it reads {T, C} / {N, T, C}, never an image. A container defines analyse(s, visit) instead: visit(child, shape [, name]) in the order data flows, returning the output shape (see Sequential, Residual, Concat in nn/Container.lua). Optional: explain(row, group) lines for summary{explain=true}, counters(row) for compare=true.",
  "C = nn.class(\"Attn\"); function C:init(d) self.q, self.k, self.v, self.o = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d) end; C.out_shape = nn.Module.same_shape; function C:cost(s) return { macs = 4 * s[1] * 16 } end; summary(C(4), {3, 4}, {quiet = true}).total.params")
doc("out_shape same_shape", "nn", "net:out_shape(shape) | nn.Module.same_shape",
  "The output shape of a module for an input shape (a table of sizes, without the batch unless you give one), computed from the settings alone: no data, no weights allocated. Every layer defines it (a container asks its children in order); summary() and receptive fields read it. In your own layer, C.out_shape = nn.Module.same_shape for an elementwise layer, or function C:out_shape(s) ... end.",
  "nn.Conv2d(3, 16, 3, 2, 1):out_shape{3, 32, 32}")
doc("nn.Linear", "nn", "nn.Linear(in, out [, bias]) | nn.Linear(in, out, {bias=true, weight=W, bias=b})", "y = W x + b with W out x in (settable: net[1].weight:copy(W) or the options). As PyTorch, it applies to the last dim of any input: {in}, {N, in}, a sequence {T, in} or {N, T, in}.", "nn.Linear(2, 3, {weight = tensor{{1,0},{3,4},{1,2}}, bias = tensor{0,-2,5}})(tensor{2, 1})")
doc("nn.Conv2d", "nn", "nn.Conv2d(cin, cout, k [, stride, padding, dilation, groups, bias, padding_mode]) | nn.Conv2d(cin, cout, k, {stride=1, padding=0, dilation=1, groups=1, bias=true})", "A convolution layer (see conv2d); k and the settings are numbers or {h, w} pairs, in PyTorch's positional order (nn.Conv2d(3, 64, 3, 1, 1) is stride 1, padding 1) or in the table, or positional then the table. padding = \"valid\" is 0, \"same\" (stride 1) keeps the size: d(k-1)/2 on each side (an odd total, which PyTorch pads unevenly, is refused).", "nn.Conv2d(1, 6, 5):out_shape{1, 32, 32}")
doc("nn.ConvTranspose2d", "nn", "nn.ConvTranspose2d(cin, cout, k [, stride, padding, output_padding, groups, bias, dilation]) | (cin, cout, k, {stride, padding, output_padding, dilation, groups, bias})", "A transposed convolution layer (see conv_transpose2d); the positional order is PyTorch's (dilation comes after bias).", "nn.ConvTranspose2d(4, 2, 3, {stride = 2}):out_shape{4, 5, 5}")
doc("nn.MaxPool2d nn.AvgPool2d", "nn", "nn.MaxPool2d(k [, stride, padding, dilation, return_indices, ceil_mode]) | nn.AvgPool2d(k [, stride, padding, ceil_mode, count_include_pad]) | nn.MaxPool2d(k, {stride=k, padding, dilation, ceil_mode})", "Pooling layers (see max_pool2d, avg_pool2d); the stride defaults to the kernel size (nil positionally). PyTorch's positional order or the table; return_indices=true and divisor_override are refused.", "nn.MaxPool2d(2):out_shape{6, 28, 28}")
doc("nn.AdaptiveAvgPool2d", "nn", "nn.AdaptiveAvgPool2d(size | {h, w})", "Average pooling to a fixed output size.", "nn.AdaptiveAvgPool2d(1):out_shape{512, 7, 7}")
doc("nn.Flatten", "nn", "nn.Flatten([start_dim [, end_dim]])", "Joins every dim after the batch dim; a single image C x H x W becomes a vector. With start_dim (1-based, negative from the end) it joins start_dim..end_dim whatever the rank: nn.Flatten(2) on a batch of sequences {N, T, C} gives {N, T·C}, as PyTorch's nn.Flatten().", "nn.Flatten(2):out_shape{4, 10, 16}")
doc("nn.ReLU nn.Sigmoid nn.Tanh nn.Softplus nn.LeakyReLU", "nn", "nn.ReLU([inplace]) | nn.Sigmoid() | nn.Tanh() | nn.Softplus() | nn.LeakyReLU([negative_slope=0.01, inplace]) | nn.LeakyReLU{negative_slope=}", "Activation layers: the elementwise functions as modules. inplace is accepted and changes nothing; Softplus takes only PyTorch's defaults beta=1, threshold=20 (others are refused).", "nn.ReLU()(tensor{-1, 2})")
doc("nn.Softmax nn.LogSoftmax", "nn", "nn.Softmax([dim]) | nn.LogSoftmax([dim])", "softmax / log_softmax along dim (default: the last).", "nn.Softmax()(tensor{1, 2, 3})")
doc("nn.BatchNorm1d nn.BatchNorm2d", "nn", "nn.BatchNorm1d(C [, eps, momentum, affine, track_running_stats]) | nn.BatchNorm2d(C, {eps=1e-5, momentum=0.1, affine=true})", "Batch normalization over the channels of N x C (x L) or N x C x H x W inputs; training uses batch statistics, eval() the running ones.", "nn.BatchNorm1d(2)(tensor{{1, 10}, {3, 20}})")
doc("nn.Dropout", "nn", "nn.Dropout([p=0.5, inplace]) | nn.Dropout{p=}", "In training zeroes each element with probability p (seeded) and scales the rest by 1/(1-p); in eval() it passes the input through.", "nn.Dropout(0.5):eval()(ones(3))")
doc("nn.GELU", "nn", "nn.GELU([{approximate=\"none\"|\"tanh\"}])",
  "GELU(x) = x·Φ(x) with Φ the normal CDF (exact, BERT and ViT), or PyTorch's tanh form 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))) that GPT-2 used. summary counts one activation evaluation per element.",
  "nn.GELU{approximate=\"tanh\"}(tensor{-1, 0, 1})")
doc("nn.SiLU nn.ReLU6", "nn", "nn.SiLU() | nn.ReLU6()", "SiLU (swish) x·σ(x), ReLU6 min(max(x, 0), 6), elementwise as PyTorch.", "nn.SiLU()(tensor{-1, 0, 1})")
doc("nn.ELU", "nn", "nn.ELU([alpha=1])", "x for x > 0, alpha·(eˣ − 1) otherwise (the elu function as a module).", "nn.ELU()(tensor{-1, 2})")
doc("elu", "elementwise", "elu(x [, alpha=1])", "x for x > 0, alpha·(eˣ − 1) otherwise; derivative 1, or alpha·eˣ (alpha at 0, as PyTorch).", "elu(tensor{-1, 0, 2})")
doc("nn.LayerNorm", "nn", "nn.LayerNorm(d | {d1, d2, ...} [, eps, elementwise_affine, bias]) | nn.LayerNorm(d, {eps=1e-5, elementwise_affine=true, bias=true})",
  "Normalises each sample over its last dims: (x − mean)/sqrt(var + eps)·γ + β with the biased variance, as PyTorch; the same in training and eval. bias=false drops β (nanoGPT's bias-free GPT-2). summary counts one square root (norm evaluation) per normalised row.",
  "nn.LayerNorm(3)(tensor{{1, 2, 3}})")
doc("nn.RMSNorm", "nn", "nn.RMSNorm(d [, eps, elementwise_affine]) | nn.RMSNorm(d, {eps=, elementwise_affine=true})",
  "x / sqrt(mean(x²) + eps)·γ over the last dims (LLaMA, T5); eps defaults to the float type's epsilon as in PyTorch (2⁻⁵² here).", "nn.RMSNorm(2)(tensor{3, 4})")
doc("nn.GroupNorm", "nn", "nn.GroupNorm(groups, channels [, eps, affine]) | nn.GroupNorm(groups, channels, {eps=1e-5, affine=true})",
  "Splits the channels of N x C x ... into groups and normalises each group of each sample; γ, β per channel.", "nn.GroupNorm(2, 4)(randn(1, 4, 3))")
doc("nn.MultiheadAttention", "nn", "nn.MultiheadAttention(d, heads [, dropout=0, bias, add_bias_kv=false, add_zero_attn=false, kdim=d, vdim=d, batch_first=true]) | nn.MultiheadAttention(d, heads [, {bias=true, causal=false, kv_heads=heads, qkv=\"fused\"|\"separate\", rope=false, causal_count=\"full\"|\"kept\"}])",
  "Self-attention on T x d or N x T x d (batch_first=false: T x N x d, PyTorch's default) with PyTorch's math: Q, K, V = x·Wᵀ + b, per head softmax(Q Kᵀ/sqrt(d_head) + mask)·V, heads concatenated and projected by out_proj. attn(x, {mask=M}) adds M (T x T, 0 keeps, -inf removes) as PyTorch's float attn_mask; causal=true masks the future. kv_heads < heads shares each K/V head among heads/kv_heads query heads (GQA; 1 = MQA). attn(x, {trace=true}) prints one head at a time: QKᵀ/sqrt(d), the mask, the softmax rows, the weighted sum and each head's share of the output. summary lists qkv projection, scores Q·Kᵀ, softmax, attention×V and output projection; causal_count=\"kept\" counts only the T(T+1)/2 unmasked scores.",
  "nn.MultiheadAttention(8, 2, {causal=true})(randn(3, 8))")
doc("nn.TransformerBlock", "nn", "nn.TransformerBlock{d=, heads=, d_ff=4d, norm=\"layer\"|\"rms\", mlp=\"gelu\"|\"swiglu\", bias=true, causal=true, pre_norm=true, kv_heads=, gelu=\"tanh\"|\"none\", eps=, rope=false, dropout=0}",
  "A transformer block: pre-norm (GPT-2, LLaMA) x + attn(ln_1(x)), then x + mlp(ln_2(x)); pre_norm=false is BERT's post-norm ln_1(x + attn(x)), ln_2(x + mlp(x)). mlp=\"swiglu\" is LLaMA's W₂(silu(W₁x) ⊙ W₃x) (nn.SwiGLU).",
  "summary(nn.TransformerBlock{d=64, heads=4}, {16, 64})")
doc("nn.SwiGLU", "nn", "nn.SwiGLU(d, d_ff [, {bias=false}])", "LLaMA's feed-forward W₂(silu(W₁x) ⊙ W₃x), three d x d_ff matrices.", "nn.SwiGLU(4, 8)(randn(2, 4))")
doc("nn.SinusoidalPositionalEncoding nn.sinusoidal", "nn", "nn.SinusoidalPositionalEncoding(d [, {max_len=5000}]) | nn.sinusoidal(T, d)",
  "Vaswani et al.'s position codes PE[p, 2i] = sin(p/10000^(2i/d)), PE[p, 2i+1] = cos(...), p from 0; the module adds them to T x d input.", "nn.sinusoidal(3, 4)")
doc("nn.rope", "nn", "nn.rope(x [, {base=10000}])",
  "Rotary position embedding (RoFormer): each adjacent pair of the last dim of ... x T x d is rotated by p·base^(−2i/d) at position p (from 0), so q·k depends only on the distance. MultiheadAttention{rope=true} applies it to Q and K per head.", "nn.rope(randn(3, 4))")
doc("nn.causal_mask", "nn", "nn.causal_mask(T [, Tk])", "The additive causal mask: 0 on and below the diagonal, -inf above.", "nn.causal_mask(3)")
doc("nn.MSELoss nn.L1Loss nn.CrossEntropyLoss nn.NLLLoss nn.BCELoss nn.BCEWithLogitsLoss", "nn", "nn.MSELoss([{reduction=}]) ... then loss_fn(prediction, target)", "The losses (see mse_loss, cross_entropy, ...) as modules.", "nn.MSELoss()(tensor{1, 2}, tensor{1, 4})")
doc("nn.Embedding", "nn", "nn.Embedding(num, dim [, padding_idx]) | nn.Embedding(num, dim, {padding_idx=k (1-based), weight=W})",
  "A table of num vectors of size dim (weights N(0, 1), as PyTorch) read by 1-based indices: a tensor or table of indices of shape S gives S x dim. The backward adds into each row read (a row read twice gets both gradients); the padding_idx row starts at zero and gets no gradient. summary counts lookups, 0 MACs.",
  "nn.Embedding(10, 3)({2, 5, 2}):shape()")
doc("nn.RNN nn.LSTM nn.GRU", "nn", "nn.RNN(in, hidden [, num_layers, nonlinearity, bias, batch_first, dropout, bidirectional]) | nn.LSTM(in, hidden [, num_layers, bias, batch_first, dropout, bidirectional]) | nn.GRU(in, hidden [, as LSTM]) | or a table: {num_layers=1, nonlinearity=\"tanh\"|\"relu\" (RNN only), bias=true|\"single\"|false, batch_first=false, bidirectional=false, dropout=0}; out, h_n = rnn(x [, h0]); out, {h_n, c_n} = lstm(x [, {h0, c0}])",
  "Recurrent layers in PyTorch's layout: weight_ih_l0 (gates·h x in), weight_hh_l0 (gates·h x h), bias_ih_l0, bias_hh_l0 (_reverse for the backward direction), LSTM gates i, f, g, o, GRU r, z, n with the reset applied after W_hn h + b_hn, all uniform in ±1/sqrt(h). Input {T, in}, {T, N, in}, or {N, T, in} with batch_first; out {.., D·h}; h_n {L·D, (N,) h}. Returns the output and the final state as two values (the LSTM's state is the table {h_n, c_n}, which can be passed back in). dropout=p drops out each layer's output but the last, in training only. bias=\"single\" is the one-bias-per-gate convention of Keras and the papers (the GRU keeps the reset-after form, its one n bias on the input side): nn.LSTM(10, 20) has 2,560 parameters in PyTorch's layout and 2,480 with one bias. Parameters per layer and direction: gates x (h·(in+h) + 2h). Each step's tensors are named h[t], c[t], i[t] ... for backward{trace=true}; see bptt_norms.",
  "nn.LSTM(10, 20)")
doc("nn.RNNCell nn.LSTMCell nn.GRUCell", "nn", "h' = nn.RNNCell(in, hidden [, bias, nonlinearity])(x [, h]) | h', c' = nn.LSTMCell(in, hidden [, bias])(x [, {h, c}]) | h' = nn.GRUCell(in, hidden [, bias])(x [, h]) | settings also as {bias=true|\"single\"|false, nonlinearity=\"tanh\"|\"relu\" (RNNCell only)}",
  "One step of the recurrent layers, x {in} or {N, in}, parameters weight_ih, weight_hh, bias_ih, bias_hh (bias with bias=\"single\"); the state defaults to zeros.",
  "nn.GRUCell(3, 2)(ones(3))")
doc("nn.is_module", "nn", "nn.is_module(v)", "True when v is a module (an instance of an nn class, yours included).", "nn.is_module(nn.Linear(2, 3))")
doc("nn.Sequential", "nn", "nn.Sequential{m1, m2, ...} or nn.Sequential(m1, m2, ...)", "Runs the modules in order; net[i] is the i-th, #net their number; an error names the layer that failed. The modules come as one list (Torch7) or as separate arguments (PyTorch); anything else is refused.", "nn.Sequential{nn.Linear(2, 3), nn.ReLU()}")
doc("nn.Residual", "nn", "nn.Residual(block [, {projection=module}])", "y = x + block(x) (or projection(x) + block(x) when the shapes differ): a skip connection.", "nn.Residual(nn.Linear(3, 3))(ones(3))")
doc("nn.Concat", "nn", "nn.Concat{branch1, branch2, ... [, dim = d]} or nn.Concat(branch1, branch2, ... [, {dim = d}])", "Runs every branch on the same input and joins the results along the channel dim (dim 1 of C x H x W, 2 of N x C x H x W, else the last; dim = d chooses another): an Inception module is a Concat of Sequentials.", "nn.Concat{nn.Conv2d(3, 2, 1), nn.Conv2d(3, 4, 1)}:out_shape{3, 8, 8}")

-- ---- analysis: counting, sizes, receptive fields, checking -------------------------
doc("summary", "analysis", "summary(model, input_shape [, {columns=, explain=, compare=, bias=true, relu=true, flops=\"mac\"|\"2mac\"|\"2k-1\", per_sample=false, neurons=\"layers\"|\"all\", dtype=, compare_params=, conventions=true, quiet=}])",
  "A per-layer table from the layer settings alone (no weights are made): output shape, parameters (weights and biases), neurons, multiplications, additions, MACs, FLOPs, activation evaluations, max-pool comparisons, input connections, backward multiplications for dx and dW, values saved for backward, receptive field, jump and start per axis; totals; the counting conventions under the table. explain=true prints every formula with its numbers, compare=true what fvcore, thop, ptflops, torchinfo, FlopCounterMode and torchscan would report, each by its own rules (also as s.compare). compare_params=true lists a GPT model's parameter count under every convention (tied/untied head, biases, padded vocabulary, non-embedding), as models.param_counts. Returns a table: s.total.params, s[i].out_shape, s[i].rf ... (s[1] is the model itself). Columns: out params weights biases neurons mults adds macs flops acts comps conns bwd_input bwd_weight saved rf jump start.",
  "summary(models.lenet5(), {1, 32, 32}, {quiet = true}).total.params")
doc("conv_out", "analysis", "conv_out(n, k [, {stride=1, padding=0, dilation=1, explain=false}])",
  "The output size floor((n + 2p - d(k-1) - 1)/s) + 1, and a second result that shows the formula with the numbers and says how many input rows the floor leaves unseen.",
  "conv_out(36, 3, {padding = 3, stride = 2})")
doc("pool_out", "analysis", "pool_out(n, k [, {stride=k, padding=0, dilation=1, ceil_mode=false, explain=false}])",
  "The output size of pooling; ceil_mode rounds up but drops a last window that would start in the right padding, as PyTorch does.",
  "pool_out(7, 2, {ceil_mode = true})")
doc("convT_out", "analysis", "convT_out(n, k [, {stride, padding, dilation, output_padding, explain}])",
  "The output size of a transposed convolution, (n-1)s - 2p + d(k-1) + output_padding + 1, with a note on which sizes output_padding chooses between.",
  "convT_out(4, 3, {stride = 2, output_padding = 1})")
doc("conv_solve", "analysis", "conv_solve{input=, output=, kernel=, stride=, padding=, dilation=, exact=false, no_drop=false, max=}",
  "Every value of the missing settings (one or two of input, kernel, stride, padding, dilation; padding 0 and dilation 1 are assumed when more are missing) that gives the output size under the floor rule, as a table with each one's remainder = (n + 2p - d(k-1) - 1) mod s and dropped = the real input rows no window reaches, max(0, remainder - p). exact=true keeps the exact divisions (remainder 0); no_drop=true keeps those that leave no real input row unseen (the floor may discard trailing padding). With padding 0 the two agree.",
  "conv_solve{input = 64, output = 6, padding = 1, dilation = 2, exact = true}")
doc("receptive_field", "analysis", "receptive_field(model, input_shape [, {quiet=true}])",
  "The receptive field of every layer, per axis: size, jump (effective stride) and start (the centre of the first output's field, in input pixels). Branches take the largest field and must be aligned.",
  "receptive_field(models.lenet5(), {1, 32, 32}, {quiet = true})")
doc("receptive_region", "analysis", "receptive_region(model, input_shape [, {c, i, j}])",
  "The input channels, rows and columns (1-based, clipped at every layer, so padding and rows a floor drops are never counted) that output element (c, i, j) depends on, as .channels, .rows, .cols (.unclipped: the same walk without clipping). Channel rule: a pool's or elementwise layer's channel k reads channel k; a grouped/depthwise conv reads its group's channels; a Concat channel reads only the branch that made it (a note says which); a conv, Linear or global pooling reads all. Past a Linear the index is {k}. Without the index, the general form of rows and columns, e.g. rows 4i-9 .. 4i+6 (past a Linear or global pooling: the whole input, .all = true).",
  "receptive_region(nn.Conv2d(4, 4, 5, {padding = 2, groups = 2}), {4, 28, 28}, {3, 1, 1})")
doc("check", "analysis", "check(label, got, expected [, tol | {tol=, abs=, digits=, points=1}])",
  "Compares your answer with the computed one and prints ✓ or ✗ with the expected value, what you got and the difference (for tensors the first differing entries), and the rule it used; records it for check_summary(). The rules: when both values are integers the comparison is exact (unless a tolerance is given; a float of 2^53 or more is not taken for one, since every float is whole there and two roundings of one product differ in the last bit); otherwise relative 1e-6 (with 1e-12 absolute slack for an expected 0). An expected value written as the screen shows it, a string such as \"0.0900 0.2447 0.6652\" (rows on lines; a [tensor 2x3] footer is ignored, and a 3-D or 4-D tensor may be pasted as printed, with its (1,.,.) = slice headers), matches each entry to half a unit of its last written digit (±0.00005 here; an entry without a decimal point is exact); {digits = d} matches to half a unit of the d-th decimal; tol = r is relative r, abs = a within ±a. got may be a function: an error in it fails this check only. points = n counts for nncalc check (default 1). A nil answer reports got nil. `nncalc check FILE.lua...` runs homework files (see question, variant).",
  "check(\"p\", softmax(tensor{1, 2, 3}), \"0.0900 0.2447 0.6652\")")
doc("question", "analysis", "question(label, function() ... end [, {points=n}])",
  "Runs a block of checks protected: an error inside fails the question (worth the points its checks did not get to, of n; 1 without points) at the line that raised it, and the rest of the file still runs. Give the checks inside points that add up to n: otherwise a warning says so, since the file's total would depend on whether an error stops the question. For homework files graded with nncalc check.",
  "question(\"P2\", function() check(\"a1\", tensor{1, 2} * tensor{3, 4}, 11) end)")
doc("variant", "analysis", "variant(student_id)",
  "Seeds nncalc's generator (rand, randn, new modules) and math.random from a hash (FNV-1a) of the id, so each student's sheet and its answer key come from one file: the same id gives the same numbers on every run and machine, two ids different ones. Returns the seed. In a graded file: variant(arg[1]) with nncalc check hw.lua -- ID.",
  "variant(\"s1234567\"); randn(2, 2)")
doc("check_summary", "analysis", "check_summary()", "Prints the tally of the checks so far (passed, failed); returns the two numbers.", "check_summary()")
doc("models", "analysis", "models.lenet5() | models.alexnet() | models.vgg11() | models.vgg16() | models.resnet18() | models.resnet50([{v1=true}]) | models.inception{...}",
  "Standard architectures as torchvision builds them (parameters made only when used), for summary and receptive fields; all but lenet5 take the number of classes (default 1000), as a number or {classes = n}; a setting a model does not have is an error. ResNet-50 is torchvision's v1.5, which strides in the 3x3 of a bottleneck; models.resnet50{v1=true, classes=} is the paper's original, striding in the first 1x1 (3.86 G multiply-adds instead of 4.09, receptive field 483 instead of 427, same parameters). models.inception{input=, b1=, b3_reduce=, b3=, b5_reduce=, b5=, pool_proj=} builds a GoogLeNet Inception module; b3_reduce=false (or only b1, b3, b5) gives the naive one. Give every width or none (inception (3a)'s): a missing or misspelt one is an error.",
  "models.vgg16()")
doc("models.gpt2 models.bert models.vit", "analysis", "models.gpt2{size=\"small\"|\"medium\"|\"large\"|\"xl\", bias=true, vocab=50257, context=1024, tied=true, causal_count=\"full\"|\"kept\"} | models.bert{size=\"base\"|\"large\", vocab=30522, context=512} | models.vit{size=\"b16\"|\"b32\"|\"l16\"|\"l32\", classes=1000, image=224}",
  "Transformers from their published configurations, no weights made: GPT-2 (124,439,808 parameters small; the LM head shares the token embedding, counted once), BERT with its pooler (109,482,240 base), torchvision's ViT-B/16 (86,567,656; 17.56 G multiply-adds at 224x224, as torchvision's table), B/32, L/16, L/32. Input: token ids {T} (GPT-2, BERT) or an image {3, 224, 224}.",
  "summary(models.gpt2(), {1024}, {flops=\"2mac\", quiet=true}).total.flops")
doc("models.gpt", "analysis", "models.gpt{d=, layers=, heads=, vocab=, context=, bias=true, tied=true, head_bias=false, qkv_bias=bias, mlp=\"gelu\"|\"relu\", dropout=0, causal_count=\"full\"|\"kept\"}",
  "Any GPT: learned token and position embeddings, pre-norm blocks with causal attention, a final LayerNorm and the LM head (tied to the token embedding unless tied=false). Karpathy's lecture GPT (10,788,929 parameters) is models.gpt{d=384, layers=6, heads=6, vocab=65, context=256, tied=false, head_bias=true, qkv_bias=false, mlp=\"relu\"}.",
  "summary(models.gpt{d=64, layers=2, heads=4, vocab=65, context=32}, {32}, {quiet=true}).total.params")
doc("models.param_counts", "analysis", "models.param_counts(gpt)",
  "A GPT model's parameter count under every convention side by side, each with its reason: tied and untied head, without biases, vocabulary padded to a multiple of 64 (50,304), non-embedding (nanoGPT and Kaplan), 12·n_layer·d², excluding the LM head.",
  "models.param_counts(models.gpt2())")

-- ---- optimizers and training ----------------------------------------------------------
doc("optim.SGD", "optim", "optim.SGD(params, {lr=0.01, momentum=0, dampening=0, weight_decay=0, nesterov=false, momentum_form=\"pytorch\"|\"lr_inside\", nesterov_form=\"rewritten\"|\"lookahead\"})",
  "Gradient descent as PyTorch defines it: g' = g + wd·θ; buf ← μ·buf + (1−dampening)·g' (buf = g' on the first step); θ ← θ − lr·buf, or with Nesterov θ ← θ − lr·(g' + μ·buf). momentum_form=\"lr_inside\" is Sutskever's v ← μv − lr·g, θ ← θ + v (the same iterates at a fixed lr). nesterov_form=\"lookahead\" evaluates the gradient at θ + μv (give step a closure that recomputes the loss); its θ + μv equals the rewritten form's parameters at every step.",
  "optim.SGD({tensor{1}:requires_grad()}, {lr = 0.1, momentum = 0.9})")
doc("optim.AdaGrad optim.Adagrad", "optim", "optim.AdaGrad(params, {lr=0.01, lr_decay=0, weight_decay=0, eps=1e-10})", "G ← G + g²; θ ← θ − lr/(1 + (t−1)·lr_decay) · g / (√G + ε).", "optim.AdaGrad({tensor{1}:requires_grad()}, {lr = 0.1})")
doc("optim.RMSProp optim.RMSprop", "optim", "optim.RMSProp(params, {lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=false})", "E[g²] ← α·E[g²] + (1−α)·g²; θ ← θ − lr·g / (√E[g²] + ε) (with momentum: buf ← μ·buf + g/(√E[g²] + ε), θ ← θ − lr·buf).", "optim.RMSProp({tensor{1}:requires_grad()})")
doc("optim.Adam optim.AdamW", "optim", "optim.Adam(params, {lr=0.001, betas={0.9, 0.999} | beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0, bias_correction=true, amsgrad=false}) | optim.AdamW(params, {..., weight_decay=0.01})",
  "m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; m̂ = m/(1−β1^t), v̂ = v/(1−β2^t); θ ← θ − lr·m̂/(√v̂ + ε). Adam adds weight_decay·θ to g (L2); AdamW decays θ ← θ − lr·λ·θ apart from the gradient. bias_correction=false uses m and v as they are (CS224n's handout); amsgrad=true keeps vmax = max(vmax, v) for the denominator. The trace shows each buffer.",
  "optim.Adam({tensor{1}:requires_grad()}, {lr = 0.1})")
doc("optim.Optimizer", "optim", "opt:step() | opt:step{trace=true} | opt:step(closure) | opt:zero_grad() | opt:state()",
  "step applies one update to every parameter that has a gradient (trace=true prints the gradient, the state update and the new value with the formula and the convention); zero_grad clears the gradients; state() gives each parameter's step count and buffers (by position and by name). Errors: unknown options, negative rates, parameters that are not leaves, a step before any backward.",
  "optim.SGD({tensor{1}:requires_grad()}):state()")
doc("optim.StepLR optim.ExponentialLR optim.CosineAnnealingLR", "optim", "optim.StepLR(opt, {step_size=, gamma=0.1}) | optim.ExponentialLR(opt, {gamma=}) | optim.CosineAnnealingLR(opt, {T_max=, eta_min=0}) | optim.StepLR{lr=, step_size=, ...}(t) (no optimizer: a function of the step)",
  "Learning-rate schedules: sched:step() after each epoch sets opt.lr to lr·γ^⌊e/step_size⌋, lr·γ^e, or η_min + (lr − η_min)(1 + cos(πe/T_max))/2.",
  "optim.StepLR(optim.SGD({tensor{1}:requires_grad()}, {lr = 1}), {step_size = 2}):step()")
doc("fit", "optim", "fit(model, loss_fn, {X, Y}, {epochs=10, batch_size=N, opt=, shuffle=true, seed=, quiet=false, accumulate=1, clip=, explain=false})",
  "Trains with mini-batches (rows of X and Y), printing a line per epoch (mean loss, time); returns the loss history. With seed the run repeats exactly. accumulate=k adds the gradients of k micro-batches (each loss weighted by its share of the samples) before one optimizer step: the step of a k-times larger batch; clip=max_norm clips the gradient norm before each step; explain=true says how the samples are split. An optimizer's lr may be a schedule (optim.warmup_cosine{...}), read before every step.",
  "fit(nn.Linear(1, 1), nn.MSELoss(), {tensor{{1}, {2}}, tensor{{2}, {4}}}, {epochs = 2, quiet = true})")
doc("plot", "optim", "plot(history) | plot(f, a, b [, {width=, height=15, log=, xlabel=, ylabel=, title=, labels=, quiet=}]) | plot({f, g}, a, b) | p:svg(path)",
  "A plot in the terminal, as wide as the terminal (braille dots in UTF-8 terminals, '*' otherwise; several curves get a marker each and a legend of their names or labels): a loss history, or functions on [a, b]. Ticks are 1, 2 or 5 times a power of ten with 0 among them; log = true draws y on a log scale. Returns the plot (printed once); p:svg(path) writes it as an SVG drawn by nncalc, p:svg() returns the text; quiet = true returns the text without printing.",
  "plot({sigmoid, tanh}, -3, 3, {quiet = true})")
doc("grid_search", "optim", "grid_search{n1, n2, ..., epochs=, minutes_per_epoch=}", "The number of runs (the product of the values per hyper-parameter), epochs and time a grid search costs.", "grid_search{10, 6, 5, epochs = 10, minutes_per_epoch = 2}")
doc("random_trials", "optim", "random_trials(p, confidence)", "The fewest random trials N with 1 − (1 − p)^N ≥ confidence when each succeeds with probability p; second result: the formula.", "random_trials(0.05, 0.95)")

doc("lesson", "lessons", "lesson() | lesson(n) | lesson(\"name\")",
  "Lists the lessons, or runs one in the REPL (nncalc lesson N from the shell). Each walks through one topic of the course step by step and checks your answers. A lesson runs in its own environment: your globals are never overwritten; what it made is left in lessonvars (lessonvars.W1) and as globals only where the names are free, and it says which. Ctrl-C at a prompt leaves it.",
  "type(lesson)")
doc("title", "lessons", "title(text)", "A lesson's heading, underlined.", "title(\"Backprop by hand\")")
doc("say", "lessons", "say(text)", "A paragraph of a lesson, wrapped to the width.", "say(\"The chain rule multiplies local derivatives.\")")
doc("show", "lessons", "show(label, value)", "Prints label = value (a tensor below its label).", "show(\"W1\", eye(2))")
doc("pause", "lessons", "pause()", "Waits for Enter when a person is running the lesson; goes straight on in scripts and tests.", "pause()")
doc("ask", "lessons", "ask(question, answer [, tol [, working]])",
  "Asks the student a question and checks the answer (a number or tensor, within tol, default 1e-4), showing the working after a wrong answer; in scripts it prints the answer. The answer is read with Readline: numbers, numbers with spaces or commas, ';' between rows, or an expression; what cannot be read (-4x) is asked again, an empty line shows the answer.",
  "type(ask)")
doc("nn", "nn", "nn.Linear(...), nn.Conv2d(...), nn.Sequential{...} ...",
  "The layers as modules, containers and losses (help \"nn.Linear\" and so on for each). Every module keeps the module contract: help \"nn.class\".",
  "nn.Linear(2, 3)")
doc("optim", "optim", "optim.SGD(params, {...}), optim.Adam(...), optim.StepLR(...) ...",
  "Optimizers and learning-rate schedules (help \"optim.SGD\" and so on for each).", "optim.SGD({tensor{1}:requires_grad()}, {lr = 0.1})")

-- ---- training arithmetic -------------------------------------------------------
doc("memory", "budget", "memory(model, input_shape [, {dtype=\"fp32\"|\"bf16\"|\"fp16\"|\"mixed\", optimizer=\"adam\"|\"adamw\"|\"sgd\"|\"momentum\", training=true, batch=1, kv_cache=true|{layers=, kv_heads=, head_dim=, tokens=}, memory=bytes, amsgrad=false, explain=false, quiet=false}]) | memory{params=N, ...}",
  "The bytes of a training run (or of inference with training=false), shape-only: parameters, gradients, optimizer state, activations saved for the backward (summary's saved values, max-pooling argmax indices at 8 B) and the KV cache (2·layers·kv_heads·head_dim·tokens·batch·bytes). Prints the bytes-per-parameter rule (fp32 Adam 16 B, mixed precision 2 + 2 + 12 with fp32 master weights, bf16 8) and the linear form a·batch + b; memory= adds the largest batch that fits. Returns {params, grads, optimizer, activations, kv_cache, total, per_sample, fixed, bytes_per_param, checkpoint, max_batch} in bytes.",
  "memory{params = 124439808, dtype = \"mixed\", quiet = true}.total")
doc("fit_batch", "budget", "fit_batch(model, input_shape, bytes [, opts])", "The largest batch whose training memory (memory's a·batch + b) fits in the given bytes, and the ledger.",
  "fit_batch(nn.Linear(784, 10), {784}, 1e6, {quiet = true})")
doc("train_compute", "budget", "train_compute{params=, tokens=, gpus=1, peak_flops=, mfu=, rule=\"6ND\"|\"palm\", layers=, heads=, head_dim=, context=, flops_per_token=, time=, explain=, quiet=} | train_compute(model, input_shape, {tokens= | samples=, flash=false, ...})",
  "FLOPs, time (s, h, days), tokens/s and MFU of a training run: 6ND, PaLM's (6N + 12·L·H·Q·T) per token, or a model's own forward FLOPs from summary (2 per multiply-add) with the backward at 2x the forward (attention products 2.5x with flash=true). With time= (measured seconds) it gives the MFU instead. nanoGPT's GPT-2 small on 8 A100s at 30% MFU over 300B tokens: 3.46 days.",
  "train_compute{params = 124337664, tokens = 300e9, gpus = 8, peak_flops = 312e12, mfu = 0.3, quiet = true}.days")
doc("clip_grad_norm", "budget", "clip_grad_norm(params, max_norm [, {norm_type=2, trace=false}])",
  "As torch.nn.utils.clip_grad_norm_: the total norm of all gradients together; when max_norm/(total + 1e-6) < 1 every gradient is multiplied by that factor. Returns the total norm before clipping; trace=true prints each norm and the factor.",
  "W = tensor{3, 4}:requires_grad(); (W:cmul(W)):sum():backward(); clip_grad_norm({W}, 1)")
doc("clip_grad_value", "budget", "clip_grad_value(params, v)", "Clamps every gradient entry to [-v, v]; returns how many entries changed.",
  "W = tensor{3, 4}:requires_grad(); (W:cmul(W)):sum():backward(); clip_grad_value({W}, 7)")
doc("optim.LinearLR", "optim", "optim.LinearLR(opt, {start_factor=1/3, end_factor=1, total_iters=5}) | optim.LinearLR{lr=, ...}(t)", "lr = base·(start + (end − start)·min(t, total_iters)/total_iters), PyTorch's closed form. Every schedule is a function of the step too: s(t).",
  "optim.LinearLR{lr = 0.1, start_factor = 0.5, total_iters = 4}(2)")
doc("optim.LambdaLR", "optim", "optim.LambdaLR(opt, {lr_lambda = f}) | optim.LambdaLR{lr=, lr_lambda=f}(t)", "lr = base·f(t).", "optim.LambdaLR{lr = 1, lr_lambda = function(t) return 0.5 ^ t end}(3)")
doc("optim.SequentialLR", "optim", "optim.SequentialLR(opt, {schedulers = {a, b}, milestones = {m}}) | optim.SequentialLR{lr=, schedulers=, milestones=}(t)", "Schedule a before step m, then b restarted at 0 (PyTorch's SequentialLR).",
  "optim.SequentialLR{lr = 1, schedulers = {optim.LinearLR{lr = 1}, optim.ExponentialLR{lr = 1, gamma = 0.5}}, milestones = {5}}(6)")
doc("optim.OneCycleLR", "optim", "optim.OneCycleLR(opt, {max_lr=, total_steps=, pct_start=0.3, anneal_strategy=\"cos\", div_factor=25, final_div_factor=1e4}) | optim.OneCycleLR{max_lr=, total_steps=, ...}(t)",
  "Smith's 1cycle as PyTorch computes it: from max_lr/div_factor up to max_lr by step pct_start·total_steps − 1, then down to initial/final_div_factor at total_steps − 1 (the learning rate only; momentum is not cycled).",
  "optim.OneCycleLR{max_lr = 1, total_steps = 10}(2)")
doc("optim.warmup_cosine", "optim", "optim.warmup_cosine{lr=, min_lr=0, warmup=, total=, convention=\"nanogpt\"|\"build-nanogpt\"|\"cs336\"}",
  "Linear warmup, then cosine decay from lr to min_lr at step total, min_lr after. The warmup formulas differ: nanogpt lr·(t+1)/(W+1), build-nanogpt lr·(t+1)/W, cs336 lr·t/W (t from 0). f(t) is the rate; give it as an optimizer's lr to apply it every step; f:table(n), plot(f:values(n)).",
  "optim.warmup_cosine{lr = 6e-4, min_lr = 6e-5, warmup = 2000, total = 600000}(1000)")
doc("optim.inverse_sqrt", "optim", "optim.inverse_sqrt{d_model=, warmup=4000, scale=1}", "\"Attention is all you need\": lr = d_model^-0.5·min(n^-0.5, n·warmup^-1.5) with the paper's step_num n counted from 1. As every schedule, s(t) is the rate after t steps (s(0) the first step's), so s(t) uses n = t + 1 and the peak d_model^-0.5·warmup^-0.5 is s(warmup - 1).",
  "optim.inverse_sqrt{d_model = 512}(3999)")
doc("nn.init", "nn", "nn.init.uniform(t, a, b) | normal(t, mean, std) | constant(t, v) | zeros(t) | ones(t) | xavier_uniform(t, {gain}) | xavier_normal(t, {gain}) | kaiming_uniform(t, {a=0, mode=\"fan_in\", nonlinearity=\"leaky_relu\"}) | kaiming_normal(t, {...}) | trunc_normal(t, {mean, std, a=-2, b=2}) | orthogonal(t, {gain}) | calculate_gain(nl [, param]) | fans(t)",
  "PyTorch's torch.nn.init: each fills t in place from the seeded generator and returns t and a table with what it used (bound or std, fan_in, fan_out, gain, formula). Fans as PyTorch: fan_in = in·k1·k2, fan_out = out·k1·k2 for a weight out x in x k1 x k2. {explain=true} prints the formula with its numbers and the predicted Var(out) = fan_in·Var(w)·Var(x) (var_x= to set Var(x)).",
  "select(2, nn.init.kaiming_normal(zeros(64, 32), {nonlinearity = \"relu\"})).std")

local topics = {
  { "create", "making tensors" }, { "inspect", "shape and size" },
  { "views", "views and copies (no data moves in a view)" }, { "elementwise", "functions and operators" },
  { "reductions", "sum, max, softmax ..." }, { "products", "matrix products" },
  { "linalg", "det, inv, solve, pinv" }, { "printing", "how values print" },
  { "settings", "limits" }, { "autograd", "gradients, traces, graphs, gradcheck" },
  { "layers", "convolution, pooling, batch norm as functions" }, { "losses", "loss functions" },
  { "nn", "layers as modules, containers" },
  { "analysis", "counting, output sizes, receptive fields, checking answers" },
  { "optim", "optimizers, schedules, training loops, plots" },
  { "repl", "help and the REPL" }, { "lessons", "lessons and their vocabulary" },
  { "budget", "memory in bytes, compute and time, clipping" },
}

local conventions = [[
Conventions: indices are 1-based (negative from the end); x[i] is row i (a
view), x[{i,j}] an element, x[{{a,b}, j}] a range.  a * b is the matrix
product as on paper; a:cmul(b) multiplies elementwise; + - / ^ broadcast.
A single value (an element, x:sum(), a dot product) is a plain number -
except inside a gradient graph (when an input requires grad), where it is
a 0-d tensor that keeps the gradient: it prints as a number, :item() gives
the number, and arithmetic with numbers works, so -log_softmax(o)[2] can be
backpropagated.]]

return { entries = E, topics = topics, conventions = conventions }
