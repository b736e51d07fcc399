-- help.lua — help(), ?name and apropos(), over the entries of help_text.lua.

-- the help text itself is loaded the first time it is needed
local H, entries
local function load_text()
  if not H then
    H = require("nncalc.help_text")
    entries = H.entries
  end
end

-- The name under which a function is documented: found by identity among
-- the globals, the nncalc table and the Tensor methods.
local function name_of(fn)
  load_text()
  for _, t in ipairs({ _G, nncalc, nncalc.Tensor }) do
    for k, v in pairs(t) do
      if v == fn and entries[k] then return k end
    end
  end
  if optim then
    for k, v in pairs(optim) do
      if v == fn and entries["optim." .. k] then return "optim." .. k end
    end
    if type(fn) == "table" and getmetatable(fn) and getmetatable(fn).__index and optim[rawget(fn, "name") or ""] then
      return "optim.Optimizer"
    end
  end
  if models then   -- help(models.gpt2): its own entry, else the models one
    for k, v in pairs(models) do
      if v == fn then return entries["models." .. k] and "models." .. k or "models" end
    end
  end
  if nn then   -- a module class, or a module: its class
    local class = nn.is_module(fn) and getmetatable(fn) or fn
    for k, v in pairs(nn) do
      if v == class and entries["nn." .. k] then return "nn." .. k end
    end
    if nn.is_module(fn) then return "nn.Module" end
  end
end

-- "x:sum", "Tensor.sum", "nncalc.sum" and "sum" all mean sum; a name with
-- an entry of its own ("nn.Linear", "models.gpt2") stays as it is.
local function normalize(name)
  if entries[name] or name:match("^nn%.[%w_]+$") or name:match("^optim%.[%w_]+$") then return name end
  return name:match("[%.:]([%w_]+)$") or name
end

-- The module methods are documented together: net:out_shape, ?parameters
-- read nn.Module's entry, the contract a layer defines (cost, window ...)
-- nn.class's; models.vgg16 and nn.init.xavier_uniform their family's.
local contract = { init = true, compute = true, cost = true, window = true, analyse = true,
  param = true, extra_repr = true, input_channels = true, input_region = true }
local function family(what, name)
  if entries[name] then return name end
  local head = what:match("^(models)%.") or what:match("^(nn%.init)%.")
  if head then return head end
  if contract[name] then return "nn.class" end
  if nn and type(rawget(nn.Module, name)) == "function" then return "nn.Module" end
  return name
end

-- columns, not bytes: σ and · are one column each
local function cols(s) return utf8.len(s) or #s end

