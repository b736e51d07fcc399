-- train.lua — fit(model, loss_fn, data, opts): small training loops with a
-- progress line per epoch and the loss history.  With opts.seed the
-- shuffling (and so the whole run) repeats exactly.

local M = {}

local function is_tensor(v) return nncalc.is_tensor(v) end

-- fit(model, loss_fn, {X, Y}, {epochs=10, batch_size=N, opt=optimizer,
--     shuffle=true, seed=n, quiet=false, accumulate=1, clip=nil, explain=false})
--     -> history (mean loss per epoch)
--
-- Gradient accumulation (accumulate = k): k micro-batches of batch_size each
-- add their gradients before one optimizer step, every micro-batch's loss
-- weighted by its share of the samples (1/k for equal micro-batches, as
-- nanoGPT scales it), so one step sees the gradient of the mean loss over an
-- effective batch of k·batch_size, in k times less memory for activations.
function M.fit(model, loss_fn, data, o)
  o = o or {}
  local known = { epochs = 1, batch_size = 1, opt = 1, shuffle = 1, seed = 1, quiet = 1, accumulate = 1, clip = 1, explain = 1 }
  for k in pairs(o) do if not known[k] then error(("fit: unknown option '%s'"):format(tostring(k)), 2) end end
  if not (nn.is_module(model) or type(model) == "function") then error("fit: the model must be an nn module", 2) end
  if type(loss_fn) ~= "function" and not nn.is_module(loss_fn) then error("fit: loss_fn must be a loss module or a function", 2) end
  if type(data) ~= "table" then error("fit: data must be {X, Y} with one sample per row", 2) end
  local X, Y = data[1] or data.X, data[2] or data.Y
  if not is_tensor(X) or not is_tensor(Y) then error("fit: data must be {X, Y}: two tensors", 2) end
  if X:dim() == 0 or Y:dim() == 0 then error("fit: X and Y need a first dimension of samples", 2) end
  local n = X:size(1)
  if n == 0 then error("fit: no samples (X has 0 rows)", 2) end
  if Y:size(1) ~= n then
    error(("fit: X has %d samples but Y has %d"):format(n, Y:size(1)), 2)
  end
  local epochs, bs = o.epochs or 10, o.batch_size or n
  epochs = type(epochs) == "number" and math.tointeger(epochs) or epochs   -- 10.0 is 10
  bs = type(bs) == "number" and math.tointeger(bs) or bs
  if math.type(epochs) ~= "integer" or epochs < 1 then error("fit: epochs must be a positive whole number, got " .. tostring(epochs), 2) end
  if math.type(bs) ~= "integer" or bs < 1 then error("fit: batch_size must be a positive whole number, got " .. tostring(bs), 2) end
  local k = o.accumulate == nil and 1 or math.tointeger(o.accumulate)
  if k == nil or k < 1 then error("fit: accumulate must be a positive whole number, got " .. tostring(o.accumulate), 2) end
  if o.clip ~= nil and (type(o.clip) ~= "number" or o.clip <= 0) then error("fit: clip must be a positive max norm, got " .. tostring(o.clip), 2) end
  local opt = o.opt or optim.SGD(model:parameters(), { lr = 0.01 })
  local group = bs * k   -- samples per optimizer step
  if o.explain then
    io.write(("fit: %d samples, batch_size %d x accumulate %d = %d samples per step, %d steps per epoch;\n"):format(
      n, bs, k, group, (n + group - 1) // group))
    io.write("  each micro-batch's loss is weighted by its share of the step's samples (1/" .. k ..
      " when they are equal), so the summed gradient is that of the mean loss over the step's samples\n")
  end
  if o.seed then seed(o.seed) end
  local history = {}
  for epoch = 1, epochs do
    local t0 = os.clock()
    local order = {}
    for i = 1, n do order[i] = i end
    if o.shuffle ~= false then
      for i = n, 2, -1 do
        local j = math.floor(rand(1)[1] * i) + 1
        order[i], order[j] = order[j], order[i]
      end
    end
    local total = 0
    for gstart = 1, n, group do
      local gend = math.min(n, gstart + group - 1)
      opt:zero_grad()
      for start = gstart, gend, bs do
        local idx = {}
        for i = start, math.min(gend, start + bs - 1) do idx[#idx + 1] = order[i] end
        local xb, yb = X:index_select(1, idx), Y:index_select(1, idx)
        local loss = loss_fn(model(xb), yb)
        local lv = is_tensor(loss) and loss:item() or loss
        if lv ~= lv then error(("fit: the loss became NaN in epoch %d (try a smaller learning rate)"):format(epoch), 2) end
        if k > 1 then loss = loss * (#idx / (gend - gstart + 1)) end
        -- adding into .grad is the point here: no accumulation warning
        local later, prev = start > gstart, nil
        if later then prev = warnings().accumulate; warnings{ accumulate = false } end
        local ok, err = pcall(loss.backward, loss)
        if later then warnings{ accumulate = prev } end
        if not ok then error(err, 0) end
        total = total + lv * #idx
      end
      if o.clip then require("nncalc.clip").clip_grad_norm(opt.params, o.clip) end
      opt:step()
    end
    history[epoch] = total / n
    if not o.quiet then
      io.write(("epoch %d/%d  loss %s  (%.3f s)\n"):format(epoch, epochs, require("nncalc.format").num(history[epoch]), os.clock() - t0))
    end
  end
  return history
end

fit = M.fit
return M
