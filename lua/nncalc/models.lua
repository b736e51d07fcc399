-- models.lua — standard architectures built from nn modules, as torchvision
-- defines them, for summary() and receptive fields.  Building one allocates
-- no weights (parameters are made on first use), so models.vgg16() is free.
--   models.lenet5()  models.alexnet()  models.vgg11()  models.vgg16()
--   models.resnet18()  models.resnet50()  models.inception{...}
--   models.gpt2{...}  models.bert{...}  models.vit{...}  models.param_counts(model)
local models = nncalc._package("models")

local function conv(cin, cout, k, o) return nn.Conv2d(cin, cout, k, o) end

-- The class count of the last layer, checked here so the error names the
-- model the user called rather than the Linear inside it.
local function classes_of(model, c)
  if type(c) == "table" then   -- {classes = 10}, as models.resnet50 takes it
    for k in pairs(c) do
      if k ~= "classes" then error(("models.%s: unknown setting '%s' (classes)"):format(model, tostring(k)), 3) end
    end
    c = c.classes
  end
  if c == nil then return 1000 end
  local n = type(c) == "number" and math.tointeger(c)   -- 10.0 is 10
  if not n or n < 1 then
    error(("models.%s: the number of classes must be a positive integer, got %s"):format(model, tostring(c)), 3)
  end
  return n
end

