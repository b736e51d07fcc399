-- nncalc/jupyter.lua — what a notebook shows beside a value's text: the Jupyter
-- kernel (src/kernel_exec.c) asks mime(v) for each cell's value.  Tensors
-- get an HTML table; any other value whatever its metatable's __mime(v)
-- returns ({ ["text/html"] = ..., ["image/svg+xml"] = ... }): graphs an
-- SVG picture when Graphviz is installed, summaries an HTML table.  The
-- text/plain form is always the REPL's own printing.

local M = {}

local entities = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }
function M.escape(s) return (tostring(s):gsub('[&<>"]', entities)) end
local esc = M.escape

local cell = '<td style="text-align:right;font-family:monospace">%s</td>'

-- A tensor as HTML, made from its printed text so that both show the same
-- digits and the same abbreviation: one table per matrix, under its
-- "(i,j,.,.) =" heading, and the shape line below.
function M.tensor_html(x)
  local text = tostring(x)
  if not text:find("\n") and not text:find("^%[") then return nil end   -- a 0-d value
  local out, rows, width = { '<div class="nncalc-tensor">' }, nil, 0
  local function close()
    if rows then out[#out + 1] = "</table>" end
    rows = nil
  end
  for line in (text .. "\n"):gmatch("(.-)\n") do
    if line:match("^%(.*%) =$") then
      close()
      out[#out + 1] = "<div><code>" .. esc(line) .. "</code></div>"
    elseif line:match("^%s*$") then
      close()
    elseif line == "..." then
      close()
      out[#out + 1] = "<div>&#8942;</div>"
    elseif line:match("^%[") then
      close()
      out[#out + 1] = "<div><small><code>" .. esc(line) .. "</code></small></div>"
    else
      if not rows then out[#out + 1] = "<table>"; rows = true end
      local cells = {}
      for v in line:gmatch("%S+") do cells[#cells + 1] = v end
      if #cells == 1 and cells[1] == "..." and width > 1 then   -- rows left out
        for i = 1, width do cells[i] = "&#8942;" end
      else
        width = #cells
        for i, v in ipairs(cells) do cells[i] = v == "..." and "&#8230;" or esc(v) end
      end
      for i, v in ipairs(cells) do cells[i] = cell:format(v) end
      out[#out + 1] = "<tr>" .. table.concat(cells) .. "</tr>"
    end
  end
  close()
  out[#out + 1] = "</div>"
  return table.concat(out, "\n")
end

-- An HTML table from a header and rows of strings; numbers right-aligned,
-- the first column left.  note rows span the table.
function M.table_html(head, rows, foot, class)
  local out = { ('<table class="%s">'):format(class or "nncalc"), "<thead><tr>" }
  local function row(cells, tag)
    local parts = {}
    for i, v in ipairs(cells) do
      parts[i] = ('<%s style="text-align:%s;white-space:pre">%s</%s>'):format(tag, i == 1 and "left" or "right",
        esc(v), tag)
    end
    return "<tr>" .. table.concat(parts) .. "</tr>"
  end
  for i, v in ipairs(head) do
    out[#out + 1] = ('<th style="text-align:%s">%s</th>'):format(i == 1 and "left" or "right", esc(v))
  end
  out[#out + 1] = "</tr></thead><tbody>"
  for _, r in ipairs(rows) do
    if r.note then
      out[#out + 1] = ('<tr><td colspan="%d" style="text-align:left"><i>note: %s</i></td></tr>'):format(
        #r.cells, esc(r.note))
    else
      out[#out + 1] = row(r.cells, "td")
    end
  end
  out[#out + 1] = "</tbody>"
  if foot then out[#out + 1] = "<tfoot>" .. row(foot, "th") .. "</tfoot>" end
  out[#out + 1] = "</table>"
  return table.concat(out, "\n")
end

-- graph(L) as SVG through Graphviz's dot, or nil where it is missing.
function M.graph_svg(g)
  if not os.execute("command -v dot >/dev/null 2>&1") then return nil end
  local path = os.tmpname()
  local ok = pcall(g.svg, g, path)
  local f = ok and io.open(path, "rb")
  local svg = f and f:read("a")
  if f then f:close() end
  os.remove(path)
  if svg then svg = svg:gsub("^.-(<svg)", "%1") end   -- no XML prolog inside HTML
  return svg
end

function M.mime(v)
  if nncalc.is_tensor(v) then
    local html = M.tensor_html(v)
    return html and { ["text/html"] = html } or nil
  end
  local mt = getmetatable(v)
  local f = type(mt) == "table" and rawget(mt, "__mime")
  if type(f) == "function" then return f(v) end
  return nil
end

return M
