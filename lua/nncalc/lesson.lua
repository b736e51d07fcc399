-- lesson.lua — the lesson runner and the small vocabulary lessons are
-- written in: title, say, show, pause, ask, check.
--
-- A lesson is a plain Lua file in lessons/ (NN_name.lua) whose first lines
-- say what it is:
--     -- title: Backprop step by step
--     -- summary: the chain rule on the homework network, then with nn modules
-- It runs in its own environment (it reads the globals, writes none): in
-- the REPL what it made is left in lessonvars, and as globals only where the
-- student has none of that name.  At a terminal, pause() waits for Enter
-- and ask() waits for the student's answer; with --no-pause or without a
-- terminal the lesson runs straight through and shows the answers.

local M = { interactive = false, asked = 0, right = 0 }

-- ---- how things look ----------------------------------------------------

local unicode = require("nncalc.term").unicode

local function colour()
  return M.interactive and os.getenv("NO_COLOR") == nil and (os.getenv("TERM") or "dumb") ~= "dumb"
end

local function paint(code, s)
  if not colour() then return s end
  return "\27[" .. code .. "m" .. s .. "\27[0m"
end

-- Paragraphs are separated by blank lines; single line breaks in the
-- source are spaces, so lesson text reflows to the width.  A line indented
-- by two or more spaces (an equation, a table) is kept as it is.
local function cols(s) return utf8.len(s) or #s end   -- σ is one column

