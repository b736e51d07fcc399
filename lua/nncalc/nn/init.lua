-- nn/init.lua — the nn package: layers as modules (Linear, Conv2d, ...),
-- containers (Sequential, Residual, Concat) and losses.
local Module = require("nncalc.nn.Module")
local nn = nncalc._package("nn")
nn.Module, nn.class, nn.is_module = Module, Module.class, Module.is_module

nn.Linear = require("nncalc.nn.Linear")
nn.init = require("nncalc.nn.initializers")
for _, file in ipairs({ "nncalc.nn.Activation", "nncalc.nn.Conv", "nncalc.nn.Pool", "nncalc.nn.Norm",
  "nncalc.nn.Loss", "nncalc.nn.Container", "nncalc.nn.Embedding", "nncalc.nn.Recurrent", "nncalc.nn.LayerNorm",
  "nncalc.nn.Attention", "nncalc.nn.Transformer", "nncalc.nn.Position" }) do
  for name, class in pairs(require(file)) do nn[name] = class end
end

-- The printing of net:forward(x, {trace=true}): each layer's index, name
-- and settings, output shape and values (abbreviated when large).
function nncalc._print_trace(list)
  for _, e in ipairs(list) do
    local y = e.output
    if not nncalc.is_tensor(y) then   -- a user's compute may return anything
      io.write(("(%s) %s -> %s\n"):format(e.index ~= "" and e.index or "out", e.name, tostring(y)))
      goto continue
    end
    local shape = y:dim() == 0 and "scalar" or table.concat(y:shape(), "x")
    local label = e.module.class_name and e.name == e.module.class_name and e.module:repr(""):gsub("\n.*", " ...") or e.name
    io.write(("(%s) %s -> [%s]\n"):format(e.index ~= "" and e.index or "out", label, shape))
    local text = y:detach():format{ threshold = 24, edgeitems = 2 }
    for line in text:gmatch("[^\n]+") do
      if not line:match("^%[tensor") then io.write("      ", line, "\n") end
    end
    ::continue::
  end
end


-- nn's plain functions (nn.class, nn.init.*, nn.rope ...): their raw Lua
-- errors name them (nncalc/named.lua); is_module only answers
do
  local named = require("nncalc.named")
  for k, f in pairs(nn) do
    if type(f) == "function" and k ~= "is_module" then nn[k] = named.wrap("nn." .. k, f) end
  end
  for k, f in pairs(type(nn.init) == "table" and nn.init or {}) do
    if type(f) == "function" then nn.init[k] = named.wrap("nn.init." .. k, f) end
  end
end

return nn