-- The text as the terminal will show it (ASCII where it must be) is what
-- gets measured, so transliteration cannot push lines past the width.
local function wrap(text, width, indent)
  local lines, line = {}, indent
  text = require("nncalc.term").text(text)
  for word in text:gmatch("%S+") do
    if cols(line) + cols(word) + 1 > width and #line > #indent then
      lines[#lines + 1] = line
      line = indent
    end
    line = line .. (#line > #indent and " " or "") .. word
  end
  lines[#lines + 1] = line
  return table.concat(lines, "\n")
end

-- 76 columns, or the terminal's width when narrower
local function text_width()
  local cols = require("nncalc.term").size()
  return cols and math.max(40, math.min(76, cols - 2)) or 76
end

local function show_entry(name, e)
  local out = { name .. "  —  " .. e.usage, wrap(e.text, text_width(), "  "), "  example:  " .. e.example }
  io.write(table.concat(out, "\n"), "\n")
end

local function list_topics()
  load_text()
  io.write("nncalc help.  help \"name\" (or ?name) explains one function; apropos \"word\" searches.\n\n")
  for _, t in ipairs(H.topics) do
    local names = {}
    for k, e in pairs(entries) do
      -- a field of the nncalc table (is_tensor, globals) is not a global:
      -- listed as its usage spells it
      if e.topic == t[1] then names[#names + 1] = e.usage:find("^nncalc%." .. k .. "%f[^%w_]") and ("nncalc." .. k) or k end
    end
    table.sort(names)
    io.write(("%-12s %s\n"):format(t[1], t[2]))
    io.write(wrap(table.concat(names, " "), text_width(), "             "), "\n")
  end
  io.write("\n", H.conventions, "\n")
end

-- ---- help on a value: ?x, x?, help(x) for a tensor ------------------------------

local function describe_tensor(label, x)
  local shape = table.concat(x:shape(), "x")
  local out = { ("%s: a tensor of shape %s (%d value%s), float64"):format(label,
    shape == "" and "scalar (0-d)" or shape, x:numel(), x:numel() == 1 and "" or "s") }
  local node = x:grad_fn()
  if node then
    out[#out + 1] = ("  computed in a gradient graph by node %s (requires grad); after backward its .grad is kept only with :retain_grad()"):format(node)
  elseif nncalc._wants_grad(x) then
    out[#out + 1] = ("  a leaf that requires grad%s; %s"):format(x:name() and (" named " .. x:name()) or "",
      x.grad and ("its .grad has shape " .. table.concat(x.grad:shape(), "x")) or "no .grad yet (call backward on a result)")
  else
    out[#out + 1] = "  a constant: no gradient is tracked (x:requires_grad() to track one)"
  end
  if x:numel() <= 24 then out[#out + 1] = tostring(x) end
  out[#out + 1] = "  fields x.shape, x.T, x.grad; methods x:sum(), x:t(), x:reshape(...) ... (help \"inspect\", help \"views\" list them)"
  io.write(table.concat(out, "\n"), "\n")
end

-- "W1", "net.1.weight", "W1.grad": the value of a name path among the
-- user's globals, or nil
local function value_of(path)
  if not path:match("^[%a_][%w_]*[%w_.%[%]]*$") then return nil end
  local v = rawget(_G, path:match("^[%a_][%w_]*"))
  for key in path:gmatch("[.%[]([%w_]+)%]?") do
    if type(v) ~= "table" and not nncalc.is_tensor(v) then return nil end
    local ok, nv = pcall(function() return v[tonumber(key) or key] end)
    if not ok then return nil end
    v = nv
  end
  return v
end

-- Long help at a terminal goes through a pager ($PAGER, else less -R);
-- never when output or input is not a terminal.
local function page(text)
  local term = require("nncalc.term")
  local _, rows = term.size()
  local n = select(2, text:gsub("\n", ""))
  if rows and n >= rows - 1 and nncalc.stdin_tty and nncalc.stdin_tty() then
    local pager = os.getenv("PAGER")
    if pager == nil or pager == "" then pager = "less -R" end
    io.stdout:flush()
    local p = io.popen(pager, "w")
    if p then
      p:write(term.text(text))
      if p:close() ~= nil then return end
    end
  end
  io.write(text)
end

-- help's output, collected so that it can go through the pager
local function paged(fn, ...)
  local buf, write = {}, io.write
  io.write = function(...)
    for i = 1, select("#", ...) do buf[#buf + 1] = tostring((select(i, ...))) end
    return io.stdout
  end
  local ok, err = pcall(fn, ...)
  io.write = write
  if #buf > 0 then page(table.concat(buf)) end
  if not ok then error(err, 0) end
end

local show_help

function help(...)
  local args = table.pack(...)
  -- errors keep the caller's position: raised here, not inside paged()
  if args.n > 0 and args[1] == nil then
    error("help: the argument is nil (a name that is not defined?); ask by name, "
      .. "help \"receptive_field\", or search with apropos \"receptive\"", 2)
  end
  local ok, err = pcall(paged, show_help, table.unpack(args, 1, args.n))
  if not ok then error(err, 2) end
end

function show_help(...)
  load_text()
  if select("#", ...) == 0 then return list_topics() end
  local what = ...
  -- help(receptive) with no such global arrives as help(nil): say so rather
  -- than list the topics as if nothing had been asked
  if what == nil then
    error("help: the argument is nil (a name that is not defined?); ask by name, "
      .. "help \"receptive_field\", or search with apropos \"receptive\"", 2)
  end
  if nncalc.is_tensor(what) then
    local label = "this tensor"
    for k, v in pairs(_G) do if rawequal(v, what) and type(k) == "string" then label = k end end
    return describe_tensor(label, what)
  end
  local name = (type(what) == "function" or type(what) == "table") and name_of(what) or nil
  local value = type(what) == "string" and value_of(what)
  if nncalc.is_tensor(value) then return describe_tensor(what, value) end
  if type(what) == "string" and nn.is_module(value) and not entries[what] then
    io.write(what, ": ", tostring(value), "\n")
    name = name_of(value)
  elseif type(what) == "string" then
    name = family(what, normalize(what))
    for _, t in ipairs(H.topics) do
      if t[1] == what then   -- a topic: list its entries
        local names = {}
        for k, e in pairs(entries) do if e.topic == what then names[#names + 1] = k end end
        table.sort(names)
        for _, k in ipairs(names) do show_entry(k, entries[k]) end
        return
      end
    end
  end
  local e = name and entries[name]
  if not e then
    error(("help: no help for %s (try help() for the topics, or apropos \"%s\")")
      :format(type(what) == "string" and ("'" .. what .. "'") or tostring(what),
        type(what) == "string" and what or "word"), 0)
  end
  show_entry(name, e)
end

function apropos(word)
  if type(word) ~= "string" then error("apropos: a word to search for expected", 2) end
  load_text()
  local found, w = {}, word:lower()
  for k, e in pairs(entries) do
    local hay = (k .. " " .. e.usage .. " " .. e.text):lower()
    if hay:find(w, 1, true) then found[#found + 1] = k end
  end
  table.sort(found)
  if #found == 0 then io.write("nothing mentions '", word, "'\n") return end
  for _, k in ipairs(found) do io.write(("%-14s %s\n"):format(k, entries[k].usage)) end
end

-- exit([code]): closes the state properly (Lua's os.exit would not).
function exit(code)
  os.exit(code == nil and true or code, true)
end

return setmetatable({ name_of = name_of }, { __index = function(_, k)
  if k == "entries" then load_text(); return entries end
end })