local function wrap(text, width)
  local out, line = {}, ""
  local function flush() if line ~= "" then out[#out + 1] = line; line = "" end end
  text = require("nncalc.term").text(text)   -- measure what will be shown
  for src in (text .. "\n"):gmatch("(.-)\n") do
    if src:match("^%s*$") then
      flush()
      if #out > 0 and out[#out] ~= "" then out[#out + 1] = "" end
    elseif src:match("^  ") then
      flush()
      out[#out + 1] = src
    else
      for word in src:gmatch("%S+") do
        if cols(line) + cols(word) + 1 > width and line ~= "" then out[#out + 1] = line; line = word
        else line = line == "" and word or (line .. " " .. word) end
      end
    end
  end
  flush()
  return table.concat(out, "\n")
end

-- ---- the vocabulary -------------------------------------------------------

function M.title(text)
  local rule = (unicode() and "═" or "="):rep(math.min(72, #text + 4))
  io.write("\n", paint("1", rule), "\n", paint("1", "  " .. text), "\n", paint("1", rule), "\n")
end

function M.say(text)
  io.write("\n", wrap(tostring(text), 76), "\n")
end

function M.show(label, value)
  local s = tostring(value)
  if type(value) == "number" then s = require("nncalc.format").num(value) end
  if s:find("\n") then io.write(paint("36", label), " =\n", s, "\n")
  else io.write(paint("36", label), " = ", s, "\n") end
  return value
end

-- Ctrl-C at a prompt leaves the lesson: a marker the runner recognises
local LEAVE = setmetatable({}, { __tostring = function() return "left the lesson (Ctrl-C)" end })

-- A line typed at the terminal, through Readline (editing, arrow keys,
-- history) when nncalc has it; Ctrl-C leaves the lesson.
local function read_line(prompt)
  if nncalc._read_answer then
    -- \1 \2 tell Readline which bytes of the prompt take no columns
    local line, why = nncalc._read_answer((prompt:gsub("\27%[[%d;]*m", "\1%0\2")))
    if why == "interrupted" then error(LEAVE, 0) end
    return line
  end
  io.write(prompt)
  io.flush()
  return io.read("l")
end

function M.pause()
  if not M.interactive then return end
  read_line(paint("2", unicode() and "  ⏎ Enter to go on " or "  [Enter to go on] "))
end

-- Reads an answer: a number, numbers separated by spaces or commas (a
-- vector), rows separated by ';' (a matrix), or any Lua expression giving a
-- number or tensor.  nil for an empty line; false when it cannot be read
-- (a typo such as -4x), so that the student is asked again.
local function parse(line)
  if line == nil then return nil end
  line = line:gsub("^%s+", ""):gsub("%s+$", "")
  if line == "" then return nil end
  local rows = {}
  for part in (line .. ";"):gmatch("(.-);") do
    local row = {}
    for v in part:gmatch("[^%s,]+") do
      local n = tonumber(v)
      if not n then rows = nil; break end
      row[#row + 1] = n
    end
    if not rows then break end
    if #row > 0 then rows[#rows + 1] = row end
  end
  if rows and #rows == 1 and #rows[1] == 1 then return rows[1][1] end
  if rows and #rows == 1 then return tensor(rows[1]) end
  if rows and #rows > 1 then
    local ok, t = pcall(tensor, rows)
    if ok then return t end
  end
  local chunk = load("return " .. line, "=answer", "t", M.env or _G)
  if chunk then
    local ok, v = pcall(chunk)
    if ok and (type(v) == "number" or nncalc.is_tensor(v) or type(v) == "boolean") then return v end
  end
  return false
end
M.parse = parse

-- a value as on paper, by the one printer (format.lua): (a, b), [a b; c d]
local function value_text(v)
  if nncalc.is_tensor(v) or type(v) == "number" then
    return require("nncalc.format").inline(v, 12) or ("\n" .. tostring(v:detach()))
  end
  return tostring(v)
end

-- relative tolerance, with a tiny absolute one so that 0 can be matched
local function close(a, b, tol) return math.abs(a - b) <= tol * math.abs(b) + 1e-12 end

local function matches(got, want, tol)
  if nncalc.is_tensor(want) and want:numel() == 1 then want = want:item() end
  if nncalc.is_tensor(got) and got:numel() == 1 then got = got:item() end
  if type(want) == "number" then return type(got) == "number" and close(got, want, tol) end
  if type(got) == "number" or not nncalc.is_tensor(got) then return false end
  local w = nncalc.is_tensor(want) and want:detach() or tensor(want)
  if got:numel() ~= w:numel() then return false end
  local g, e = got:detach():reshape(w:numel()), w:reshape(w:numel())
  for i = 1, w:numel() do if not close(g[i], e[i], tol) then return false end end
  return true
end

-- ask(question, answer [, tol [, working]]): the student tries first; the
-- answer (and the working, when given) is shown either way.
function M.ask(question, answer, tol, working)
  tol = tol or 1e-4
  M.asked = M.asked + 1
  io.write("\n", paint("33", (unicode() and "❓ " or "? ") .. question), "\n")
  if M.interactive then
    local attempt = 1
    while attempt <= 2 do
      local line = read_line(paint("2", "  your answer (numbers; ';' between rows; empty to see it): "))
      local got = parse(line)
      if got == nil then break end
      while got == false do   -- a typo costs no try
        io.write(paint("31", "  could not read '" .. line:gsub("^%s+", ""):gsub("%s+$", "") .. "'"),
          ": write a number (-4, 0.25, 1e-3), numbers with spaces (1 2 3), ';' between rows, or an expression (2*3)\n")
        line = read_line(paint("2", "  your answer: "))
        got = parse(line)
      end
      if got == nil then break end
      if matches(got, answer, tol) then
        M.right = M.right + 1
        io.write(paint("32", (unicode() and "  ✓ right" or "  right")), ": ", value_text(answer), "\n")
        if working then io.write(wrap(working, 72):gsub("[^\n]+", "    %0"), "\n") end
        return true
      end
      io.write(paint("31", (unicode() and "  ✗ not quite" or "  wrong")), ": you gave ", value_text(got),
        attempt == 1 and " - one more try\n" or "\n")
      attempt = attempt + 1
    end
  end
  io.write("  answer: ", value_text(answer), "\n")
  if working then io.write(wrap(working, 72):gsub("[^\n]+", "    %0"), "\n") end
  return false
end

-- check inside a lesson: the same ✓/✗ as check(), counted by the runner.
function M.check(label, got, expected, tol)
  return check(label, got, expected, tol)
end

-- ---- finding and running lessons --------------------------------------------

function M.dir()
  local env = os.getenv("NNCALC_LESSONS_DIR")
  if env and env ~= "" then return env end
  -- the build tree keeps lessons/ beside lua/; an installed nncalc keeps
  -- them in its data folder (the Lua files live where stock Lua looks)
  local here = (nncalc.luadir or "lua") .. "/../lessons"
  local f = io.open(here .. "/01_tensors.lua")
  if f then f:close(); return here end
  return nncalc.datadir .. "/lessons"
end

-- The lessons, sorted: {number, name, title, summary, path}.
function M.list()
  local dir = M.dir()
  local p = io.popen('ls "' .. dir .. '" 2>/dev/null')
  local files = {}
  if p then
    for f in p:lines() do if f:match("^%d+_.*%.lua$") then files[#files + 1] = f end end
    p:close()
  end
  table.sort(files)
  local out = {}
  for _, f in ipairs(files) do
    local path = dir .. "/" .. f
    local h = io.open(path)
    local head = h and h:read(2000) or ""
    if h then h:close() end
    out[#out + 1] = { number = tonumber(f:match("^(%d+)")), name = f:match("^%d+_(.-)%.lua$"),
      title = head:match("%-%- title: ([^\n]+)") or f, summary = head:match("%-%- summary: ([^\n]+)") or "", path = path }
  end
  return out
end

local function find(which)
  local all = M.list()
  if #all == 0 then error("lesson: no lessons found in " .. M.dir() .. " (set NNCALC_LESSONS_DIR)", 3) end
  for _, l in ipairs(all) do
    if l.number == tonumber(which) or l.name == which then return l end
  end
  for _, l in ipairs(all) do
    if type(which) == "string" and (l.name:find(which, 1, true) or l.title:lower():find(which:lower(), 1, true)) then return l end
  end
  local names = {}
  for _, l in ipairs(all) do names[#names + 1] = l.number .. " " .. l.name end
  error(("lesson: no lesson %s (there are: %s)"):format(tostring(which), table.concat(names, ", ")), 3)
end

-- One line per lesson; at a terminal narrower than a line the summary goes
-- on its own lines below the title, wrapped to the width.
function M.print_list()
  io.write("Lessons (run one with lesson(n) in the REPL, or nncalc lesson n):\n")
  local width = require("nncalc.term").size()
  for _, l in ipairs(M.list()) do
    local line = ("  %2d  %-44s %s"):format(l.number, l.title, l.summary)
    if width and cols(line) > width - 1 then
      io.write(("  %2d  %s\n"):format(l.number, l.title))
      io.write(wrap(l.summary, width - 9):gsub("[^\n]+", "      %0"), "\n")
    else
      io.write(line, "\n")
    end
  end
end

-- What a lesson leaves for exploring afterwards: everything it defined, in
-- the global table lessonvars; copied to a global only where the student
-- has none of that name.  Says which names went where.
local function leave_variables(env, l)
  local names, kept, copied = {}, {}, {}
  for k in pairs(env) do if type(k) == "string" then names[#names + 1] = k end end
  table.sort(names)
  if #names == 0 then return end
  rawset(_G, "lessonvars", env)
  for _, k in ipairs(names) do
    if rawget(_G, k) == nil then rawset(_G, k, env[k]); copied[#copied + 1] = k
    else kept[#kept + 1] = k end
  end
  local msg = ("Lesson %d left its variables in lessonvars"):format(l.number)
  if #copied > 0 then msg = msg .. "; as globals too: " .. table.concat(copied, ", ") end
  if #kept > 0 then
    msg = msg .. "; your own " .. table.concat(kept, ", ") .. " kept (the lesson's are lessonvars."
      .. kept[1] .. (#kept > 1 and " ..." or "") .. ")"
  end
  io.write(wrap(msg .. ".", 76), "\n")
end

-- Runs lesson `which` in its own environment (reading the globals, writing
-- none); returns checks passed, failed, and the environment.
function M.run(which, interactive)
  local l = find(which)
  -- named lessons/NN_x.lua in messages, wherever nncalc is installed
  local f, ferr = io.open(l.path)
  if not f then error("lesson: " .. ferr, 2) end
  local src = f:read("a")
  f:close()
  local env = setmetatable({}, { __index = _G })
  local chunk, err = load(src, "@lessons/" .. l.path:match("[^/]+$"), "t", env)
  if not chunk then error("lesson: " .. err, 2) end
  local saved = M.interactive
  M.interactive = interactive and true or false
  M.asked, M.right = 0, 0
  require("nncalc.autograd")   -- its warning hook is the one replaced below
  local warn = nncalc.warn
  nncalc.warn = function(msg) io.write(msg) end   -- part of the lesson's text
  local before = #require("nncalc.check").results
  local saved_env = M.env
  M.env = env
  local ok, e = pcall(chunk)
  M.env = saved_env
  nncalc.warn = warn
  M.interactive = saved
  if not ok and (e == LEAVE or tostring(e):match("interrupted$")) then
    io.write(("\nLeft lesson %d (%s) at Ctrl-C; lesson(%d) starts it again.\n"):format(l.number, l.name, l.number))
    return 0, 0, env, true
  end
  local results = require("nncalc.check").results
  local pass, fail = 0, 0
  for i = before + 1, #results do if results[i].ok then pass = pass + 1 else fail = fail + 1 end end
  if not ok then error(("lesson %d (%s) stopped: %s"):format(l.number, l.name, tostring(e)), 0) end
  io.write(("\nend of lesson %d: %d checks passed, %d failed%s\n"):format(l.number, pass, fail,
    M.asked > 0 and interactive and (", " .. M.right .. " of " .. M.asked .. " answers right") or ""))
  return pass, fail, env
end

-- lesson() lists; lesson(3) or lesson("backprop") runs one here, leaving its
-- variables in lessonvars (and as globals where the names are free).
function lesson(which)
  if which == nil then return M.print_list() end
  local _, _, env = M.run(which, nncalc.interactive and nncalc.interactive())
  leave_variables(env, find(which))
end

-- `nncalc lesson [n|name] [--no-pause]`
function M.main(args)
  local which, pause = nil, true
  for _, a in ipairs(args) do
    if a == "--no-pause" then pause = false
    elseif a:sub(1, 2) == "--" then io.stderr:write("nncalc lesson: unknown option ", a, "\n"); return 2
    else which = a end
  end
  if not which then M.print_list(); return 0 end
  local interactive = pause and nncalc.stdin_tty and nncalc.stdin_tty()
  local ok, pass_or_err, fail, _, left = pcall(M.run, which, interactive)
  if not ok then io.stderr:write(tostring(pass_or_err), "\n"); return 1 end
  if left then return 130 end   -- as a shell reports a Ctrl-C
  return fail == 0 and 0 or 1
end

-- the vocabulary as globals, for lesson files and the REPL
title, say, show, pause, ask = M.title, M.say, M.show, M.pause, M.ask
return M
