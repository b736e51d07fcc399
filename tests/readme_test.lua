-- readme_test.lua README NNCALC — runs the README's sessions through the
-- binary and compares what it prints with what the README shows, so the
-- README cannot drift from nncalc.
--
-- A session is a fenced block right after a line `<!-- session -->`:
--   $ ./nncalc            starts the REPL; the lines up to the first `>` are
--                         the banner (checked at a terminal, through script(1))
--   > code, >> code       lines typed at the prompt (piped to nncalc -q)
--   $ ./nncalc ARGS ...   a shell command (run from the checkout's top)
--   anything else         the output expected from the lines above it
-- A block without a leading `$` is REPL lines. In the expected output a
-- line `...` stands for any number of lines and `...` inside a line for
-- any text, so the README can elide long outputs. Output is compared in a
-- UTF-8 locale, trailing blanks ignored; the banner's "gemm: X" is
-- whatever the build found.
-- A block after `<!-- script -->` is a Lua file that must run without an
-- error (its output is not compared). Last, the README must name every
-- calculator global and every member of nn, nn.init, optim and models.
-- Prints one line per block and "readme: N passed, N failed".

local readme, bin = arg[1], arg[2]
local top = readme:match("^(.*)/[^/]*$") or "."
local env = "LC_ALL=C.UTF-8 "

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function lines_of(text)
  local out = {}
  for line in (text .. "\n"):gmatch("(.-)\r?\n") do out[#out + 1] = (line:gsub("%s+$", "")) end
  while #out > 0 and out[#out] == "" do out[#out] = nil end
  return out
end

local function run(cmd)
  local p = assert(io.popen("(" .. cmd .. ") 2>&1", "r"))
  local text = p:read("a")
  p:close()
  return lines_of(text)
end

-- one expected line against one actual line: "..." inside is any text
local function line_matches(want, got)
  if not want:find("...", 1, true) then return want == got end
  local pos, first = 1, true
  for piece in (want .. "..."):gmatch("(.-)%.%.%.") do
    if first then
      if got:sub(1, #piece) ~= piece then return false end
      pos = #piece + 1; first = false
    else
      local s, e = got:find(piece, pos, true)
      if not s then return false end
      pos = e + 1
    end
  end
  -- the text after the last "..." must end the line
  local tail = want:match(".*%.%.%.(.*)$")
  return tail == "" or got:sub(-#tail) == tail
end

-- expected lines (with "..." lines) against actual lines, from i and j
local function matches(want, got, i, j)
  if i > #want then return j > #got end
  if want[i]:match("^%s*%.%.%.$") then
    for k = j, #got + 1 do if matches(want, got, i + 1, k) then return true end end
    return false
  end
  return j <= #got and line_matches(want[i], got[j]) and matches(want, got, i + 1, j + 1)
end

-- where they part, for the report: the first expected line not found
-- (in order) in the output, or the output left over at the end
local function first_difference(want, got)
  local j = 1
  for i, w in ipairs(want) do
    if not w:match("^%s*%.%.%.$") then
      local elided = i > 1 and want[i - 1]:match("^%s*%.%.%.$")
      local k = j
      while k <= #got and not line_matches(w, got[k]) do
        if not elided then break end
        k = k + 1
      end
      if k > #got or not line_matches(w, got[k]) then
        return ("README line %d of the block not printed\n    README: %s\n    nncalc: %s"):format(i, w, got[j] or "(nothing)")
      end
      j = k + 1
    end
  end
  return ("nncalc printed more\n    nncalc: %s"):format(got[j] or "?")
end

-- ---- the blocks ----------------------------------------------------------

local blocks, file = {}, assert(io.open(readme, "r"))
local n, marked, block = 0, false, nil
for line in file:lines() do
  n = n + 1
  if block then
    if line:match("^```") then blocks[#blocks + 1] = block; block = nil
    else block.lines[#block.lines + 1] = line end
  elseif marked then
    assert(line:match("^```"), ("README line %d: <!-- %s --> must be followed by a ``` block"):format(n, marked))
    block = { at = n, lines = {}, kind = marked }; marked = false
  elseif line:match("^<!%-%- session %-%->%s*$") then
    marked = "session"
  elseif line:match("^<!%-%- script %-%->%s*$") then
    marked = "script"
  end
end
file:close()

-- a block as segments: {kind = "repl"|"shell"|"banner", input, want}
local function segments(b)
  local segs, cur = {}, nil
  local function new(kind, cmd) cur = { kind = kind, cmd = cmd, input = {}, want = {} }; segs[#segs + 1] = cur end
  for _, line in ipairs(b.lines) do
    local cmd = line:match("^%$ (.*)$")
    if cmd then
      if cmd:match("^%./nncalc%s*$") then new("banner") else new("shell", cmd) end
    elseif line:match("^>>? ") or line == ">" then
      if not cur or cur.kind ~= "repl" then new("repl") end
      cur.input[#cur.input + 1] = line:gsub("^>>? ?", "", 1)
    else
      if not cur then new("repl") end
      cur.want[#cur.want + 1] = (line:gsub("%s+$", ""))
    end
  end
  return segs
end

-- script(1) (util-linux, in every Debian) gives the banner a terminal
local has_script = os.execute("command -v script >/dev/null 2>&1")
local skipped = 0

-- Consecutive REPL segments share one process: the outputs are joined in
-- order, so expected lines sit right under the input that made them.
local function check_block(b)
  if b.kind == "script" then   -- a whole Lua file: it runs without an error
    local path = os.tmpname()
    local f = assert(io.open(path, "w")); f:write(table.concat(b.lines, "\n"), "\n"); f:close()
    local out = run("cd " .. quote(top) .. " && " .. env .. quote(bin) .. " " .. quote(path) .. " 2>&1 >/dev/null; echo \"status $?\"")
    os.remove(path)
    if out[#out] ~= "status 0" then return false, "the script failed: " .. table.concat(out, "\n    ") end
    return true
  end
  local segs = segments(b)
  local k = 1
  while k <= #segs do
    local s = segs[k]
    if s.kind == "banner" and not has_script then
      skipped = skipped + 1; k = k + 1
    elseif s.kind == "banner" then
      local got = {}
      for _, line in ipairs(run(env .. "printf 'exit()\\n' | timeout 20 script -qec " .. quote(bin) .. " /dev/null")) do
        if line:match("^nncalc ") or line:match("^Type help") then got[#got + 1] = line end
      end
      local want = {}
      for _, line in ipairs(s.want) do want[#want + 1] = line end
      local norm = function(t) for i, l in ipairs(t) do t[i] = l:gsub("gemm: [%w_-]+%)", "gemm: *)") end return t end
      if not matches(norm(want), norm(got), 1, 1) then return false, "banner: " .. first_difference(want, got) end
      k = k + 1
    elseif s.kind == "shell" then
      local cmd = s.cmd:gsub("^%./nncalc", quote(bin)):gsub("^nncalc ", quote(bin) .. " ")
      local got = run("cd " .. quote(top) .. " && " .. env .. cmd)
      if not matches(s.want, got, 1, 1) then return false, ("$ %s: %s"):format(s.cmd, first_difference(s.want, got)) end
      k = k + 1
    else
      local input, want = {}, {}
      while segs[k] and segs[k].kind == "repl" do
        for _, l in ipairs(segs[k].input) do input[#input + 1] = l end
        for _, l in ipairs(segs[k].want) do want[#want + 1] = l end
        k = k + 1
      end
      local path = os.tmpname()
      local f = assert(io.open(path, "w")); f:write(table.concat(input, "\n"), "\n"); f:close()
      local got = run("cd " .. quote(top) .. " && " .. env .. quote(bin) .. " -q < " .. quote(path))
      os.remove(path)
      if not matches(want, got, 1, 1) then return false, first_difference(want, got) end
    end
  end
  return true
end

local pass, fail = 0, 0
for _, b in ipairs(blocks) do
  local ok, why = check_block(b)
  if ok then pass = pass + 1; print(("ok   README line %d"):format(b.at))
  else fail = fail + 1; print(("FAIL README line %d: %s"):format(b.at, why)) end
end
if #blocks == 0 then fail = 1; print("FAIL no <!-- session --> blocks in " .. readme) end

-- The API sections name every calculator global and every member of nn,
-- nn.init, optim and models (a name added without a word in the README
-- fails here). A member may be named in a list after its table
-- (`nn.init.uniform/normal/...`), so members are looked up by their own name.
do
  local text = assert(io.open(readme, "r")):read("a")
  local function named(n) return text:find("%f[%w_]" .. n:gsub("%p", "%%%0") .. "%f[^%w_]") ~= nil end
  local missing = {}
  for _, n in ipairs(require("nncalc.exports").names(nncalc)) do
    if not named(n) then missing[#missing + 1] = n end
  end
  for _, t in ipairs{ { "nn", nn }, { "nn.init", nn.init }, { "optim", optim }, { "models", models } } do
    for k in pairs(t[2]) do
      if type(k) == "string" and k:sub(1, 1) ~= "_" and not named(k) then missing[#missing + 1] = t[1] .. "." .. k end
    end
  end
  table.sort(missing)
  if #missing == 0 then pass = pass + 1; print("ok   README names every global and every nn, nn.init, optim, models member")
  else fail = fail + 1; print("FAIL README does not name: " .. table.concat(missing, " ")) end
end
print(("readme: %d passed, %d failed%s"):format(pass, fail,
  skipped > 0 and (", %d banner skipped (no script(1) to give it a terminal)"):format(skipped) or ""))
os.exit(fail == 0 and 0 or 1)
