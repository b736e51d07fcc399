-- nn/Loss.lua — the losses as modules: loss_fn(prediction, target).
-- reduction = "mean" (default), "sum" or "none".  Class targets are
-- 1-based class numbers; CrossEntropyLoss also takes class probabilities.
local Module = require("nncalc.nn.Module")
local M = {}

local function loss_class(name, fn)
  local C = Module.class(name)
  function C:init(opts, ...)
    -- PyTorch's positional settings here are the deprecated size_average
    -- and reduce: only the table form, and say so
    if (opts ~= nil and type(opts) ~= "table") or select("#", ...) > 0 then
      error(('%s: settings go in a table: nn.%s{reduction = "sum"} (PyTorch: nn.%s(reduction="sum")); '
        .. 'PyTorch\'s positional size_average and reduce are deprecated and not taken'):format(name, name, name), 3)
    end
    opts = opts or {}
    for k in pairs(opts) do
      if k ~= "reduction" then error(("%s: unknown option '%s' (reduction)"):format(name, tostring(k)), 3) end
    end
    self.reduction = opts.reduction or "mean"
    if self.reduction ~= "mean" and self.reduction ~= "sum" and self.reduction ~= "none" then
      error(name .. ': reduction must be "mean", "sum" or "none"', 3)
    end
  end
  function C:forward(x, target)
    local ok, y = pcall(fn, x, target, { reduction = self.reduction })
    if not ok then error(self:repr("") .. ": " .. tostring(y):gsub("^[^:\n]*:%d+: ", ""), 2) end
    self.output = y
    return y
  end
  function C:extra_repr() return self.reduction ~= "mean" and ('reduction="' .. self.reduction .. '"') or "" end
  function C:out_shape(s)
    if self.reduction == "none" then return { table.unpack(s) } end
    return {}
  end
  M[name] = C
end

loss_class("MSELoss", mse_loss)
loss_class("L1Loss", l1_loss)
loss_class("CrossEntropyLoss", cross_entropy)
loss_class("NLLLoss", nll_loss)
loss_class("BCELoss", binary_cross_entropy)
loss_class("BCEWithLogitsLoss", binary_cross_entropy_with_logits)

return M
