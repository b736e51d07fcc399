-- nn/RecurrentLayer.lua — nn.RNN / nn.LSTM / nn.GRU over a whole sequence,
-- with PyTorch's options and layouts:
--   input  {T, in} (one sequence), {T, N, in}, or {N, T, in} with batch_first
--   output {T, D·h} / {T, N, D·h} / {N, T, D·h}    (D = 2 when bidirectional)
--   h_n    {L·D, h} or {L·D, N, h} (never batch-first, as PyTorch), c_n too
-- out, h_n = rnn(x [, h0]);  out, {h_n, c_n} = lstm(x [, {h0, c0}]).
-- Layer l > 0 reads the previous layer's output (h or 2h features).
-- Parameters weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, and
-- ..._reverse for the backward direction, as PyTorch names them.
local Module = require("nncalc.nn.Module")
local M = {}

-- stack(list, 1) for any length (stack and cat take at most 64 tensors)
local function join(list, f)
  if #list <= 64 then return f(list, 1) end
  local groups = {}
  for i = 1, #list, 64 do groups[#groups + 1] = f({ table.unpack(list, i, math.min(i + 63, #list)) }, 1) end
  return join(groups, cat)
end

function M.class(kind, K)
  local C = Module.class(kind)
  C.forward = K.forward

  -- nn.LSTM(in, hidden, {num_layers=1, bias=true|"single"|false,
  -- batch_first=false, bidirectional=false, dropout=0 [, nonlinearity="tanh"|"relu" for RNN]})
  -- PyTorch's positional order: RNN(in, hidden, num_layers, nonlinearity,
  -- bias, batch_first, dropout, bidirectional); LSTM and GRU have no
  -- nonlinearity (LSTM's proj_size is taken at 0 only)
  local order = kind == "RNN"
    and { "num_layers", "nonlinearity", "bias", "batch_first", "dropout", "bidirectional" }
    or { "num_layers", "bias", "batch_first", "dropout", "bidirectional", "proj_size" }
  local forms = { ("nn.%s(10, 20, 2)"):format(kind), ("nn.%s(10, 20, {num_layers = 2})"):format(kind) }
  function C:init(nin, hidden, ...)
    local opts = Module.only_default(kind, Module.settings(kind, order, forms, ...), { proj_size = 0 })
    opts, nin = K.settings(self, kind, nin, hidden, opts,
      { num_layers = 1, bias = 1, batch_first = 1, bidirectional = 1, nonlinearity = 1, dropout = 1 })
    hidden = self.hidden_size
    local L = math.tointeger(opts.num_layers or 1)
    if not L or L < 1 then
      error(("%s: num_layers must be a positive whole number, got %s"):format(kind, tostring(opts.num_layers)), 3)
    end
    for _, k in ipairs({ "batch_first", "bidirectional" }) do
      if opts[k] ~= nil and type(opts[k]) ~= "boolean" then
        error(("%s: %s must be true or false, got %s"):format(kind, k, tostring(opts[k])), 3)
      end
    end
    local p = opts.dropout or 0
    if type(p) ~= "number" or p < 0 or p >= 1 then
      error(("%s: dropout must be a probability in [0, 1), got %s"):format(kind, tostring(p)), 3)
    end
    self.dropout = p
    self.num_layers, self.batch_first, self.bidirectional = L, opts.batch_first == true, opts.bidirectional == true
    self.directions = self.bidirectional and 2 or 1
    self.names = {}
    for l = 0, L - 1 do
      for d = 1, self.directions do
        local layer_in = l == 0 and nin or self.directions * hidden
        self.names[#self.names + 1] = K.declare(self, layer_in, "_l" .. l .. (d == 2 and "_reverse" or ""))
      end
    end
  end

  -- The initial state as a list of L·D tensors {N, h}, or zeros.
  local function initial(self, v, what, N, batched)
    local LD, H = self.num_layers * self.directions, self.hidden_size
    local list = {}
    if v == nil then
      for k = 1, LD do list[k] = zeros(N, H) end
      return list
    end
    K.need_state(self, v, what, batched and { LD, N, H } or { LD, H })
    for k = 1, LD do list[k] = batched and v[k] or v[k]:reshape(1, H) end
    return list
  end

  function C:compute(x, state)
    local I, H = self.input_size, self.hidden_size
    if not nncalc.is_tensor(x) or (x:dim() ~= 2 and x:dim() ~= 3) or x:size(x:dim()) ~= I then
      error(("the input must be {T, %d}, or {%s, %d}"):format(I, self.batch_first and "N, T" or "T, N", I), 0)
    end
    local batched = x:dim() == 3
    local X = not batched and x:reshape(x:size(1), 1, I) or (self.batch_first and x:transpose(1, 2) or x)
    local T, N = X:size(1), X:size(2)
    if T == 0 then error("the sequence is empty (T = 0)", 0) end
    local sh, sc = K.split_state(kind, state, "h0", "c0")
    local h0, c0 = initial(self, sh, "h0", N, batched), kind == "LSTM" and initial(self, sc, "c0", N, batched) or nil
    -- each layer reads and writes one tensor per step: selecting steps out
    -- of a stacked T x N x C tensor would make every step's backward a
    -- full-size gradient (T² work), so steps are stacked once, at the end
    local xs = {}
    for t = 1, T do xs[t] = X[t] end
    local hn, cn = {}, {}
    for l = 0, self.num_layers - 1 do
      local outs = {}
      for d = 1, self.directions do
        local k = l * self.directions + d
        local p = K.params(self, self.names[k])
        local tag = (l > 0 and ("_l" .. l) or "") .. (d == 2 and "_rev" or "")
        local first, last, by = 1, T, 1
        if d == 2 then first, last, by = T, 1, -1 end
        local t0 = "[" .. (first - by) .. "]"   -- h[0], or h_rev[T+1] for the backward direction
        local h, c, hs = h0[k]:name("h" .. tag .. t0), c0 and c0[k]:name("c" .. tag .. t0), {}
        for t = first, last, by do
          local at = tag .. "[" .. t .. "]"
          h, c = K.step(kind, linear(xs[t], p.wih, p.bih):name("ih" .. at), h, c, p, at)
          hs[t] = h
        end
        outs[d] = hs
        hn[k], cn[k] = h, c
      end
      for t = 1, T do
        local x = self.directions == 2 and cat({ outs[1][t], outs[2][t] }, 2) or outs[1][t]
        -- PyTorch's dropout: on every layer's output but the last, in training
        if self.training and self.dropout > 0 and l < self.num_layers - 1 then
          x = x:cmul(rand(x:shape()):ge(self.dropout)) * (1 / (1 - self.dropout))
        end
        xs[t] = x
      end
    end
    local input = join(xs, stack):name("output")
    local out = not batched and input:reshape(T, self.directions * H)
      or (self.batch_first and input:transpose(1, 2) or input)
    local function final(list)
      local s = join(list, stack)
      return batched and s or s:reshape(#list, H)
    end
    if kind == "LSTM" then return out, { final(hn), final(cn) } end
    return out, final(hn)
  end

  -- {T, in}, {T, N, in} or {N, T, in} (batch_first): never an image.
  function C:out_shape(s)
    if (#s ~= 2 and #s ~= 3) or s[#s] ~= self.input_size then
      error(("%s: input shape {%s} is not a sequence {T, %d} or {%s, %d}"):format(self.class_name,
        table.concat(s, ", "), self.input_size, self.batch_first and "N, T" or "T, N", self.input_size), 2)
    end
    local out = { table.unpack(s) }
    out[#s] = self.directions * self.hidden_size
    return out
  end
  C.input_layout = "sequence"

  local function steps(self, s)
    if #s ~= 3 then return s[1], 1 end
    if self.batch_first then return s[2], s[1] end
    return s[1], s[2]
  end
  function C:cost(s) return K.cost.count(self, s, steps(self, s)) end
  function C:counters(r) return K.cost.counters(self, r.in_shape, steps(self, r.in_shape)) end
  function C:explain(r, group)
    local T, N = steps(self, r.in_shape)
    return K.cost.explain(self, r, group, T, N)
  end

  function C:window() return false end

  -- The step as a function of a flat state (h, or h then c for the LSTM)
  -- with the weights detached: what bptt_norms differentiates.
  function C:bptt_step()
    if self.num_layers ~= 1 or self.directions ~= 1 then
      error(self:repr("") .. ": bptt_norms takes one layer and one direction", 2)
    end
    local p, H = K.params(self, self.names[1]), self.hidden_size
    for _, k in ipairs({ "wih", "bih", "whh", "bhh" }) do if p[k] then p[k] = p[k]:detach() end end
    local function step(x, s)
      local ih = linear(x:reshape(1, x:numel()), p.wih, p.bih)
      if kind ~= "LSTM" then return K.step(kind, ih, s:reshape(1, H), nil, p, "'"):reshape(H) end
      local h, c = K.step(kind, ih, s:narrow(1, 1, H):reshape(1, H), s:narrow(1, H + 1, H):reshape(1, H), p, "'")
      return cat({ h:reshape(H), c:reshape(H) }, 1)
    end
    return step, (kind == "LSTM" and 2 or 1) * H
  end

  function C:extra_repr()
    local r = ("%d, %d%s"):format(self.input_size, self.hidden_size, K.bias_repr(self))
    if self.num_layers > 1 then r = r .. ", num_layers=" .. self.num_layers end
    if self.nonlinearity ~= "tanh" then r = r .. ', nonlinearity="' .. self.nonlinearity .. '"' end
    if self.dropout > 0 then r = r .. ", dropout=" .. self.dropout end
    if self.batch_first then r = r .. ", batch_first=true" end
    if self.bidirectional then r = r .. ", bidirectional=true" end
    return r
  end
  return C
end

return M
