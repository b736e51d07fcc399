-- Lesson 1: tensors and shapes — the calculator basics.
-- Run it with:  nncalc lessons/01_tensors.lua   (or step through it by hand
-- in the REPL: every line below can be typed at the prompt).

local function say(s) io.write("\n", s, "\n") end
local function show(label, v) io.write(label, " =\n", tostring(v), "\n") end

say("A tensor is a table of numbers with a shape.  Homework vectors and\n"
 .. "matrices are typed as nested tables, rows first:")
x  = tensor{2, 1}
W1 = tensor{{1, 0}, {3, 4}, {1, 2}}
show("x", x)
show("W1", W1)
say("W1 has 3 rows and 2 columns: its shape is " .. tostring(W1:shape())
 .. ", #W1 = " .. #W1 .. " rows, W1:numel() = " .. W1:numel() .. " numbers.")
assert(W1:size(1) == 3 and W1:size(2) == 2)

say("Indices start at 1, as on paper.  W1[{2, 1}] is row 2, column 1:")
print(W1[{2, 1}])
assert(W1[{2, 1}] == 3)
say("W1[2] is the whole second row (a view: it shares W1's numbers):")
show("W1[2]", W1[2])

say("* is the matrix product written on paper: W1 * x multiplies a 3x2\n"
 .. "matrix by a 2-vector and gives a 3-vector.")
local a1 = W1 * x
show("W1 * x", a1)
assert(a1 == tensor{2, 10, 4})

say("Shapes must fit: the inner sizes have to agree.  W1 * W1 is 3x2 * 3x2:")
local ok, err = pcall(function() return W1 * W1 end)
print(err)
assert(not ok and err:find("inner dims 2 vs 3", 1, true))

say("The transpose W1:t() is 2x3, so W1:t() * W1 works (2x3 * 3x2 = 2x2):")
show("W1:t() * W1", W1:t() * W1)

say("+ - / and ^ work element by element, and a smaller shape is repeated\n"
 .. "to fit (broadcasting): adding a bias vector to every row, say.")
show("W1 + tensor{10, 20}", W1 + tensor{10, 20})
say("The elementwise product is cmul (the operator * is the matrix product):")
show("x:cmul(x)", x:cmul(x))

say("Reductions: W1:sum() adds everything (a plain number), W1:sum(1) adds\n"
 .. "down the rows (one number per column), W1:sum(2) across the columns.")
print(W1:sum())
show("W1:sum(1)", W1:sum(1))
show("W1:sum(2)", W1:sum(2))
assert(W1:sum() == 11)

say("That is the whole calculator: tensors, shapes, products.  Try\n"
 .. "help() in the REPL for everything else.")
