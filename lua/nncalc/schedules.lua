-- nncalc/schedules.lua — learning-rate schedules, each a function of the
-- step: s(t) is the learning rate after t steps (t = 0 before the first),
-- as PyTorch's closed forms and the course handouts write them.
--
--   sched = optim.StepLR(opt, {step_size = 30})   -- attached: sched:step()
--   f = optim.warmup_cosine{lr = 6e-4, min_lr = 6e-5, warmup = 2000, total = 600000}
--   f(0), f(2000); opt = optim.AdamW(params, {lr = f})   -- per step
--   sched:table(10), plot(sched:values(100))
--
-- An attached schedule sets opt.lr when built (to s(0)) and at each
-- sched:step() (per epoch or per step: the caller decides); a schedule given
-- as an optimizer's lr is read before every optimizer step.

local S = {}
S.__index = S
S.__call = function(self, t)
  if math.type(t) ~= "integer" then
    local n = math.tointeger(t)
    if n == nil then error(("%s: the step must be a whole number, got %s"):format(self.name, tostring(t)), 2) end
    t = n
  end
  if t < 0 then error(("%s: the step must be >= 0, got %d"):format(self.name, t), 2) end
  return self.lr_at(self, t)
end
S.__tostring = function(self) return ("%s(%s)"):format(self.name, self.describe and self:describe() or "") end

-- sched:step(): one more step (or epoch); the optimizer gets its new lr.
function S:step()
  self.epoch = self.epoch + 1
  local lr = self(self.epoch)
  if self.opt then self.opt.lr = lr end
  return lr
end
function S:get_lr() return self(self.epoch) end

