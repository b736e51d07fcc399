-- nn/Recurrent.lua — nn.RNN, nn.LSTM, nn.GRU and their cells, in
-- PyTorch's layout: W_ih is (gates·h) x in and W_hh (gates·h) x h, the
-- gates stacked in PyTorch's order (LSTM i, f, g, o; GRU r, z, n), two
-- biases per gate (bias_ih, bias_hh) unless bias = "single" (one per gate,
-- as Keras and the papers write it) or false; all uniform in ±1/sqrt(h).
--   RNN   h' = tanh(W_ih x + b_ih + W_hh h + b_hh)       (or relu)
--   LSTM  i, f, o = σ(...), g = tanh(...), c' = f⊙c + i⊙g, h' = o⊙tanh(c')
--   GRU   r, z = σ(...), n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn)),
--         h' = (1 − z)⊙n + z⊙h                          (reset after, as PyTorch)
-- Every step's tensors are named by time (h[2], c[2], i[2] ...) so that
-- backward{trace=true} reads as backprop through time.  The backward is
-- the autograd of these ops.
local Module = require("nncalc.nn.Module")
local cost = require("nncalc.nn.RecurrentCost")
local M = {}

local kinds = {
  RNN = { gates = 1 }, LSTM = { gates = 4 }, GRU = { gates = 3 },
}

-- ---- one time step ------------------------------------------------------------

-- ih: the input part W_ih x + b_ih (already computed for all steps),
-- h, c: the state, p: {whh, bhh, act}, tag: "[t]" or "_l1_rev[t]".
local function step(kind, ih, h, c, p, tag)
  local hh = linear(h, p.whh, p.bhh):name("hh" .. tag)
  local d, H = ih:dim(), p.hidden
  local function part(t, k) return t:narrow(d, (k - 1) * H + 1, H) end
  if kind == "RNN" then
    local a = (ih + hh):name("a" .. tag)
    return p.act(a):name("h" .. tag)
  elseif kind == "LSTM" then
    local a = (ih + hh):name("gates" .. tag)
    local i = sigmoid(part(a, 1)):name("i" .. tag)
    local f = sigmoid(part(a, 2)):name("f" .. tag)
    local g = tanh(part(a, 3)):name("g" .. tag)
    local o = sigmoid(part(a, 4)):name("o" .. tag)
    c = (f:cmul(c) + i:cmul(g)):name("c" .. tag)
    return o:cmul(tanh(c)):name("h" .. tag), c
  end
  local r = sigmoid(part(ih, 1) + part(hh, 1)):name("r" .. tag)
  local z = sigmoid(part(ih, 2) + part(hh, 2)):name("z" .. tag)
  local n = tanh(part(ih, 3) + r:cmul(part(hh, 3))):name("n" .. tag)
  return ((1 - z):cmul(n) + z:cmul(h)):name("h" .. tag)
end

-- ---- settings shared by the cells and the layers -----------------------------

-- a whole number computed as a float (20.0, 2^4) counts as that integer
local function check_size(cls, what, v) return Module.whole(cls, what, v, 4) end

