# anchor_torch.py — the PyTorch side of bench/bench_anchors.lua: the same
# workloads as anchor_nncalc.lua, float64, one thread, printed as
# "key value" lines (microseconds, or milliseconds for keys ending in _ms).
# Run by Debian's /usr/bin/python3 (python3-torch); nncalc needs none of it.
import os
import time

# one thread: torch.set_num_threads(1) below does not reach OpenBLAS's own
# pthread pool, which must be told before the library loads
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import torch  # noqa: E402 (after the thread settings)
import torch.nn as nn  # noqa: E402

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)
torch.manual_seed(0)


def median(fn, reps, rounds=7):
    ts = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        ts.append((time.perf_counter() - t0) / reps)
    ts.sort()
    return ts[len(ts) // 2]


def out(key, seconds, unit=1e6):
    print("%s %.6g" % (key, seconds * unit), flush=True)


# a 4-element add
x, y = torch.tensor([1.0, 2, 3, 4]), torch.tensor([4.0, 3, 2, 1])
out("op", median(lambda: x + y, 20000))

# the 2-3-2-1 homework MLP, forward + backward, plain tensors
xx = torch.tensor([2.0, 1.0])
W1 = torch.tensor([[1.0, 0], [3, 4], [1, 2]], requires_grad=True)
b1 = torch.tensor([0.0, -2, 5], requires_grad=True)
W2 = torch.tensor([[2.0, 6, 1], [0, 3, 1]], requires_grad=True)
b2 = torch.tensor([-23.0, -11], requires_grad=True)
W3 = torch.tensor([[-2.0, 3]], requires_grad=True)
b3 = torch.tensor([18.0], requires_grad=True)
params = [W1, b1, W2, b2, W3, b3]


def mlp_forward():
    z1 = torch.relu(W1 @ xx + b1)
    z2 = torch.relu(W2 @ z1 + b2)
    yhat = torch.relu(W3 @ z2 + b3)
    return ((yhat - 10) ** 2).sum()


def mlp_step():
    for p in params:
        p.grad = None
    mlp_forward().backward()


def mlp_nograd():
    with torch.no_grad():
        mlp_forward()


out("mlp", median(mlp_step, 2000))
out("mlp_forward", median(mlp_forward, 2000))
out("mlp_nograd", median(mlp_nograd, 2000))

net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1), nn.ReLU())


def seq_step():
    net.zero_grad(set_to_none=True)
    ((net(xx) - 10) ** 2).sum().backward()


out("mlp_seq", median(seq_step, 2000))

# LeNet-5 (models.lenet5 in nncalc): forward on a batch of 32, and one
# epoch of SGD on 1,024 images 1x32x32 in batches of 32
lenet = nn.Sequential(
    nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 120, 5), nn.ReLU(), nn.Flatten(),
    nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
X = torch.randn(1024, 1, 32, 32)
Y = torch.arange(1024) % 10
with torch.no_grad():
    out("lenet_fwd_ms", median(lambda: lenet(X[:32]), 20), 1e3)
opt = torch.optim.SGD(lenet.parameters(), lr=0.01)
lossf = nn.CrossEntropyLoss()


def epoch():
    for i in range(0, 1024, 32):
        opt.zero_grad()
        lossf(lenet(X[i:i + 32]), Y[i:i + 32]).backward()
        opt.step()


out("lenet_epoch_ms", median(epoch, 1, 5), 1e3)

# the large convolutions of bench_conv: a ResNet layer and an Inception block
with torch.no_grad():
    xr = torch.randn(1, 64, 56, 56)
    cr = nn.Conv2d(64, 128, 3, padding=1)
    out("conv_resnet_ms", median(lambda: cr(xr), 3, 5), 1e3)
    xi = torch.randn(1, 256, 32, 32)
    br = [nn.Conv2d(256, 128, 1), nn.Conv2d(256, 192, 3, padding=1),
          nn.Conv2d(256, 96, 5, padding=2), nn.Conv2d(256, 64, 1)]
    out("conv_inception_ms", median(lambda: [b(xi) for b in br], 2, 5), 1e3)
