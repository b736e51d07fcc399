-- nncalc/exports.lua — every calculator global, and where it comes from.
-- The prelude's globals() writes these (and only these) into _G; the
-- library's environment resolves the same names for nncalc's own code;
-- help's coverage test and its list of globals read this table too.

local E = {}

-- Every function of the C library is a global except these: methods that
-- only make sense on a tensor (x:t(), x:item() ...) stay methods, so short
-- names like t remain free for the user; the rest are the host's hooks.
E.method_only = {
  t = true, item = true, shape = true, size = true, dim = true, numel = true,
  stride = true, is_contiguous = true, fill = true, copy = true, view = true,
  contiguous = true, totable = true, expand = true, narrow = true,
  Tensor = true, debug = true, interactive = true, complete = true, stdin_tty = true,
  is_tensor = true, globals = true, display = true, raw_print = true, warn = true,
}

-- Tables loaded at start-up.
E.tables = { nn = "nncalc.nn", models = "nncalc.models", optim = "nncalc.optim" }

-- Functions loaded on first use (start-up stays short): module -> names.
E.lazy = {
  ["nncalc.help"] = { "help", "apropos", "exit" },
  ["nncalc.autograd"] = { "graph", "forward_trace", "warnings" },
  ["nncalc.derivatives"] = { "gradcheck", "jacobian", "numjacobian", "grad", "hessian", "hvp",
    "gradgradcheck" },
  ["nncalc.curvature"] = { "curvature", "newton_step", "gauss_newton" },
  ["nncalc.convmath"] = { "conv_out", "pool_out", "convT_out", "conv_solve" },
  ["nncalc.summary"] = { "summary" },
  ["nncalc.receptive"] = { "receptive_field", "receptive_region" },
  ["nncalc.check"] = { "check", "check_summary", "question", "variant" },
  ["nncalc.train"] = { "fit" },
  ["nncalc.plot"] = { "plot" },
  ["nncalc.hyper"] = { "grid_search", "random_trials" },
  ["nncalc.lesson"] = { "lesson", "title", "say", "show", "pause", "ask" },
  ["nncalc.format"] = { "format" },
  ["nncalc.budget"] = { "memory", "fit_batch", "train_compute" },
  ["nncalc.clip"] = { "clip_grad_norm", "clip_grad_value" },
  ["nncalc.bptt"] = { "bptt_norms" },
  ["nncalc.linops"] = { "diag", "trace", "matrix_power", "norm", "var", "std" },
}

-- Tensor methods written in Lua (x:norm(), A:trace()), loaded on first use.
E.methods = {
  ["nncalc.linops"] = { "diag", "trace", "matrix_power", "norm", "var", "std" },
}

-- Defined by the prelude itself.
E.prelude = { "print", "debug_mode", "Tensor" }

-- name -> module, for the lazy names
E.module_of = {}
for module, names in pairs(E.lazy) do
  for _, name in ipairs(names) do E.module_of[name] = module end
end

-- Every global name nncalc defines, sorted (C functions included).
function E.names(lib)
  local list = {}
  for name, v in pairs(lib) do
    if type(v) == "function" and not E.method_only[name] and name:sub(1, 1) ~= "_" then list[#list + 1] = name end
  end
  for name in pairs(E.tables) do list[#list + 1] = name end
  for name in pairs(E.module_of) do list[#list + 1] = name end
  for _, name in ipairs(E.prelude) do list[#list + 1] = name end
  table.sort(list)
  return list
end

return E
