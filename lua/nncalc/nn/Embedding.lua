-- nn/Embedding.lua — a table of num_embeddings vectors of size dim, read
-- by 1-based token indices: a lookup, not a product (0 MACs).  As PyTorch:
-- weights N(0, 1), an index tensor of any shape S gives S x dim, the
-- backward adds the output gradient into each row read (a row read twice
-- gets both), and the row at padding_idx starts at zero and gets no
-- gradient.
local Module = require("nncalc.nn.Module")
local Embedding = Module.class("Embedding")
Embedding.input_layout = "sequence"   -- token indices {T} or {N, T}, never an image

-- nn.Embedding(num, dim [, {padding_idx = k, weight = W}])
-- PyTorch's positional order: Embedding(num, dim, padding_idx, max_norm,
-- norm_type, scale_grad_by_freq, sparse); padding_idx is 1-based here, as
-- every index in nncalc; the rest only at PyTorch's defaults
function Embedding:init(num, dim, ...)
  local opts = Module.only_default("Embedding", Module.settings("Embedding",
    { "padding_idx", "max_norm", "norm_type", "scale_grad_by_freq", "sparse" },
    { "nn.Embedding(10, 3, 1)", "nn.Embedding(10, 3, {padding_idx = 1})" }, ...),
    { max_norm = "nil", norm_type = 2, scale_grad_by_freq = false, sparse = false })
  -- a whole number computed as a float (50.0) counts as that integer
  local function size(what, v)
    local n = type(v) == "number" and math.tointeger(v)
    if not n or n < 1 then error(("Embedding: %s must be a positive whole number, got %s"):format(what, tostring(v)), 4) end
    return n
  end
  num, dim = size("num_embeddings", num), size("embedding_dim", dim)
  local pad = opts.padding_idx
  pad = pad ~= nil and (type(pad) == "number" and math.tointeger(pad) or pad) or nil
  if pad ~= nil and (math.type(pad) ~= "integer" or pad < 1 or pad > num) then
    error(("Embedding: padding_idx must be an index from 1 to %d, got %s"):format(num, tostring(pad)), 3)
  end
  self.num_embeddings, self.embedding_dim, self.padding_idx = num, dim, pad
  self:param("weight", { num, dim }, "normal", opts.weight)
  if pad and not opts.weight then
    -- made on first use like any parameter, then its padding row zeroed
    local make = self._lazy.weight
    self._lazy.weight = function()
      local w = make()
      no_grad(function() w[pad] = zeros(dim) end)
      return w
    end
  end
end

-- The indices as a flat list of whole numbers in 1..num, and their shape.
local function indices(self, idx)
  if type(idx) == "table" and not nncalc.is_tensor(idx) then idx = tensor(idx) end
  if not nncalc.is_tensor(idx) then
    error(("Embedding(%d, %d): the input must be a tensor or table of indices, got a %s"):format(
      self.num_embeddings, self.embedding_dim, type(idx)), 4)
  end
  local shape = idx:dim() == 0 and {} or idx:shape()
  local flat = idx:detach():reshape(idx:numel())
  local list = {}
  for k = 1, idx:numel() do
    local v = flat[k]
    if v ~= math.floor(v) or v < 1 or v > self.num_embeddings then
      error(("Embedding(%d, %d): index %s at position %d is not a whole number from 1 to %d"):format(
        self.num_embeddings, self.embedding_dim, tostring(math.tointeger(v) or v), k, self.num_embeddings), 4)
    end
    list[k] = math.tointeger(v)
  end
  return list, shape
end

function Embedding:compute(idx)
  local list, shape = indices(self, idx)
  local w = self.weight
  local rows = w:index_select(1, list)
  local pad = self.padding_idx
  if pad then
    -- the padding rows are read from a detached copy: same values, no gradient
    local keep = zeros(#list, 1)
    for k, v in ipairs(list) do keep[{ k, 1 }] = v == pad and 0 or 1 end
    rows = rows:cmul(keep) + w:detach():index_select(1, list):cmul(1 - keep)
  end
  shape[#shape + 1] = self.embedding_dim
  return rows:reshape(table.unpack(shape))
end

-- The input shape is the index tensor's (no feature dimension): {T},
-- {N, T} ...; the output adds embedding_dim.
function Embedding:out_shape(s)
  local out = { table.unpack(s) }
  out[#out + 1] = self.embedding_dim
  return out
end

function Embedding:cost(s)
  local n = 1
  for i = 1, #s do n = n * s[i] end
  return { weights = self.num_embeddings * self.embedding_dim, biases = 0, macs = 0, mults = 0, adds = 0,
    lookups = n, bwd_weight = n * self.embedding_dim, saved = n,
    note = "Embedding: one row read per index, counted as lookups (0 MACs)" }
end

-- fvcore has no rule for aten::embedding, thop none for nn.Embedding (0);
-- torchinfo counts its weight x the output's first size (layer_info.py)
function Embedding:counters(r)
  local params = self.num_embeddings * self.embedding_dim
  return { fvcore = 0, thop = 0, ptflops = 0, flop_counter = 0, torchscan = 0, torchinfo = r.out_shape[1] * params }
end

function Embedding:explain(r, group)
  return { ("params = %d·%d = %s"):format(self.num_embeddings, self.embedding_dim, group(r.params)),
    ("lookups = %s indices, one row of %d read each; 0 MACs"):format(group(r.lookups or 0), self.embedding_dim) }
end

function Embedding:window() return nil end

function Embedding:extra_repr()
  return ("%d, %d%s"):format(self.num_embeddings, self.embedding_dim,
    self.padding_idx and (", padding_idx=" .. self.padding_idx) or "")
end

return { Embedding = Embedding }
