-- examples/hw1.lua — homework 1, Problem 1 with a student's answers next to
-- what nncalc computes:  nncalc check examples/hw1.lua  (or --tap, --json,
-- --gradescope).  The second answer is wrong on purpose.
x  = tensor{2, 1}
W1 = tensor{{1, 0}, {3, 4}, {1, 2}};  b1 = tensor{0, -2, 5}
W2 = tensor{{2, 6, 1}, {0, 3, 1}};    b2 = tensor{-23, -11}
W3 = tensor{{-2, 3}};                 b3 = tensor{18}

question("P1", function()
  local z1 = relu(W1 * x + b1)
  check("z1", z1, "2 8 9")                  -- as written on the sheet
  local z2 = relu(W2 * z1 + b2)
  check("z2", z2, "38 21", {points = 2})
  check("yhat", relu(W3 * z2 + b3)[1], 8, {points = 2})
end)