-- The first n learning rates, s(0) .. s(n-1), for plot().
function S:values(n, from)
  local v = {}
  for t = from or 0, (from or 0) + n - 1 do v[#v + 1] = self(t) end
  return v
end

-- A table of step and learning rate (every `every` steps), printed.
function S:table(n, every)
  every = every or 1
  local fmt = require("nncalc.format").num
  local lines = { ("%s\n%8s  %s"):format(tostring(self), "step", "lr") }
  for t = 0, n - 1, every do lines[#lines + 1] = ("%8d  %s"):format(t, fmt(self(t))) end
  local text = table.concat(lines, "\n")
  io.write(text, "\n")
  return setmetatable({ text = text, _printed = true }, { __tostring = function(x) return x.text end })
end

-- ---- building one ----------------------------------------------------------------

local function is_optimizer(v) return type(v) == "table" and type(v.params) == "table" and v.settings ~= nil end

-- make(name, defaults, lr_at, check): optim.Name(opt, {...}) attached, or
-- optim.Name{lr = ..., ...} on its own.  A default of false is required.
local function maker(name, defaults, lr_at, check, base_optional)
  return function(a, b)
    local opt, o
    if is_optimizer(a) then opt, o = a, b or {} else o = a or {} end
    if type(o) ~= "table" then error(("optim.%s: options must be a table"):format(name), 2) end
    for k in pairs(o) do
      if defaults[k] == nil and not (k == "lr" and not opt) then
        local names = {}
        for n in pairs(defaults) do names[#names + 1] = n end
        table.sort(names)
        error(("optim.%s: unknown option '%s' (%s)"):format(name, tostring(k), table.concat(names, ", ")), 2)
      end
    end
    local s = setmetatable({ name = "optim." .. name, opt = opt, epoch = 0 }, S)
    s.base = opt and opt.lr or o.lr
    if type(s.base) ~= "number" and not base_optional then
      error(("optim.%s: give an optimizer (optim.%s(opt, {...})) or the base rate lr = ..."):format(name, name), 2)
    end
    for k, v in pairs(defaults) do
      s[k] = o[k] == nil and v or o[k]
      if s[k] == false and v == false then error(("optim.%s: %s is required"):format(name, k), 2) end
    end
    s.lr_at = lr_at
    if check then check(s) end
    if opt then opt.lr = s(0) end
    return s
  end
end

local function whole(s, k, min)
  local v = math.tointeger(s[k])
  if v == nil or v < min then error(("%s: %s must be a whole number >= %d, got %s"):format(s.name, k, min, tostring(s[k])), 3) end
  s[k] = v
end

local M = {}

-- ---- PyTorch's schedulers (closed forms of torch.optim.lr_scheduler) ------------

M.StepLR = maker("StepLR", { step_size = false, gamma = 0.1 },
  function(s, e) return s.base * s.gamma ^ (e // s.step_size) end,
  function(s) whole(s, "step_size", 1) end)

M.ExponentialLR = maker("ExponentialLR", { gamma = false }, function(s, e) return s.base * s.gamma ^ e end)

M.CosineAnnealingLR = maker("CosineAnnealingLR", { T_max = false, eta_min = 0.0 }, function(s, e)
  return s.eta_min + (s.base - s.eta_min) * (1 + math.cos(math.pi * e / s.T_max)) / 2
end)

-- LinearLR: the factor goes from start_factor to end_factor over total_iters
M.LinearLR = maker("LinearLR", { start_factor = 1 / 3, end_factor = 1.0, total_iters = 5 }, function(s, e)
  return s.base * (s.start_factor + (s.end_factor - s.start_factor) * math.min(s.total_iters, e) / s.total_iters)
end, function(s)
  whole(s, "total_iters", 1)
  if not (s.start_factor > 0 and s.start_factor <= 1) then error("optim.LinearLR: start_factor must be in (0, 1]", 3) end
end)

-- LambdaLR: lr = base · lr_lambda(t)
M.LambdaLR = maker("LambdaLR", { lr_lambda = false }, function(s, e) return s.base * s.lr_lambda(e) end,
  function(s)
    if type(s.lr_lambda) ~= "function" then error("optim.LambdaLR: lr_lambda must be a function of the step", 3) end
  end)

-- SequentialLR: schedulers[i] from milestone i-1 on, each restarted at 0
M.SequentialLR = maker("SequentialLR", { schedulers = false, milestones = false }, function(s, e)
  local start, k = 0, 1
  for i, m in ipairs(s.milestones) do
    if e >= m then start, k = m, i + 1 end
  end
  return s.schedulers[k](e - start)
end, function(s)
  if type(s.schedulers) ~= "table" or type(s.milestones) ~= "table" or #s.milestones ~= #s.schedulers - 1 then
    error("optim.SequentialLR: schedulers = {a, b, ...} and milestones = {m1, ...}, one fewer milestone than schedulers", 3)
  end
end)

-- OneCycleLR (Smith's 1cycle; the learning rate only, not the momentum):
-- up from max_lr/div_factor to max_lr over pct_start of the steps, then down
-- to initial/final_div_factor, by cosine or linear annealing.
M.OneCycleLR = maker("OneCycleLR", { max_lr = false, total_steps = false, pct_start = 0.3, anneal_strategy = "cos",
  div_factor = 25.0, final_div_factor = 1e4 }, function(s, e)
  local initial = s.max_lr / s.div_factor
  local final = initial / s.final_div_factor
  local up_end, down_end = s.pct_start * s.total_steps - 1, s.total_steps - 1
  local function anneal(a, b, pct)
    if s.anneal_strategy == "linear" then return (b - a) * pct + a end
    return b + (a - b) / 2 * (1 + math.cos(math.pi * pct))
  end
  if e <= up_end then return anneal(initial, s.max_lr, e / up_end) end
  return anneal(s.max_lr, final, math.min(1, (e - up_end) / (down_end - up_end)))
end, function(s)
  whole(s, "total_steps", 2)
  if s.anneal_strategy ~= "cos" and s.anneal_strategy ~= "linear" then
    error('optim.OneCycleLR: anneal_strategy must be "cos" or "linear"', 3)
  end
  s.base = s.max_lr / s.div_factor
end, true)

-- ---- the courses' own forms ----------------------------------------------------------
--
-- Linear warmup then cosine decay to min_lr.  The three warmup formulas in
-- use, for step t (0-based) and W warmup steps:
--   "nanogpt"        lr·(t+1)/(W+1)   (nanoGPT train.py get_lr)
--   "build-nanogpt"  lr·(t+1)/W       (build-nanogpt train_gpt2.py)
--   "cs336"          lr·t/W           (Stanford CS336 assignment 1)
-- then min_lr + ½(1 + cos(π·(t−W)/(total−W)))·(lr − min_lr) up to `total`
-- (CS336's T_c), and min_lr after it.
local warmups = {
  nanogpt = function(t, W) return (t + 1) / (W + 1) end,
  ["build-nanogpt"] = function(t, W) return (t + 1) / W end,
  cs336 = function(t, W) return t / W end,
}
M.warmup_cosine = maker("warmup_cosine", { min_lr = 0.0, warmup = false, total = false, convention = "nanogpt" },
  function(s, t)
    if t < s.warmup then return s.base * warmups[s.convention](t, s.warmup) end
    if t > s.total then return s.min_lr end
    local ratio = (t - s.warmup) / (s.total - s.warmup)
    return s.min_lr + 0.5 * (1 + math.cos(math.pi * ratio)) * (s.base - s.min_lr)
  end, function(s)
    whole(s, "warmup", 0); whole(s, "total", 1)
    if not warmups[s.convention] then error('optim.warmup_cosine: convention must be "nanogpt", "build-nanogpt" or "cs336"', 3) end
    if s.total <= s.warmup then error("optim.warmup_cosine: total must be larger than warmup", 3) end
    s.describe = function(x) local n = require("nncalc.format").num; return ("lr=%s, min_lr=%s, warmup=%d, total=%d, convention=%s"):format(n(x.base), n(x.min_lr),
      x.warmup, x.total, x.convention) end
  end)

-- "Attention is all you need": lrate = d_model^−½ · min(t^−½, t·warmup^−3/2),
-- t counted from 1 (the t-th update), times `scale` (1 in the paper).
M.inverse_sqrt = maker("inverse_sqrt", { d_model = false, warmup = 4000, scale = 1.0 }, function(s, t)
  t = t + 1
  return s.scale * s.d_model ^ -0.5 * math.min(t ^ -0.5, t * s.warmup ^ -1.5)
end, function(s)
  whole(s, "d_model", 1); whole(s, "warmup", 1)
end, true)


-- raw Lua errors in a schedule's methods name them (nncalc/named.lua)
do
  local named = require("nncalc.named")
  for k, f in pairs(S) do
    if type(f) == "function" and k:sub(1, 2) ~= "__" then S[k] = named.wrap("schedule:" .. k, f) end
  end
end

return M
