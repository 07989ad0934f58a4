# The PyTorch peer of `tinyseek bench block`: forward + backward of one pre-norm transformer block
# (RMSNorm, causal multi-head attention, SwiGLU MLP) as a PyTorch 1.13 user would write it.
# Usage: python3 block_torch.py B T D H F SECONDS  → prints {"ms": median ms per iteration}
import json, sys
from _timing import median_ms
import torch

B, T, D, H, F, SECONDS = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]))
torch.set_num_threads(2)
torch.manual_seed(0)
dh = D // H

def p(*shape):
    return (torch.randn(*shape) * 0.02).requires_grad_()

w_n1, w_n2 = torch.ones(D, requires_grad=True), torch.ones(D, requires_grad=True)
wq, wk, wv, wo = p(D, D), p(D, D), p(D, D), p(D, D)
w1, w3, w2 = p(F, D), p(F, D), p(D, F)
params = [w_n1, w_n2, wq, wk, wv, wo, w1, w3, w2]
mask = torch.full((T, T), float('-inf')).triu_(1)
x = torch.randn(B, T, D, requires_grad=True)
gout = torch.randn(B, T, D)

def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w

def block(x):
    h = rms(x, w_n1)
    q = (h @ wq.t()).view(B, T, H, dh).transpose(1, 2)
    k = (h @ wk.t()).view(B, T, H, dh).transpose(1, 2)
    v = (h @ wv.t()).view(B, T, H, dh).transpose(1, 2)
    s = (q @ k.transpose(-1, -2)) * dh ** -0.5 + mask
    o = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, D)
    x = x + o @ wo.t()
    h = rms(x, w_n2)
    return x + (torch.nn.functional.silu(h @ w1.t()) * (h @ w3.t())) @ w2.t()

def step():
    for t in params + [x]:
        t.grad = None
    block(x).backward(gout)

ms, _ = median_ms(step, SECONDS)
print(json.dumps({"ms": ms, "threads": torch.get_num_threads(), "torch": torch.__version__}))
