-- title: Tensors and shapes
-- summary: the calculator basics: tensors, indexing, products, broadcasting
title("Lesson 1: tensors and shapes")

say([[A tensor is a table of numbers with a shape. Homework vectors and
matrices are typed as nested tables, rows first.]])
x  = tensor{2, 1}
W1 = tensor{{1, 0}, {3, 4}, {1, 2}}
show("x", x)
show("W1", W1)
say("W1 has 3 rows and 2 columns: its shape is " .. tostring(W1:shape()) .. ".")
ask("How many numbers does W1 hold?", W1:numel(), 0, "3 rows x 2 columns = 6 (W1:numel())")
check("#W1 is the number of rows", #W1, 3)
pause()

say([[Indices start at 1, as on paper. W1[{2, 1}] is row 2, column 1;
W1[2] is the whole second row (a view: it shares W1's numbers, so writing
into it writes into W1).]])
show("W1[{2, 1}]", W1[{2, 1}])
show("W1[2]", W1[2])
ask("What is W1[{3, 2}]?", W1[{3, 2}], 0)
pause()

say([[* is the matrix product as written on paper. W1 * x multiplies a 3x2
matrix by a 2-vector: each entry is a row of W1 times x.]])
ask("What is W1 * x?", W1 * x, 1e-9, "(1·2 + 0·1, 3·2 + 4·1, 1·2 + 2·1) = (2, 10, 4)")
check("W1 * x", W1 * x, {2, 10, 4})
pause()

say([[Shapes must fit: the inner sizes must agree. W1 * W1 is 3x2 * 3x2, and
nncalc says exactly what is wrong:]])
local ok, err = pcall(function() return W1 * W1 end)
show("error", err)
check("the product of mismatched shapes is refused", not ok, true)
say("The transpose W1:t() is 2x3, so W1:t() * W1 (2x3 * 3x2) is a 2x2 matrix:")
show("W1:t() * W1", W1:t() * W1)
check("W1ᵀW1", W1:t() * W1, {{11, 14}, {14, 20}})
pause()

say([[+ - / and ^ work element by element, and a smaller shape is repeated to
fit (broadcasting): a 2-vector is added to every row of W1. The elementwise
product is cmul, since * is the matrix product.]])
show("W1 + tensor{10, 20}", W1 + tensor{10, 20})
show("x:cmul(x)", x:cmul(x))
check("broadcasting adds the vector to each row", W1 + tensor{10, 20}, {{11, 20}, {13, 24}, {11, 22}})
pause()

say([[Reductions: W1:sum() adds everything (a plain number), W1:sum(1) adds
down the rows (one number per column), W1:sum(2) across the columns.]])
ask("What is W1:sum()?", W1:sum(), 0)
show("W1:sum(1)", W1:sum(1))
show("W1:sum(2)", W1:sum(2))
check("column sums", W1:sum(1), {5, 6})

say([[That is the whole calculator: tensors, shapes and products. help() in
the REPL lists everything else; the variables x and W1 are still there.]])
