-- term.lua — what the terminal can show.  nncalc writes ·, ᵀ, ⌊⌋, ←, ✓ in
-- its traces, formulas and reports; where the locale is not UTF-8 those
-- would arrive as mojibake, so everything it prints (io.write and print,
-- the REPL's values, error reports) is transliterated to ASCII there.
-- nncalc.ascii = true or false overrides the locale.

local M = {}

local function locale_is_utf8()
  local loc = os.getenv("LC_ALL") or os.getenv("LC_CTYPE") or os.getenv("LANG") or ""
  return loc:lower():find("utf%-?8") ~= nil
end
local utf8_locale = locale_is_utf8()

function M.unicode()
  if nncalc.ascii ~= nil then return not nncalc.ascii end
  return utf8_locale
end

-- Superscript sequences go first, then one character at a time (a
-- combining hat after its letter: m̂ -> m_hat); anything unmapped is '?'.
local sequences = { { "⁻ᵀ", "^-T" }, { "⁻¹", "^-1" } }
local chars = {
  ["←"] = "<-", ["→"] = "->", ["−"] = "-", ["·"] = "*", ["×"] = "x", ["²"] = "^2", ["³"] = "^3",
  ["√"] = "sqrt ", ["⌊"] = "floor(", ["⌋"] = ")", ["⌈"] = "ceil(", ["⌉"] = ")", ["≥"] = ">=", ["≤"] = "<=",
  ["≠"] = "~=", ["≈"] = "~", ["ᵀ"] = "^T", ["σ"] = "sigma", ["Σ"] = "sum", ["μ"] = "mu", ["α"] = "alpha",
  ["β"] = "beta", ["γ"] = "gamma", ["δ"] = "delta", ["η"] = "eta", ["λ"] = "lambda", ["θ"] = "theta",
  ["φ"] = "phi", ["ε"] = "eps", ["τ"] = "tau", ["∂"] = "d", ["ŷ"] = "yhat", ["⋆"] = "*", ["⊙"] = "*",
  ["…"] = "...", ["—"] = "--", ["–"] = "-", ["’"] = "'", ["‘"] = "'", ["“"] = '"', ["”"] = '"',
  ["✓"] = "ok", ["✗"] = "FAIL", ["❓"] = "?", ["⏎"] = "", ["═"] = "=", ["│"] = "|", ["─"] = "-",
  ["└"] = "+", ["├"] = "+", ["┌"] = "+", ["┐"] = "+", ["┘"] = "+", ["┬"] = "+", ["┴"] = "+", ["┼"] = "+",
  ["°"] = "deg", ["±"] = "+-", ["∞"] = "inf", ["∈"] = "in",
  ["∇"] = "grad_", ["π"] = "pi", ["¹"] = "^1", ["⁻"] = "^-", ["\u{302}"] = "_hat",
}
function M.to_ascii(s)
  if not s:find("[\x80-\xFF]") then return s end
  for _, p in ipairs(sequences) do s = s:gsub(p[1], p[2]) end
  return (s:gsub("[\xC2-\xF4][\x80-\xBF]*", function(c) return chars[c] or "?" end))
end

-- columns, rows of the terminal on stdout; nil off a terminal (or from
-- stock Lua), where widths stay fixed and nothing pages
function M.size()
  if nncalc._term_size then return nncalc._term_size() end
end

-- The help names starting with stem, sorted (Tab after ?conv_ in the REPL,
-- complete.c; nncalc's own function, so completion runs no user code).
function nncalc._help_names(stem)
  local out = {}
  for name in pairs(require("nncalc.help_text").entries) do
    if name:sub(1, #stem) == stem then out[#out + 1] = name end
  end
  table.sort(out)
  return out
end

-- s as this terminal should see it
function M.text(s)
  if M.unicode() then return s end
  return M.to_ascii(s)
end

-- Every write to standard output goes through here; machine formats
-- (TAP, JSON) write to io.stdout directly and are left as they are.
local raw_write = io.write
function io.write(...)
  if M.unicode() then return raw_write(...) end
  local parts = table.pack(...)
  for i = 1, parts.n do
    if type(parts[i]) == "string" then parts[i] = M.to_ascii(parts[i]) end
  end
  return raw_write(table.unpack(parts, 1, parts.n))
end

-- error reports, from C (run.c) just before they are printed, with a hint
-- after the common ones (hints.lua)
nncalc._error_text = function(msg)
  local ok, with_hint = pcall(function() return require("nncalc.hints").add(msg) end)
  return M.text(ok and with_hint or msg)
end

return M