local function settings(self, kind, nin, hidden, opts, known)
  local cls = self.class_name
  nin, hidden = check_size(cls, "input_size", nin), check_size(cls, "hidden_size", hidden)
  opts = opts or {}
  if type(opts) ~= "table" then error(("%s: options must be a table, e.g. {bias = \"single\"}"):format(cls), 4) end
  for k in pairs(opts) do
    if not known[k] then
      local names = {}
      for n in pairs(known) do names[#names + 1] = n end
      table.sort(names)
      error(("%s: unknown option '%s' (%s)"):format(cls, tostring(k), table.concat(names, ", ")), 4)
    end
  end
  local bias = opts.bias
  if bias == nil then bias = true end
  if bias ~= true and bias ~= false and bias ~= "single" then
    error(("%s: bias must be true (PyTorch: bias_ih and bias_hh), \"single\" (one bias per gate) or false, got %s")
      :format(cls, tostring(bias)), 4)
  end
  local act = opts.nonlinearity or "tanh"
  if act ~= "tanh" and act ~= "relu" then
    error(("%s: nonlinearity must be \"tanh\" or \"relu\", got %s"):format(cls, tostring(act)), 4)
  end
  if act ~= "tanh" and kind ~= "RNN" then error(("%s: nonlinearity applies to RNN only"):format(cls), 4) end
  self.kind, self.input_size, self.hidden_size, self.bias_mode, self.nonlinearity = kind, nin, hidden, bias, act
  self.gates = kinds[kind].gates
  return opts, nin
end

-- Declares one layer-direction's parameters; returns their names.
local function declare(self, nin, suffix)
  local G, H = self.gates, self.hidden_size
  local bound = 1 / math.sqrt(H)
  local n = { wih = "weight_ih" .. suffix, whh = "weight_hh" .. suffix }
  self:param(n.wih, { G * H, nin }, bound)
  self:param(n.whh, { G * H, H }, bound)
  if self.bias_mode == "single" then
    n.bih = "bias" .. suffix
    self:param(n.bih, { G * H }, bound)
  elseif self.bias_mode then
    n.bih, n.bhh = "bias_ih" .. suffix, "bias_hh" .. suffix
    self:param(n.bih, { G * H }, bound)
    self:param(n.bhh, { G * H }, bound)
  end
  return n
end

local function params(self, n)
  return { wih = self[n.wih], bih = n.bih and self[n.bih], whh = self[n.whh], bhh = n.bhh and self[n.bhh],
    hidden = self.hidden_size, act = self.nonlinearity == "relu" and relu or tanh }
end

local function bias_repr(self)
  if self.bias_mode == true then return "" end
  return self.bias_mode == "single" and ', bias="single"' or ", bias=false"
end

-- forward(x [, state]): the state is a second argument (a tensor, or
-- {h, c} for the LSTM), and a recurrent module returns several values.
local function forward(self, x, state)
  if type(state) == "table" and not nncalc.is_tensor(state) and state.trace ~= nil then
    return Module.forward(self, x, state)
  end
  local r = table.pack(pcall(self.compute, self, x, state))
  if not r[1] then
    local msg = tostring(r[2]):gsub("^[^:\n]*:%d+: ", "")
    local shape = nncalc.is_tensor(x) and (" (input " .. table.concat(x:shape(), "x") .. ")") or ""
    error(self:repr("") .. shape .. ": " .. msg, 2)
  end
  self.output = r[2]
  return table.unpack(r, 2, r.n)
end

local function need_state(self, v, what, shape)
  if not nncalc.is_tensor(v) or table.concat(v:shape(), "x") ~= table.concat(shape, "x") then
    error(("%s must be a tensor of shape %s, got %s"):format(what, table.concat(shape, "x"),
      nncalc.is_tensor(v) and table.concat(v:shape(), "x") or type(v)), 0)
  end
  return v
end

-- The given state as (h, c): a tensor h, or the LSTM's table {h, c}.
local function split_state(kind, state, h, c)
  if kind ~= "LSTM" then return state end
  if state ~= nil and (type(state) ~= "table" or nncalc.is_tensor(state)) then
    error(("the state must be a table {%s, %s}"):format(h, c), 0)
  end
  state = state or {}
  return state[1], state[2]
end

-- ---- the cells: one step, x {in} or {N, in} -------------------------------------

local function cell_class(kind)
  local C = Module.class(kind .. "Cell")
  C.forward = forward
  -- PyTorch: RNNCell(in, hidden, bias, nonlinearity); LSTMCell, GRUCell(in, hidden, bias)
  local order = kind == "RNN" and { "bias", "nonlinearity" } or { "bias" }
  local forms = { ("nn.%sCell(10, 20, false)"):format(kind), ("nn.%sCell(10, 20, {bias = false})"):format(kind) }
  function C:init(nin, hidden, ...)
    local opts = Module.settings(kind .. "Cell", order, forms, ...)
    local _, n = settings(self, kind, nin, hidden, opts, { bias = 1, nonlinearity = 1 })
    self.names = declare(self, n, "")
  end
  -- cell(x [, h]) -> h';  LSTMCell(x [, {h, c}]) -> h', c'
  function C:compute(x, state)
    if not nncalc.is_tensor(x) or (x:dim() ~= 1 and x:dim() ~= 2) or x:size(x:dim()) ~= self.input_size then
      error(("the input must be {%d} or {N, %d}"):format(self.input_size, self.input_size), 0)
    end
    local H = self.hidden_size
    local shape = x:dim() == 1 and { H } or { x:size(1), H }
    local function start(v, what)
      return v ~= nil and need_state(self, v, what, shape) or zeros(table.unpack(shape)):name(what)
    end
    local sh, sc = split_state(kind, state, "h", "c")
    local h, c = start(sh, "h"), kind == "LSTM" and start(sc, "c") or nil
    local p = params(self, self.names)
    return step(kind, linear(x, p.wih, p.bih):name("ih"), h, c, p, "'")
  end
  function C:out_shape(s)
    if (#s ~= 1 and #s ~= 2) or s[#s] ~= self.input_size then
      error(("%s: input shape {%s} is not {%d} or {N, %d}"):format(self.class_name, table.concat(s, ", "),
        self.input_size, self.input_size), 2)
    end
    local out = { table.unpack(s) }
    out[#out] = self.hidden_size
    return out
  end
  C.cell = true
  function C:cost(s) return cost.count(self, s, 1, #s == 2 and s[1] or 1) end
  function C:counters(r) return cost.counters(self, r.in_shape, 1, #r.in_shape == 2 and r.in_shape[1] or 1) end
  function C:explain(r, group) return cost.explain(self, r, group, 1, #r.in_shape == 2 and r.in_shape[1] or 1) end
  function C:window() return false end
  function C:extra_repr()
    return ("%d, %d%s%s"):format(self.input_size, self.hidden_size, bias_repr(self),
      self.nonlinearity ~= "tanh" and (', nonlinearity="' .. self.nonlinearity .. '"') or "")
  end
  M[kind .. "Cell"] = C
end

for kind in pairs(kinds) do cell_class(kind) end

-- ---- the layers: a whole sequence, stacked and/or bidirectional ------------------

local Layers = require("nncalc.nn.RecurrentLayer")
for kind in pairs(kinds) do
  M[kind] = Layers.class(kind, { step = step, settings = settings, declare = declare, params = params,
    bias_repr = bias_repr, forward = forward, need_state = need_state, split_state = split_state, cost = cost })
end

return M
