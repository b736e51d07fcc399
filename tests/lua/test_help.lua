-- Every public name has help, and every help example runs.

local entries = require("nncalc.help").entries
local internal = { complete = true, display = true, debug = true, raw_print = true, Tensor = true,
  interactive = true, stdin_tty = true, warn = true, globals = false }

test("every public function and method has help", function()
  local missing = {}
  for k, v in pairs(nncalc) do
    if type(v) == "function" and not internal[k] and k:sub(1, 1) ~= "_" and not entries[k] then
      missing[#missing + 1] = k
    end
  end
  for k, v in pairs(Tensor) do
    if type(v) == "function" and k:sub(1, 1) ~= "_" and not entries[k] then missing[#missing + 1] = "Tensor." .. k end
  end
  -- every global the prelude writes (exports.lua) has an entry
  for _, k in ipairs(require("nncalc.exports").names(nncalc)) do
    if not entries[k] and k ~= "nncalc" and k ~= "Tensor" then missing[#missing + 1] = k end
  end
  for k, v in pairs(nn) do
    if type(v) == "table" and v.class_name and not entries["nn." .. k] then missing[#missing + 1] = "nn." .. k end
  end
  for k, v in pairs(optim) do
    if (type(v) == "table" or type(v) == "function") and not entries["optim." .. k] then missing[#missing + 1] = "optim." .. k end
  end
  table.sort(missing)
  eq(table.concat(missing, " "), "", "names without help")
end)

test("every help example runs", function()
  local saved = format()
  for name, e in pairs(entries) do
    if name ~= "exit" and name ~= "debug_mode" then
      -- as the REPL would: an expression, statements, or statements
      -- ending in an expression
      local chunk, err = load("return " .. e.example, "=example of " .. name)
      if not chunk then chunk, err = load(e.example, "=example of " .. name) end
      if not chunk then
        chunk, err = load((e.example:gsub(";%s*([^;]+)$", "; return %1")), "=example of " .. name)
      end
      if not chunk then error(err) end
      local ok, msg = pcall(capture, chunk)
      if not ok then error(("example of %s fails: %s"):format(name, msg)) end
    end
  end
  format{}
  format(saved)
  seed(0)
end)

test("help finds names by function, method and string", function()
  local s = capture(function() help(sum) end)
  eq(s:find("x:sum() | x:sum(d", 1, true) ~= nil, true)
  eq(capture(function() help("x:softmax") end):find("softmax", 1, true), 1)
  eq(capture(function() help("Tensor.t") end):find("transpose of a matrix", 1, true) ~= nil, true)
  eq(capture(function() help() end):find("reductions", 1, true) ~= nil, true)
  eq(capture(function() apropos("pseudo") end), "pinv           pinv(A [, rcond])\n")
  expect_error(function() help("nosuchthing") end, "help: no help for 'nosuchthing'")
end)

test("help of an undefined name says so instead of listing the topics", function()
  expect_error(function() help(nil) end, "help: the argument is nil (a name that is not defined?)",
    "apropos")
  expect_error(function() help("no_such_function") end, "help: no help for 'no_such_function'")
end)

test("Tab completion: members of names, nothing after an expression it cannot read", function()
  eq(table.concat(nncalc.complete("nncalc.Ten"), " "), "nncalc.Tensor")
  -- `net[1].cm`: readline hands over ".cm"; the globals (cmul ...) would be wrong
  eq(#nncalc.complete(".cm"), 0)
  eq(#nncalc.complete(":su"), 0)
end)

test("names sharing an entry see it in their own words", function()
  local s = capture(function() help("mean") end)
  eq(s:find("mean  —  x:mean() | x:mean(d", 1, true) ~= nil, true, s)
  eq(s:find("example:  tensor{{1,2},{3,4}}:mean(1)", 1, true) ~= nil, true, s)
  eq(capture(function() help("min") end):find("x:min() | x:min(d) | min(a, b)", 1, true) ~= nil, true)
end)

test("dotted names reach their entries: models.*, nn.init.*, module methods, nncalc fields", function()
  local function first_line(what) return (capture(function() help(what) end):match("^[^\n]*")) end
  -- an entry of its own (models.gpt2, nn.causal_mask) by name and by value
  eq(first_line("models.gpt2"):find("^models%.gpt2  ") ~= nil, true, first_line("models.gpt2"))
  eq(first_line("models.bert"):find("^models%.bert  ") ~= nil, true, first_line("models.bert"))
  eq(first_line(models.gpt2):find("^models%.gpt2  ") ~= nil, true, "help(models.gpt2)")
  eq(first_line("models.param_counts"):find("^models%.param_counts  ") ~= nil, true)
  eq(first_line("nn.causal_mask"):find("^nn%.causal_mask  ") ~= nil, true)
  -- the family's entry otherwise
  for _, n in ipairs({ "models.inception", "models.vgg16", "models.resnet50" }) do
    eq(first_line(n):find("^models  ") ~= nil, true, n)
  end
  eq(first_line(models.alexnet):find("^models  ") ~= nil, true, "help(models.alexnet)")
  eq(first_line("nn.init.xavier_uniform"):find("^nn%.init  ") ~= nil, true)
  -- what every module does, and what a layer defines
  for _, n in ipairs({ "parameters", "named_parameters", "forward", "eval", "net:train" }) do
    eq(first_line(n):find("^nn%.Module  ") ~= nil, true, n)
  end
  for _, n in ipairs({ "cost", "window", "analyse", "C:extra_repr" }) do
    eq(first_line(n):find("^nn%.class  ") ~= nil, true, n)
  end
  -- a name of the tensor API still wins over a module method of the same name
  eq(first_line("zero_grad"):find("^zero_grad  ") ~= nil, true)
  expect_error(function() help("no_such_name_here") end, "no help for 'no_such_name_here'")
  -- help() lists nncalc.is_tensor under its real name: it is not a global
  local list = capture(function() help() end)
  eq(list:find("nncalc.is_tensor", 1, true) ~= nil, true, "nncalc.is_tensor listed")
  eq(list:find("%f[%w_.]is_tensor") == nil, true, "no bare is_tensor")
end)

test("help(): fields of the nncalc table are not listed as globals; out_shape has an entry", function()
  local all = capture(function() help() end)
  eq(all:find("nncalc.is_tensor", 1, true) ~= nil, true, all)
  eq(all:find("%f[%w_.]is_tensor"), nil, "is_tensor listed as a global")
  eq(all:find("nncalc.globals", 1, true) ~= nil, true)
  eq(is_tensor, nil)   -- indeed not a global
  local o = capture(function() help("out_shape") end)
  eq(o:find("net:out_shape(shape)", 1, true), o:find("out_shape  ", 1, true) + #"out_shape  —  ", o)
  eq(capture(function() help("nn.Module.same_shape") end):find("same_shape", 1, true) ~= nil, true)
  eq(capture(function() help("x:out_shape") end):find("no data", 1, true) ~= nil, true)
end)
