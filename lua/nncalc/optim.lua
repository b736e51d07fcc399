-- optim.lua — optimizers with PyTorch's update rules (the loops are C, in
-- optim.c; the formulas are in optim.h and in help "optim.SGD" ...), a
-- trace of each step in homework notation, and learning-rate schedules.
--
--   opt = optim.SGD(net:parameters(), {lr=0.1, momentum=0.9, nesterov=true})
--   loss:backward(); opt:step{trace=true}; opt:zero_grad()

local optim = nncalc._package("optim")

-- ---- shared parts ------------------------------------------------------------

-- values in homework notation, by the one printer (format.lua); a larger
-- tensor as its shape and the tensor below
local fmt = require("nncalc.format")
local num = fmt.num

local function show(t)
  local s = fmt.inline(t)
  if s then return s end
  t = t:detach()
  return "[" .. table.concat(t:shape(), "x") .. "]\n" .. t:format{ threshold = 24, edgeitems = 2 }:gsub("[^\n]+", "      %0")
end

-- params: a module, a list of tensors, or a list of {name, tensor}.
local function collect(cls, params)
  local list = {}
  if nn and nn.is_module(params) then params = params:named_parameters() end
  if nncalc.is_tensor(params) then params = { params } end
  if type(params) ~= "table" or #params == 0 then
    error(cls .. ": a list of parameters expected (net:parameters(), or {W, b})", 4)
  end
  for i, p in ipairs(params) do
    local name, t = nil, p
    if type(p) == "table" and not nncalc.is_tensor(p) then name, t = p[1], p[2] end
    if not nncalc.is_tensor(t) then error(("%s: parameter %d is a %s, not a tensor"):format(cls, i, type(t)), 4) end
    if not t:is_leaf() then
      error(("%s: parameter %d is not a leaf (it was computed by %s); optimize the tensors you created"):format(
        cls, i, t:grad_fn()), 4)
    end
    if not t:is_contiguous() then error(("%s: parameter %d is not contiguous"):format(cls, i), 4) end
    t:requires_grad()
    -- without a name of its own, a parameter is named when a trace prints
    -- it: by the global holding it (W1) or its module path (net[1].weight)
    list[i] = { name = name or t:name() or ("p" .. i), tensor = t, state = {}, auto = name == nil, index = i }
  end
  return list
end