-- LeNet-5 with full C3 connections and C5 as a 5x5 convolution (the
-- common modern reading; 61,706 parameters on a 1x32x32 input).
function models.lenet5()
  return nn.Sequential{
    conv(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
    conv(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
    conv(16, 120, 5), nn.ReLU(), nn.Flatten(),
    nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
  }
end

-- torchvision's AlexNet (61,100,840 parameters, 3x224x224 input).
function models.alexnet(classes)
  classes = classes_of("alexnet", classes)
  return nn.Sequential{
    conv(3, 64, 11, { stride = 4, padding = 2 }), nn.ReLU(), nn.MaxPool2d(3, { stride = 2 }),
    conv(64, 192, 5, { padding = 2 }), nn.ReLU(), nn.MaxPool2d(3, { stride = 2 }),
    conv(192, 384, 3, { padding = 1 }), nn.ReLU(),
    conv(384, 256, 3, { padding = 1 }), nn.ReLU(),
    conv(256, 256, 3, { padding = 1 }), nn.ReLU(), nn.MaxPool2d(3, { stride = 2 }),
    nn.AdaptiveAvgPool2d(6), nn.Flatten(),
    nn.Dropout(0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(),
    nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(),
    nn.Linear(4096, classes),
  }
end

-- VGG from its configuration: numbers are 3x3 convolutions (padding 1) with
-- that many channels, "M" a 2x2 max pool.
local function vgg(cfg, classes)
  local layers, c = {}, 3
  for _, v in ipairs(cfg) do
    if v == "M" then
      layers[#layers + 1] = nn.MaxPool2d(2)
    else
      layers[#layers + 1] = conv(c, v, 3, { padding = 1 })
      layers[#layers + 1] = nn.ReLU()
      c = v
    end
  end
  for _, m in ipairs({ nn.AdaptiveAvgPool2d(7), nn.Flatten(),
    nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(0.5),
    nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
    nn.Linear(4096, classes) }) do layers[#layers + 1] = m end
  return nn.Sequential(layers)
end

function models.vgg11(classes)
  classes = classes_of("vgg11", classes)
  return vgg({ 64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M" }, classes)
end
function models.vgg16(classes)
  classes = classes_of("vgg16", classes)
  return vgg({ 64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M" }, classes)
end

-- ResNet blocks: y = relu(block(x) + shortcut(x)), the shortcut a 1x1
-- convolution with batch norm when the shape changes.
local function projection(cin, cout, stride)
  if stride == 1 and cin == cout then return nil end
  return nn.Sequential{ conv(cin, cout, 1, { stride = stride, bias = false }), nn.BatchNorm2d(cout) }
end

local function basic(cin, cout, stride)
  local block = nn.Sequential{
    conv(cin, cout, 3, { stride = stride, padding = 1, bias = false }), nn.BatchNorm2d(cout), nn.ReLU(),
    conv(cout, cout, 3, { padding = 1, bias = false }), nn.BatchNorm2d(cout),
  }
  return nn.Sequential{ nn.Residual(block, { projection = projection(cin, cout, stride) }), nn.ReLU() }
end

-- torchvision (v1.5) strides in the 3x3; the original paper (v1) in the
-- first 1x1, which skips pixels before the 3x3 sees them: fewer
-- multiplications, and a larger receptive field (483 against 427).
local function bottleneck(cin, width, stride, v1)
  local cout = width * 4
  local s1, s3 = 1, stride
  if v1 then s1, s3 = stride, 1 end
  local block = nn.Sequential{
    conv(cin, width, 1, { stride = s1, bias = false }), nn.BatchNorm2d(width), nn.ReLU(),
    conv(width, width, 3, { stride = s3, padding = 1, bias = false }), nn.BatchNorm2d(width), nn.ReLU(),
    conv(width, cout, 1, { bias = false }), nn.BatchNorm2d(cout),
  }
  return nn.Sequential{ nn.Residual(block, { projection = projection(cin, cout, stride) }), nn.ReLU() }
end

local function resnet(kind, counts, classes, v1)
  local layers = {
    conv(3, 64, 7, { stride = 2, padding = 3, bias = false }), nn.BatchNorm2d(64), nn.ReLU(),
    nn.MaxPool2d(3, { stride = 2, padding = 1 }),
  }
  local c = 64
  for stage, n in ipairs(counts) do
    local width = 64 << (stage - 1)
    for i = 1, n do
      local stride = (i == 1 and stage > 1) and 2 or 1
      if kind == "basic" then
        layers[#layers + 1] = basic(c, width, stride)
        c = width
      else
        layers[#layers + 1] = bottleneck(c, width, stride, v1)
        c = width * 4
      end
    end
  end
  layers[#layers + 1] = nn.AdaptiveAvgPool2d(1)
  layers[#layers + 1] = nn.Flatten()
  layers[#layers + 1] = nn.Linear(c, classes)
  return nn.Sequential(layers)
end

function models.resnet18(classes)   -- 11,689,512
  return resnet("basic", { 2, 2, 2, 2 }, classes_of("resnet18", classes))
end
-- models.resnet50() or (classes) or {classes=, v1=true}
function models.resnet50(o)
  local classes, v1 = o, nil
  if type(o) == "table" then
    for k in pairs(o) do
      if k ~= "classes" and k ~= "v1" then error(("models.resnet50: unknown setting '%s' (classes, v1)"):format(tostring(k)), 2) end
    end
    classes, v1 = o.classes, o.v1
  end
  return resnet("bottleneck", { 3, 4, 6, 3 }, classes_of("resnet50", classes), v1)   -- 25,557,032 either way
end

-- A GoogLeNet Inception module: four branches joined along the channels.
-- models.inception{input=192, b1=64, b3_reduce=96, b3=128, b5_reduce=16,
-- b5=32, pool_proj=32} is inception (3a); leave out the reduces (or set
-- them to false) for the naive module without 1x1 reductions (its pool
-- branch then passes the input through).
local inception_keys = { input = true, b1 = true, b3_reduce = true, b3 = true, b5_reduce = true, b5 = true,
  pool_proj = true, pool = true }
local function inception_check(o)
  for k in pairs(o) do
    if not inception_keys[k] then
      error(("models.inception: unknown setting '%s' (input, b1, b3_reduce, b3, b5_reduce, b5, pool_proj, pool)"):format(tostring(k)), 3)
    end
  end
  local widths = { "b1", "b3_reduce", "b3", "b5_reduce", "b5", "pool_proj" }
  local reduced = o.b3_reduce ~= false and (o.b3_reduce or o.b5_reduce or o.pool_proj or (o.b3 == nil and o.b5 == nil))
  local need = reduced and widths or { "b1", "b3", "b5" }
  local given, missing = false, {}
  for _, k in ipairs(need) do
    if o[k] ~= nil then given = true else missing[#missing + 1] = k end
  end
  -- inception (3a)'s widths fill in only when none is given: a half-given
  -- module would mix the user's widths with 3a's without saying so
  if given and #missing > 0 then
    error(("models.inception: %s given, but not %s (give every width of the %s module, or none for inception (3a))"):format(
      table.concat((function() local g = {} for _, k in ipairs(need) do if o[k] ~= nil then g[#g + 1] = k end end return g end)(), ", "),
      table.concat(missing, ", "), reduced and "1x1-reduced" or "naive"), 3)
  end
  if not reduced and (o.b5_reduce or o.pool_proj) then
    error("models.inception: b5_reduce and pool_proj belong to the module with 1x1 reductions (b3_reduce=false makes the naive one)", 3)
  end
  return reduced
end

function models.inception(o)
  o = o or {}
  local reduced = inception_check(o)
  local cin = o.input or 192
  local function relu_conv(a, b, k) return nn.Sequential{ conv(a, b, k, { padding = k // 2 }), nn.ReLU() } end
  local branches = { relu_conv(cin, o.b1 or 64, 1) }
  if reduced then
    branches[2] = nn.Sequential{ relu_conv(cin, o.b3_reduce or 96, 1), relu_conv(o.b3_reduce or 96, o.b3 or 128, 3) }
    branches[3] = nn.Sequential{ relu_conv(cin, o.b5_reduce or 16, 1), relu_conv(o.b5_reduce or 16, o.b5 or 32, 5) }
    branches[4] = nn.Sequential{ nn.MaxPool2d(3, { stride = 1, padding = 1 }), relu_conv(cin, o.pool_proj or 32, 1) }
  else
    branches[2] = relu_conv(cin, o.b3, 3)
    branches[3] = relu_conv(cin, o.b5, 5)
    if o.pool ~= false then branches[4] = nn.MaxPool2d(3, { stride = 1, padding = 1 }) end
  end
  return nn.Concat(branches)
end

-- Transformers (models_transformer.lua, loaded on first use): GPT-2, BERT, ViT,
-- and the parameter counts under every convention (transformer_count.lua).
for _, name in ipairs({ "gpt", "gpt2", "bert", "vit" }) do
  models[name] = function(...) return require("nncalc.models_transformer")[name](...) end
end
function models.param_counts(model, o) return require("nncalc.transformer_count").param_counts(model, o) end
-- raw Lua errors in a model's constructor name it
local named = require("nncalc.named")
for name, f in pairs(models) do
  if type(f) == "function" then models[name] = named.wrap("models." .. name, f) end
end

return models
