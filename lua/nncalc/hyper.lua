-- hyper.lua — hyper-parameter search arithmetic: how many runs a grid
-- search costs, and how many random trials make success likely.
local M = {}

-- the integer v is (10.0 and 2^3 are whole numbers; 2.5 is refused)
local function whole(fname, what, v)
  local n = type(v) == "number" and math.tointeger(v)
  if not n or n < 1 then
    error(("%s: %s must be a positive whole number, got %s"):format(fname, what, tostring(v)), 3)
  end
  return n
end

-- grid_search{values_per_hyperparameter, ..., epochs=, minutes_per_epoch=}
-- e.g. grid_search{10, 6, 5, epochs=10, minutes_per_epoch=2}
function M.grid_search(o)
  if type(o) ~= "table" or #o == 0 then
    error("grid_search: give the number of values of each hyper-parameter, e.g. grid_search{10, 6, 5, epochs=10, minutes_per_epoch=2}", 2)
  end
  for k in pairs(o) do
    if not (math.type(k) == "integer" and k >= 1 and k <= #o) and k ~= "epochs" and k ~= "minutes_per_epoch" then
      error(("grid_search: unknown setting '%s' (the counts, then epochs= and minutes_per_epoch=)"):format(tostring(k)), 2)
    end
  end
  if o.minutes_per_epoch and not o.epochs then
    error("grid_search: minutes_per_epoch needs epochs= (the epochs of one run)", 2)
  end
  local runs, parts = 1, {}
  for i, v in ipairs(o) do
    v = whole("grid_search", "entry " .. i, v)
    runs = runs * v
    parts[i] = tostring(v)
  end
  local r = { runs = runs, formula = "runs = " .. table.concat(parts, " × ") .. " = " .. runs }
  if o.epochs then
    local epochs = whole("grid_search", "epochs", o.epochs)
    r.epochs = runs * epochs
    r.formula = r.formula .. ("\nepochs = %d × %d = %d"):format(runs, epochs, r.epochs)
    if o.minutes_per_epoch then
      r.minutes = r.epochs * o.minutes_per_epoch
      r.formula = r.formula .. ("\ntime = %d × %g min = %g min (%.4g h)"):format(r.epochs, o.minutes_per_epoch, r.minutes, r.minutes / 60)
    end
  end
  return setmetatable(r, { __tostring = function(t) return t.formula end })
end

-- random_trials(p, confidence): the fewest N with 1 − (1 − p)^N ≥ confidence,
-- when each trial independently succeeds with probability p.
function M.random_trials(p, confidence)
  if type(p) ~= "number" or p <= 0 or p >= 1 then error("random_trials: p must be a probability in (0, 1)", 2) end
  if type(confidence) ~= "number" or confidence <= 0 or confidence >= 1 then
    error("random_trials: confidence must be in (0, 1), e.g. 0.95", 2)
  end
  local exact = math.log(1 - confidence) / math.log(1 - p)
  local n = math.ceil(exact - 1e-12)
  local r = { n = n, exact = exact, formula = ("N ≥ ln(1 − %g) / ln(1 − %g) = %.4f  →  N = %d"):format(confidence, p, exact, n) }
  return n, setmetatable(r, { __tostring = function(t) return t.formula end })
end

grid_search = M.grid_search
random_trials = M.random_trials
return M
