-- nncalc/named.lua — errors that name the public function they came from.
--
-- An argument check in nncalc's own Lua code says "summary: ..." itself.
-- What it does not foresee fails as a raw Lua error at a line inside
-- nncalc ("bad argument #1 to 'for iterator' (table expected, got
-- number)", "attempt to index a nil value"): the user sees neither which
-- of their calls failed nor which function they called.  named.wrap(name,
-- f) is f, except that such an error leaves it as "name: <the error>",
-- raised at the caller's line.  Errors already naming a function, and
-- errors raised by the user's own code (a callback given to gradcheck ...),
-- pass through as they were.

local M = {}

-- "…/nncalc/nn/Loss.lua" or "?" (stripped bytecode): a position in nncalc
local function in_nncalc(file)
  return file == "?" or file:find("nncalc/[%w_/]*%.lua$") ~= nil
end

-- the message as the user should read it, or nil to leave it alone
function M.rename(name, err)
  if type(err) ~= "string" then return nil end
  local file, rest = err:match("^(.-):%-?%d+: (.*)$")
  -- no position: raised by a C function nncalc's code called
  if not file then rest = err elseif not in_nncalc(file) then return nil end
  -- already named: "summary: ...", "Conv2d(...) ...", "layer 2 (...)" (for
  -- "Conv2d:out_shape", the class is name enough); another function's
  -- message ("zeros: size ... over the limit") says which call it was in
  local base = name:match("^(.-):") or name
  if rest:sub(1, #base) == base or rest:find("^layer ") then return rest end
  return name .. ": " .. rest
end

-- opts as given ({} for nil), or an error naming fname when it is not an
-- options table (raised here: a wrapper moves it to the user's line)
function M.options(fname, opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" or nncalc.is_tensor(opts) or getmetatable(opts) ~= nil then
    local what = nncalc.is_tensor(opts) and "tensor" or type(opts)
    if type(opts) == "table" and getmetatable(opts) ~= nil then what = "table with a metatable (a module?)" end
    error(("%s: the options must be a table like {name = value}, got a %s"):format(fname, what))
  end
  return opts
end

local function rethrow(name, ok, ...)
  if ok then return ... end
  local msg = M.rename(name, (...))
  if msg == nil then error((...), 0) end
  error(msg, 2)   -- the wrapper's caller (the wrapper tail-called this function)
end

local wrappers = setmetatable({}, { __mode = "k" })

function M.wrap(name, f)
  if wrappers[f] then return f end
  local w = function(...) return rethrow(name, pcall(f, ...)) end
  wrappers[w] = true
  return w
end

return M