local function settings(cls, opts, defaults)
  opts = require("nncalc.named").options(cls, opts)
  if type(opts) ~= "table" then error(cls .. ": options must be a table, e.g. {lr=0.1}", 4) end
  local s = {}
  for k, v in pairs(defaults) do s[k] = v end
  -- PyTorch's betas = (b1, b2), written {b1, b2}, is beta1 and beta2
  if opts.betas ~= nil and defaults.beta1 ~= nil then
    local b = opts.betas
    if type(b) ~= "table" or #b ~= 2 or type(b[1]) ~= "number" or type(b[2]) ~= "number" then
      error(("%s: betas must be two numbers, e.g. {0.9, 0.999}, got %s"):format(cls, tostring(b)), 4)
    end
    if opts.beta1 ~= nil or opts.beta2 ~= nil then
      error(("%s: give betas = {b1, b2} or beta1 and beta2, not both"):format(cls), 4)
    end
    local o = {}
    for k, v in pairs(opts) do if k ~= "betas" then o[k] = v end end
    o.beta1, o.beta2, opts = b[1], b[2], o
  end
  for k, v in pairs(opts) do
    if defaults[k] == nil then
      local names = {}
      for n in pairs(defaults) do names[#names + 1] = n end
      table.sort(names)
      error(("%s: unknown option '%s' (%s)"):format(cls, tostring(k), table.concat(names, ", ")), 4)
    end
    local callable = type(v) == "function" or (type(v) == "table" and getmetatable(v) and getmetatable(v).__call)
    if k == "lr" and callable then   -- a schedule: read before every step
      s.lr_fn, v = v, v(0)
    end
    if type(v) ~= type(defaults[k]) then
      error(("%s: option '%s' must be a %s"):format(cls, k, type(defaults[k])), 4)
    end
    s[k] = v
  end
  if s.lr == nil or s.lr < 0 then error(("%s: the learning rate must be >= 0, got %s"):format(cls, tostring(s.lr)), 4) end
  for _, k in ipairs({ "momentum", "weight_decay", "eps", "dampening", "lr_decay" }) do
    if s[k] and s[k] < 0 then error(("%s: %s must be >= 0, got %s"):format(cls, k, tostring(s[k])), 4) end
  end
  return s
end

local Optimizer = {}
Optimizer.__index = Optimizer

local function class(name, defaults, update)
  local C = setmetatable({ name = name, defaults = defaults, update = update }, { __index = Optimizer })
  C.__index = C
  C.__tostring = function(self)
    local parts = {}
    for k in pairs(defaults) do parts[#parts + 1] = k .. "=" .. tostring(self.settings[k]) end
    table.sort(parts)
    return ("optim.%s(%d parameter%s, %s)"):format(name, #self.params, #self.params == 1 and "" or "s",
      table.concat(parts, ", "))
  end
  setmetatable(C, { __index = Optimizer, __call = function(cls, params, opts)
    local self = setmetatable({}, cls)
    self.params = collect("optim." .. name, params)
    self.settings = settings("optim." .. name, opts, defaults)
    if cls.check then cls.check(self) end
    self.lr = self.settings.lr
    self.steps = 0
    return self
  end })
  optim[name] = C
  return C
end

-- Returns nothing, as PyTorch's (the REPL then prints nothing).
function Optimizer:zero_grad()
  for _, p in ipairs(self.params) do p.tensor:zero_grad() end
end

-- The names traces and state() use, read when they are needed: the name
-- given with the parameter, else the tensor's own name, its global or its
-- path in a global module (net[1].weight), as backward's trace names it;
-- "p1" ... only for a tensor nothing names.
function Optimizer:name_params()
  local namer = require("nncalc.autograd").namer()
  for _, p in ipairs(self.params) do
    if p.auto then
      local n = namer(p.tensor)
      p.name = n:find("^leaf#") and ("p" .. p.index) or n
    end
  end
end

-- The optimizer's state: per parameter its step count and buffers.
function Optimizer:state()
  local out = {}
  self:name_params()
  for i, p in ipairs(self.params) do
    local s = { step = p.state.step or 0 }
    for k, v in pairs(p.state) do if k ~= "step" then s[k] = v:clone() end end
    out[i] = s
    out[p.name] = s
  end
  return out
end

-- opt:step() | opt:step(closure) | opt:step{trace=true, closure=f}
function Optimizer:step(arg)
  local o = type(arg) == "table" and arg or { closure = arg }
  for k in pairs(o) do
    if k ~= "trace" and k ~= "closure" then error(("step: unknown option '%s' (trace, closure)"):format(tostring(k)), 2) end
  end
  -- PyTorch's step(closure): the closure recomputes the loss and its
  -- gradients before the update, whichever the optimizer
  local loss
  if self.before_step then loss = self:before_step(o.closure)
  elseif o.closure ~= nil then
    if type(o.closure) ~= "function" then
      error(("%s:step: the closure must be a function that recomputes the loss and calls backward, got a %s"):format(
        self.name, type(o.closure)), 2)
    end
    loss = o.closure()
  end
  local any = false
  for _, p in ipairs(self.params) do if p.tensor.grad then any = true end end
  if not any then
    error(("%s:step: no parameter has a gradient yet: call loss:backward() first"):format(self.name), 2)
  end
  if self.settings.lr_fn then self.lr = self.settings.lr_fn(self.steps) end
  self.steps = self.steps + 1
  local lines = o.trace and {} or nil
  if lines then
    lines[1] = ("step %d of optim.%s (%s)"):format(self.steps, self.name, self:convention())
    self:name_params()
  end
  no_grad(function()
    for _, p in ipairs(self.params) do
      local g = p.tensor.grad
      if g then
        p.state.step = (p.state.step or 0) + 1
        local before = lines and p.tensor:detach():clone()
        if lines then lines[#lines + 1] = ("  %s: g = %s"):format(p.name, show(g)) end
        self:update(p, g:contiguous(), lines and function(s) lines[#lines + 1] = s end)
        if lines then lines[#lines + 1] = ("    %s = %s   (was %s)"):format(p.name, show(p.tensor), show(before)) end
      end
    end
  end)
  if lines then io.write(table.concat(lines, "\n"), "\n") end
  -- only a closure's loss: opt:step() in the REPL shows nothing (not nil)
  if loss ~= nil then return loss end
end

-- ---- SGD ---------------------------------------------------------------------

local SGD = class("SGD", { lr = 0.01, momentum = 0.0, dampening = 0.0, weight_decay = 0.0,
  nesterov = false, momentum_form = "pytorch", nesterov_form = "rewritten" },
  function(self, p, g, out)
    local s = self.settings
    local mu = s.momentum
    local first = p.state.momentum_buffer == nil
    if mu ~= 0 and first then p.state.momentum_buffer = zeros(p.tensor:shape()) end
    local lr_inside = s.momentum_form == "lr_inside"
    nncalc._sgd(p.tensor, g, p.state.momentum_buffer, self.lr, mu, s.dampening, s.weight_decay,
      s.nesterov and s.nesterov_form == "rewritten", lr_inside, first and not lr_inside)
    if out then
      local add = out
      local gname = s.weight_decay ~= 0 and ("(g + " .. num(s.weight_decay) .. "·" .. p.name .. ")") or "g"
      if mu == 0 then
        add(("    %s ← %s − %s·%s"):format(p.name, p.name, num(self.lr), gname))
      elseif lr_inside then
        add(("    v ← %s·v − %s·%s = %s"):format(num(mu), num(self.lr), gname, show(p.state.momentum_buffer)))
        add(("    %s ← %s + v"):format(p.name, p.name))
      else
        local b = first and ("buf ← " .. gname) or ("buf ← " .. num(mu) .. "·buf + " .. num(1 - s.dampening) .. "·" .. gname)
        add(("    %s = %s"):format(b, show(p.state.momentum_buffer)))
        if s.nesterov and s.nesterov_form == "rewritten" then
          add(("    %s ← %s − %s·(%s + %s·buf)"):format(p.name, p.name, num(self.lr), gname, num(mu)))
        else
          add(("    %s ← %s − %s·buf"):format(p.name, p.name, num(self.lr)))
        end
      end
    end
  end)

function SGD.check(self)
  local s = self.settings
  if s.momentum_form ~= "pytorch" and s.momentum_form ~= "lr_inside" then
    error('optim.SGD: momentum_form must be "pytorch" or "lr_inside"', 4)
  end
  if s.nesterov_form ~= "rewritten" and s.nesterov_form ~= "lookahead" then
    error('optim.SGD: nesterov_form must be "rewritten" or "lookahead"', 4)
  end
  if s.nesterov and (s.momentum <= 0 or s.dampening ~= 0) then
    error("optim.SGD: Nesterov momentum needs momentum > 0 and dampening 0", 4)
  end
  if s.nesterov and s.nesterov_form == "lookahead" then
    -- v ← μv − lr·∇f(θ + μv), θ ← θ + v: the velocity carries the learning rate
    s.momentum_form = "lr_inside"
  end
end

-- The look-ahead form evaluates the gradient at θ + μ·v: the closure is
-- called with the parameters shifted there, then they are shifted back.
function SGD:before_step(closure)
  local s = self.settings
  if not (s.nesterov and s.nesterov_form == "lookahead") then
    return closure and closure() or nil
  end
  if type(closure) ~= "function" then
    error("optim.SGD: the look-ahead Nesterov form needs a closure that recomputes the loss and calls backward: opt:step(function() ... end)", 3)
  end
  no_grad(function()
    for _, p in ipairs(self.params) do
      local v = p.state.momentum_buffer
      if v then p.tensor:copy(p.tensor + s.momentum * v) end
      p.tensor:zero_grad()
    end
  end)
  local loss = closure()
  no_grad(function()
    for _, p in ipairs(self.params) do
      local v = p.state.momentum_buffer
      if v then p.tensor:copy(p.tensor - s.momentum * v) end
    end
  end)
  return loss
end

function SGD:convention()
  local s = self.settings
  if s.momentum == 0 then return "plain gradient descent" end
  local form = s.momentum_form == "lr_inside" and "Sutskever form v ← μv − lr·g, θ ← θ + v"
    or "PyTorch form buf ← μ·buf + (1−dampening)·g, θ ← θ − lr·buf"
  if s.nesterov then form = form .. (s.nesterov_form == "lookahead" and "; Nesterov: gradient at the look-ahead point θ + μv"
    or "; Nesterov rewritten: θ ← θ − lr·(g + μ·buf)") end
  if s.weight_decay ~= 0 then form = form .. "; L2 weight decay in the gradient" end
  return form
end

-- ---- AdaGrad, RMSProp, Adam, AdamW -------------------------------------------------

class("AdaGrad", { lr = 0.01, lr_decay = 0.0, weight_decay = 0.0, eps = 1e-10 },
  function(self, p, g, out)
    local s = self.settings
    p.state.sum = p.state.sum or zeros(p.tensor:shape())
    nncalc._adagrad(p.tensor, g, p.state.sum, self.lr, s.lr_decay, s.eps, s.weight_decay, p.state.step)
    if out then
      out(("    G ← G + g² = %s"):format(show(p.state.sum)))
      out(("    %s ← %s − %s·g / (√G + %s)"):format(p.name, p.name, num(self.lr / (1 + (p.state.step - 1) * s.lr_decay)), num(s.eps)))
    end
  end).convention = function() return "PyTorch Adagrad: G accumulates squared gradients" end

class("RMSProp", { lr = 0.01, alpha = 0.99, eps = 1e-8, weight_decay = 0.0, momentum = 0.0, centered = false },
  function(self, p, g, out)
    local s = self.settings
    p.state.square_avg = p.state.square_avg or zeros(p.tensor:shape())
    if s.momentum > 0 then p.state.momentum_buffer = p.state.momentum_buffer or zeros(p.tensor:shape()) end
    if s.centered then p.state.grad_avg = p.state.grad_avg or zeros(p.tensor:shape()) end
    nncalc._rmsprop(p.tensor, g, p.state.square_avg, p.state.momentum_buffer, p.state.grad_avg, self.lr,
      s.alpha, s.eps, s.weight_decay, s.momentum, s.centered)
    if out then
      out(("    E[g²] ← %s·E[g²] + %s·g² = %s"):format(num(s.alpha), num(1 - s.alpha), show(p.state.square_avg)))
      out(("    %s ← %s − %s·g / (√E[g²] + %s)"):format(p.name, p.name, num(self.lr), num(s.eps)))
    end
  end).convention = function() return "PyTorch RMSprop" end

local function adam_update(decoupled)
  return function(self, p, g, out)
    local s = self.settings
    p.state.exp_avg = p.state.exp_avg or zeros(p.tensor:shape())
    p.state.exp_avg_sq = p.state.exp_avg_sq or zeros(p.tensor:shape())
    if s.amsgrad then p.state.max_exp_avg_sq = p.state.max_exp_avg_sq or zeros(p.tensor:shape()) end
    nncalc._adam(p.tensor, g, p.state.exp_avg, p.state.exp_avg_sq, self.lr, s.beta1, s.beta2, s.eps,
      s.weight_decay, decoupled, p.state.step, s.bias_correction, p.state.max_exp_avg_sq)
    if out then
      local t = p.state.step
      local bc1, bc2 = 1 - s.beta1 ^ t, 1 - s.beta2 ^ t
      local v = "v"
      out(("    m ← %s·m + %s·g = %s"):format(num(s.beta1), num(1 - s.beta1), show(p.state.exp_avg)))
      out(("    v ← %s·v + %s·g² = %s"):format(num(s.beta2), num(1 - s.beta2), show(p.state.exp_avg_sq)))
      if s.amsgrad then
        out(("    vmax ← max(vmax, v) = %s"):format(show(p.state.max_exp_avg_sq)))
        v = "vmax"
      end
      local wd = (decoupled and s.weight_decay ~= 0) and (" − " .. num(self.lr * s.weight_decay) .. "·" .. p.name) or ""
      if s.bias_correction then
        out(("    m̂ = m / (1 − %s^%d) = %s,  %ŝ = %s / (1 − %s^%d) = %s"):format(num(s.beta1), t,
          show(p.state.exp_avg / bc1), v, v, num(s.beta2), t, show((p.state.max_exp_avg_sq or p.state.exp_avg_sq) / bc2)))
        out(("    %s ← %s − %s·m̂ / (√%ŝ + %s)%s"):format(p.name, p.name, num(self.lr), v, num(s.eps), wd))
      else
        out(("    %s ← %s − %s·m / (√%s + %s)%s   (no bias correction)"):format(p.name, p.name, num(self.lr), v, num(s.eps), wd))
      end
    end
  end
end

local function adam_convention(name, base)
  return function(self)
    local s, parts = self.settings, { base }
    if not s.bias_correction then parts[#parts + 1] = "without bias correction (m and v used as they are)" end
    if s.amsgrad then parts[#parts + 1] = "AMSGrad (the largest v so far in the denominator)" end
    return table.concat(parts, "; ")
  end
end

local adam_defaults = { lr = 0.001, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0,
  bias_correction = true, amsgrad = false }
local Adam = class("Adam", adam_defaults, adam_update(false))
function Adam:convention()
  return adam_convention("Adam", self.settings.weight_decay ~= 0 and "PyTorch Adam, L2 weight decay added to the gradient"
    or "PyTorch Adam")(self)
end
local adamw_defaults = {}
for k, v in pairs(adam_defaults) do adamw_defaults[k] = v end
adamw_defaults.weight_decay = 0.01
class("AdamW", adamw_defaults, adam_update(true)).convention =
  adam_convention("AdamW", "PyTorch AdamW, decoupled weight decay θ ← θ − lr·λ·θ")

-- ---- learning-rate schedules (schedules.lua) ---------------------------------------

for name, make in pairs(require("nncalc.schedules")) do optim[name] = make end

-- PyTorch's spellings
optim.Adagrad, optim.RMSprop = optim.AdaGrad, optim.RMSProp

-- raw Lua errors in an optimizer, a schedule or their methods name them
local named = require("nncalc.named")
for key, C in pairs(optim) do
  if type(C) == "function" then optim[key] = named.wrap("optim." .. key, C) end   -- the schedules
  if type(C) == "table" then
    local name = C.name or key   -- optim.Adagrad is optim.AdaGrad
    local mt = getmetatable(C)
    if mt and mt.__call then mt.__call = named.wrap("optim." .. name, mt.__call) end
    for k, f in pairs(C) do
      if type(f) == "function" and k:sub(1, 2) ~= "__" and k ~= "update" and k ~= "check" then
        C[k] = named.wrap("optim." .. name .. ":" .. k, f)
      end
    end
  end
end
for k, f in pairs(Optimizer) do
  if type(f) == "function" and k:sub(1, 2) ~= "__" then Optimizer[k] = named.wrap("optimizer:" .. k, f) end
end

return optim
