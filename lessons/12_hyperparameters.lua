-- title: Grid and random search
-- summary: what a grid search costs, how many random trials find a good setting, and why random search covers better
title("Lesson 12: grid search and random search")

say([[Hyper-parameters (learning rate, weight decay, dropout ...) are chosen by
training many times. A grid search tries every combination: with 10 values of
lambda1, 6 of lambda2 and 5 of rho, each run 10 epochs of 2 minutes,
grid_search does the arithmetic:]])
g = grid_search{10, 6, 5, epochs = 10, minutes_per_epoch = 2}
show("grid_search{10, 6, 5, epochs = 10, minutes_per_epoch = 2}", g)
ask("How many training runs?", g.runs, 0, "the product of the numbers of values")
ask("How many epochs in total?", g.epochs, 0)
ask("How many hours of training?", g.minutes / 60, 1e-9)
check("300 runs, 3000 epochs, 6000 minutes", tensor{g.runs, g.epochs, g.minutes}, {300, 3000, 6000})
say([[Each new hyper-parameter multiplies the cost: a fourth one with 4 values
would make it 4 times longer.]])
pause()

say([[Random search draws each setting at random instead. Suppose 5% of all
settings are 'good'. One random trial misses them with probability 0.95, N
independent trials all miss with probability 0.95^N. So with p = 0.05,
P(at least one good in N trials) = 1 - (1 - p)^N, and asking for at least a
confidence c gives N >= ln(1 - c) / ln(1 - p) (dividing by ln(1 - p) < 0
flips the inequality). random_trials(p, c) returns the smallest whole N, and
the formula:]])
n95, f95 = random_trials(0.05, 0.95)
n995, f995 = random_trials(0.05, 0.995)
show("random_trials(0.05, 0.95)", f95)
show("random_trials(0.05, 0.995)", f995)
ask("How many trials give 95% confidence?", n95, 0)
ask("And 99.5% confidence?", n995, 0, "ln(0.005) / ln(0.95), rounded up")
check("59 and 104 trials", tensor{n95, n995}, {59, 104})
p_less, p_n = 1 - 0.95 ^ (n95 - 1), 1 - 0.95 ^ n95
ask("What is the chance of success with exactly N = " .. n95 .. " trials?", p_n, 1e-6)
check("N - 1 trials fall short of 95%, N trials reach it", p_less < 0.95 and p_n >= 0.95, true)
say("Notice what is missing: the number of hyper-parameters. " .. n95 .. [[ trials find a
top-5% setting with 95% confidence whether the space has 2 dimensions or 20.]])
pause()

say([[Why random search often wins: usually only a few hyper-parameters matter.
Say the loss depends on x only, best at x = 0.37, and y does nothing. A 3x3
grid (x and y in {0.1, 0.5, 0.9}) spends 9 runs but tries only 3 values of
x; 9 random points try 9 different values of x.]])
grid_x = tensor{0.1, 0.5, 0.9}
best_grid = (grid_x - 0.37):abs():min()
seed(12)
R = rand(9, 2)
show("9 random (x, y) points", R)
best_random = (R:select(2, 1) - 0.37):abs():min()
function distinct(list)
  local seen, n = {}, 0
  for _, v in ipairs(list) do if not seen[v] then seen[v] = true; n = n + 1 end end
  return n
end
grid_xs = {}
for i = 1, 3 do for j = 1, 3 do grid_xs[#grid_xs + 1] = grid_x[i] end end
ask("Closest x to 0.37 on the grid: how far?", best_grid, 1e-12, "|0.5 - 0.37|")
ask("And among the 9 random points?", best_random, 1e-9)
check("distinct x values tried: grid vs random", {distinct(grid_xs), distinct(R:select(2, 1):totable())}, {3, 9})
check("the grid's best distance is 0.13", best_grid, 0.13, 1e-12)
say([[One draw could be unlucky, so repeat the random search 1000 times:]])
D = (rand(1000, 9) - 0.37):abs()
best = D:min(2)
ask("Average best distance of 9 random x values?", best:mean(), 1e-9)
ask("In what fraction of the 1000 searches does random beat the grid?", best:lt(best_grid):mean(), 1e-9)
check("about 1 - 0.74^9 = 0.933 of the time", best:lt(best_grid):mean(), 0.933, 0.03)
pause()

say([[Finally a real (tiny) search: fit a line y = 2x + 1 + noise with SGD and
draw the learning rate log-uniformly from [0.001, 1], 5 trials of 20 epochs.
fit(..., {quiet = true}) returns the mean loss of every epoch.]])
seed(3)
Xd = linspace(-1, 1, 20):view(20, 1)
Yd = 2 * Xd + 1 + 0.1 * randn(20, 1)
function train(lr)
  seed(4)   -- the same starting weights for every trial
  local model = nn.Linear(1, 1)
  local h = fit(model, nn.MSELoss(), {Xd, Yd}, {epochs = 20, batch_size = 5,
    opt = optim.SGD(model:parameters(), {lr = lr}), seed = 5, quiet = true})
  return h, model
end
seed(6)
u = rand(5)
best_i, best_loss = nil, math.huge
for i = 1, 5 do
  local lr = 10 ^ (-3 * u[i])
  local h, model = train(lr)
  show(("trial %d: lr = %.4f, loss after 20 epochs"):format(i, lr), h[#h])
  if h[#h] < best_loss then best_i, best_loss, best_lr, best_h, best_model = i, h[#h], lr, h, model end
end
ask("Which trial is best?", best_i, 0)
say("Its loss history, epoch by epoch:")
plot(best_h, {width = 50, height = 10})
check("the loss falls during training", best_h[#best_h] < best_h[1], true)
show("fitted slope and intercept", cat({best_model.weight:detach():view(1), best_model.bias:detach()}))
check("the fitted slope is within 0.1 of 2", math.abs(best_model.weight:detach()[{1, 1}] - 2) < 0.1, true)

say([[Summary: a grid costs the product of its sizes and wastes runs on
dimensions that do not matter; random search needs ln(1 - c) / ln(1 - p)
trials whatever the dimension. g, R, D, best, train() and best_h are still
defined.]])
