-- curvature.lua — what the second derivative says about a loss: the
-- eigenvalues of its Hessian (eigh), the largest stable gradient-descent
-- step 2/λ_max, convexity, Newton's step -H⁻¹g with its trace, and the
-- Gauss-Newton matrix 2JᵀJ beside the Hessian.

local is_tensor = nncalc.is_tensor
local fmt = require("nncalc.format")
local d = require("nncalc.derivatives")

local function show(t)
  if type(t) == "number" then return fmt.num(t) end
  return fmt.inline(t) or ("\n" .. tostring(t))
end

-- eigenvalues within rounding of 0 (1e-12 of the largest) print as 0:
-- their digits are noise that differs between machines
local function list(w)
  local v, scale = {}, 0
  for i = 1, w:numel() do scale = math.max(scale, math.abs(w[i])) end
  for i = 1, w:numel() do
    v[i] = math.abs(w[i]) <= 1e-12 * scale and "0 (to rounding)" or fmt.num(w[i])
  end
  return table.concat(v, ", ")
end

local function as_matrix(who, H)
  if not is_tensor(H) or H:dim() ~= 2 or H:size(1) ~= H:size(2) then
    error(who .. ": a square Hessian matrix expected (or f and x)", 3)
  end
  return H:detach()
end

-- curvature(H [, {explain=true}]) or curvature(f, x [, {explain=true}]):
-- the eigenvalues of the (symmetric) Hessian, ascending, and what they
-- mean for gradient descent on the quadratic model ½ dᵀH d around x.
-- Returns a table: H, eigenvalues, eigenvectors (columns), lambda_min,
-- lambda_max, lr_max = 2/λ_max (nil without positive curvature), lr_best =
-- 2/(λ_min + λ_max) (the fastest rate, when H is positive definite),
-- convex (H positive semidefinite) and strictly_convex.
function curvature(f, x, o)
  local H
  if type(f) == "function" then
    if not is_tensor(x) then error("curvature: x must be a tensor", 2) end
    H = d.hessian(f, x)
    if x:numel() ~= H:size(1) or H:dim() ~= 2 then H = H:reshape(x:numel(), x:numel()) end
  else
    o = x
    H = as_matrix("curvature", f)
  end
  o = o or {}
  if type(o) ~= "table" then error("curvature: the options must be a table {explain=true}", 2) end
  local w, V = eigh(H)
  local n = w:numel()
  local r = { H = H, eigenvalues = w, eigenvectors = V }
  if n == 0 then return r end
  local scale = math.max(math.abs(w[1]), math.abs(w[n]))
  local tiny = 1e-12 * (scale > 0 and scale or 1)   -- rounding, not curvature
  r.lambda_min, r.lambda_max = w[1], w[n]
  r.convex = w[1] >= -tiny
  r.strictly_convex = w[1] > tiny
  if w[n] > tiny then r.lr_max = 2 / w[n] end
  if r.strictly_convex then r.lr_best = 2 / (w[1] + w[n]) end
  if o.explain then
    local out = {}
    out[#out + 1] = "H = " .. show(H)
    out[#out + 1] = "eigenvalues of H (eigh, ascending): " .. list(w)
    if r.lr_max and r.convex then
      out[#out + 1] = ("λ_max = %s: gradient descent x ← x − η∇f on the quadratic converges iff 0 < η < 2/λ_max = %s")
        :format(fmt.num(w[n]), fmt.num(r.lr_max))
    elseif r.lr_max then
      out[#out + 1] = ("λ_max = %s: along the directions of positive curvature gradient descent needs η < 2/λ_max = %s;"
        .. " along a negative eigenvalue it moves away for every η > 0"):format(fmt.num(w[n]), fmt.num(r.lr_max))
    end
    if r.lr_max then
      out[#out + 1] = "  (each step multiplies the error along the eigenvector of λ by (1 − ηλ); |1 − ηλ_max| < 1 ⇔ η < 2/λ_max)"
      if r.lr_best then
        out[#out + 1] = ("  the fastest rate is at η = 2/(λ_min + λ_max) = %s (error factor (λ_max − λ_min)/(λ_max + λ_min) = %s per step)")
          :format(fmt.num(r.lr_best), fmt.num((w[n] - w[1]) / (w[n] + w[1])))
      end
    else
      out[#out + 1] = "no positive eigenvalue: no step size bound (gradient descent does not converge to a minimum here)"
    end
    if r.strictly_convex then
      out[#out + 1] = "H is positive definite: f is strictly convex here (a unique minimum of the quadratic model)"
    elseif r.convex then
      out[#out + 1] = "H is positive semidefinite (λ_min ≈ 0): convex, flat along the eigenvector of λ_min"
    else
      out[#out + 1] = ("H has a negative eigenvalue (λ_min = %s): not convex here (a saddle or a maximum)"):format(fmt.num(w[1]))
    end
    io.write(table.concat(out, "\n"), "\n")
  end
  return r
end

-- newton_step(f, x [, {trace=true, damping=0}]): x_new = x − (H + damping·I)⁻¹ g
-- with g = ∇f(x) and H = ∇²f(x) by autograd.  Returns x_new (shaped like
-- x) and a table {f, g, H, step, f_new}.  On a quadratic with H positive
-- definite, one step lands on the minimum.
function newton_step(f, x, o)
  if type(f) ~= "function" then error("newton_step: f must be a function of x", 2) end
  if not is_tensor(x) then error("newton_step: x must be a tensor", 2) end
  o = o or {}
  if type(o) ~= "table" then error("newton_step: the options must be a table {trace=true, damping=0}", 2) end
  for k in pairs(o) do
    if k ~= "trace" and k ~= "damping" then
      error(("newton_step: unknown option '%s' (trace, damping)"):format(tostring(k)), 2)
    end
  end
  local damping = o.damping or 0
  if type(damping) ~= "number" or damping < 0 then error("newton_step: damping must be a number >= 0", 2) end
  local n = x:numel()
  local x0 = x:detach():clone()
  local g = d.grad(f, x0):reshape(n)
  local H = d.hessian(f, x0):reshape(n, n)
  local A = damping > 0 and (H + damping * eye(n)) or H
  local ok, sol = pcall(solve, A, g)
  if not ok then
    error("newton_step: the Hessian is singular here, so -H⁻¹g does not exist; try {damping = λ} (H + λI)", 2)
  end
  local step = -sol
  local x_new = (x0:reshape(n) + step):reshape(table.unpack(x:shape()))
  local fx = f(x0:clone())
  local f_new = f(x_new:clone())
  fx = type(fx) == "number" and fx or fx:item()
  f_new = type(f_new) == "number" and f_new or f_new:item()
  if o.trace then
    local lines = {
      "Newton step at x = " .. show(x0),
      "  f(x) = " .. fmt.num(fx),
      "  g = ∇f(x) = " .. show(g),
      "  H = ∇²f(x) = " .. show(H),
    }
    if damping > 0 then lines[#lines + 1] = ("  damped: H + %s·I = %s"):format(fmt.num(damping), show(A)) end
    lines[#lines + 1] = ("  step = −%s⁻¹ g = %s   (solve(H, g), not the inverse)"):format(damping > 0 and "(H + λI)" or "H", show(step))
    lines[#lines + 1] = "  x_new = x + step = " .. show(x_new)
    lines[#lines + 1] = "  f(x_new) = " .. fmt.num(f_new)
    local w = eigh(A)
    if w[1] <= 0 then
      lines[#lines + 1] = ("  note: %s has eigenvalue %s ≤ 0, so this step is not a descent direction guarantee (a saddle or maximum of the model)")
        :format(damping > 0 and "H + λI" or "H", fmt.num(w[1]))
    end
    io.write(table.concat(lines, "\n"), "\n")
  end
  return x_new, { f = fx, g = g, H = H, step = step, f_new = f_new }
end

-- gauss_newton(r, x [, {explain=true}]): for L(x) = Σ rᵢ(x)² (the sum of
-- squared residuals; divide by n for a mean), the Gauss-Newton matrix
-- G = 2 JᵀJ with J = dr/dx, beside the true Hessian
-- H = 2 JᵀJ + 2 Σ rᵢ ∇²rᵢ.  G is positive semidefinite always and equals H
-- when the residuals are linear in x (or vanish at x).  Returns G and a
-- table {J, H, r, rest = H − G}.
function gauss_newton(r, x, o)
  if type(r) ~= "function" then error("gauss_newton: r must be a function of x returning the residuals", 2) end
  if not is_tensor(x) then error("gauss_newton: x must be a tensor", 2) end
  o = o or {}
  if type(o) ~= "table" then error("gauss_newton: the options must be a table {explain=true}", 2) end
  local n = x:numel()
  -- r sees a leaf, as in jacobian and hessian (x[1] is then a 0-d tensor)
  local res = r(x:detach():clone():requires_grad())
  if not is_tensor(res) then error("gauss_newton: r must return a tensor of residuals", 2) end
  res = res:detach():reshape(res:numel())
  local J = d.jacobian(function(t) return r(t):reshape(res:numel()) end, x:reshape(n))
  local G = 2 * (J:t() * J)
  local H = d.hessian(function(t) return (r(t) ^ 2):sum() end, x:reshape(n))
  local info = { J = J, H = H, r = res, rest = H - G }
  if o.explain then
    io.write(table.concat({
      "L(x) = Σ rᵢ(x)² (the sum; a mean divides everything by n), r(x) = " .. show(res),
      "J = dr/dx = " .. show(J),
      "Gauss-Newton G = 2 JᵀJ = " .. show(G),
      "Hessian H = 2 JᵀJ + 2 Σ rᵢ ∇²rᵢ = " .. show(H),
      "H − G = 2 Σ rᵢ ∇²rᵢ = " .. show(info.rest) .. "   (0 when r is linear in x or r = 0)",
    }, "\n"), "\n")
  end
  return G, info
end

return { curvature = curvature, newton_step = newton_step, gauss_newton = gauss_newton }
