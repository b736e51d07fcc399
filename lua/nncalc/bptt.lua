-- bptt.lua — bptt_norms: why gradients vanish or explode through time.
-- Backprop through time multiplies one Jacobian per step,
--     dh_T/dh_t = J_T · J_{T-1} ··· J_{t+1},    J_k = dh_k/dh_{k-1},
-- so the gradient that reaches step t from the last one scales with the
-- product's norm: it falls (or grows) geometrically when the Jacobians'
-- norms stay below (above) 1.  For a tanh RNN J_k = diag(1 − h_k²)·W_hh.

local function frobenius(m) return math.sqrt((m:detach() ^ 2):sum()) end

local function check_step(who, x)
  if not nncalc.is_tensor(x) or x:dim() ~= 2 then
    error(who .. ": x must be one sequence {T, in} (a tensor of 2 dims)", 3)
  end
end

-- bptt_norms(rnn, x [, h0 [, opts]]) | bptt_norms(f, h0, x [, opts]):
-- f(x_t, h) -> the next state (a hand-written step); opts.quiet = true
-- prints nothing.  Returns a list, for t = T, T-1, ..., 0, of
-- {t =, J = dh_T/dh_t, norm = ||dh_T/dh_t||_F [, cell_norm =]}.  For an
-- LSTM the state is (h, c): J is d(h_T, c_T)/d(h_t, c_t) (2h x 2h) and
-- cell_norm the norm of its dc_T/dc_t block, the cell's own path.
local function bptt_norms(a, b, c, opts)
  local f, h, xs, H, lstm
  if nn.is_module(a) then
    if not a.bptt_step then error("bptt_norms: " .. a.class_name .. " is not an nn.RNN, nn.LSTM or nn.GRU", 2) end
    check_step("bptt_norms", b)
    if b:size(2) ~= a.input_size then
      error(("bptt_norms: x must be {T, %d} for %s, got %s"):format(a.input_size, a:repr(""),
        table.concat(b:shape(), "x")), 2)
    end
    local ok, fn, size = pcall(a.bptt_step, a)
    if not ok then error("bptt_norms: " .. tostring(fn):gsub("^[^:\n]*:%d+: ", ""), 2) end
    f, xs, H, lstm = fn, b, a.hidden_size, a.kind == "LSTM"
    if c ~= nil and (not nncalc.is_tensor(c) or c:numel() ~= size) then
      error(("bptt_norms: the initial state must have %d values (%s)"):format(size, lstm and "h then c" or "h"), 2)
    end
    h = c and c:detach():reshape(size) or zeros(size)
  else
    if type(a) ~= "function" then error("bptt_norms: expected a recurrent module or a step function f(x_t, h)", 2) end
    if not nncalc.is_tensor(b) or b:dim() ~= 1 then error("bptt_norms: h0 must be a vector (a tensor of 1 dim)", 2) end
    check_step("bptt_norms", c)
    f, h, xs = a, b:detach(), c
  end
  opts = opts or {}
  local T, n = xs:size(1), h:numel()
  -- the step Jacobians, forward in time
  local J = {}
  for t = 1, T do
    local x = xs[t]:detach()
    J[t] = jacobian(function(s) return f(x, s) end, h)
    h = no_grad(function() return f(x, h) end):detach()
  end
  local list, P = {}, eye(n)
  for t = T, 0, -1 do
    local e = { t = t, J = P, norm = frobenius(P) }
    if lstm then e.cell_norm = frobenius(P:narrow(1, H + 1, H):narrow(2, H + 1, H)) end
    list[#list + 1] = e
    if t > 0 then P = P * J[t] end
  end
  if not opts.quiet then
    io.write(("backprop through time: ||d%s_%d/d%s_t|| (Frobenius), each the product of the step Jacobians after t\n")
      :format(lstm and "(h,c)" or "h", T, lstm and "(h,c)" or "h"))
    for i, e in ipairs(list) do
      local ratio = i > 1 and list[i - 1].norm > 0 and ("   x%.4g"):format(e.norm / list[i - 1].norm) or ""
      io.write(("  t = %-3d %12.6g%s%s\n"):format(e.t, e.norm,
        e.cell_norm and ("   dc/dc %.6g"):format(e.cell_norm) or "", ratio))
    end
  end
  return list
end

return { bptt_norms = bptt_norms }
