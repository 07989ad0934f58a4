# The PyTorch peer of `tinyseek bench train-step`: one full DeepSeek-V3 training step (forward with
# the MTP module, backward, global-norm clipping, AdamW, auxiliary-loss-free bias update) of the model
# described by a Hugging Face DeepSeek-V3 config.json, written as a PyTorch user would write it.
#
#   embed → N × [RMSNorm → MLA → residual → RMSNorm → SwiGLU (first_k_dense_replace layers) or
#   DeepSeekMoE → residual] → RMSNorm → lm_head → CE
#   MTP depth 1: eh_proj([RMSNorm(Emb(t_{i+1})) ; RMSNorm(h_i)]) → one decoder layer → RMSNorm →
#   lm_head (shared) → CE of t_{i+2}, weighted mtp_weight
#   + the sequence-wise balance loss α·Σ f_i P_i of every main MoE layer
#
# Usage: python3 train_step_torch.py CONFIG.json B T SECONDS THREADS MTP_WEIGHT [--count]
#   → prints {"ms": median ms per step, "params": trainable parameters, ...} (with --count: params only)
import json, math, sys
from _timing import median_ms
import torch
import torch.nn as nn
import torch.nn.functional as F

cfg_path = sys.argv[1]
B, T = int(sys.argv[2]), int(sys.argv[3])
SECONDS, THREADS, MTP_WEIGHT = float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
COUNT_ONLY = '--count' in sys.argv[7:]
with open(cfg_path) as f:
    cfg = json.load(f)

torch.set_num_threads(THREADS)
torch.manual_seed(0)

D = cfg['hidden_size']
V = cfg['vocab_size']
H = cfg['num_attention_heads']
DN, DR, DV = cfg['qk_nope_head_dim'], cfg['qk_rope_head_dim'], cfg['v_head_dim']
Q_RANK, KV_RANK = cfg['q_lora_rank'], cfg['kv_lora_rank']
EPS = cfg['rms_norm_eps']
E, K = cfg['n_routed_experts'], cfg['num_experts_per_tok']
STD = cfg.get('initializer_range', 0.02)
# PyTorch ≥ 2.1 has fused attention with a custom scale (what a user of it would call); 1.13 writes it out.
SDPA = tuple(int(x) for x in torch.__version__.split('+')[0].split('.')[:2]) >= (2, 1)
if cfg.get('rope_scaling') is not None:
    sys.exit('train_step_torch.py implements plain RoPE only; this config has rope_scaling (YaRN)')
if cfg['scoring_func'] != 'sigmoid' or cfg['topk_method'] != 'noaux_tc':
    sys.exit('train_step_torch.py implements DeepSeek-V3 routing only (scoring_func sigmoid, topk_method noaux_tc)')
if cfg.get('tie_word_embeddings'):
    sys.exit('train_step_torch.py expects an untied lm_head')


class RMSNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * self.weight


def linear(i, o):
    lin = nn.Linear(i, o, bias=False)
    nn.init.normal_(lin.weight, std=STD)
    return lin


def rope_tables(n):
    inv = 1.0 / (cfg['rope_theta'] ** (torch.arange(0, DR, 2, dtype=torch.float64) / DR))
    ang = torch.outer(torch.arange(n, dtype=torch.float64), inv)
    return ang.cos().float(), ang.sin().float()  # [n, DR/2]


def apply_rope(x, cos, sin):
    # x [B, T, heads, DR], rotating adjacent pairs (x[2i], x[2i+1]) as DeepSeek's reference does
    x1, x2 = x[..., 0::2], x[..., 1::2]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    return torch.stack((x1 * c - x2 * s, x1 * s + x2 * c), dim=-1).flatten(-2)


class MLA(nn.Module):
    def __init__(self):
        super().__init__()
        self.q_a_proj = linear(D, Q_RANK)
        self.q_a_layernorm = RMSNorm(Q_RANK)
        self.q_b_proj = linear(Q_RANK, H * (DN + DR))
        self.kv_a_proj_with_mqa = linear(D, KV_RANK + DR)
        self.kv_a_layernorm = RMSNorm(KV_RANK)
        self.kv_b_proj = linear(KV_RANK, H * (DN + DV))
        self.o_proj = linear(H * DV, D)
        self.scale = (DN + DR) ** -0.5

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x))).view(b, t, H, DN + DR)
        q_nope, q_pe = q.split([DN, DR], dim=-1)
        q_pe = apply_rope(q_pe, cos, sin)
        kv = self.kv_a_proj_with_mqa(x)
        c_kv, k_pe = kv.split([KV_RANK, DR], dim=-1)
        k_pe = apply_rope(k_pe.view(b, t, 1, DR), cos, sin)  # one rotary key shared by all heads
        kv = self.kv_b_proj(self.kv_a_layernorm(c_kv)).view(b, t, H, DN + DV)
        k_nope, v = kv.split([DN, DV], dim=-1)
        q = torch.cat([q_nope, q_pe], dim=-1).transpose(1, 2)  # [b, H, t, DN + DR]
        k = torch.cat([k_nope, k_pe.expand(b, t, H, DR)], dim=-1).transpose(1, 2)
        v = v.transpose(1, 2)
        if SDPA:
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=self.scale)
        else:
            scores = (q @ k.transpose(-1, -2)) * self.scale + mask
            o = torch.softmax(scores, dim=-1) @ v  # [b, H, t, DV]
        return self.o_proj(o.transpose(1, 2).reshape(b, t, H * DV))


class MLP(nn.Module):
    def __init__(self, inter):
        super().__init__()
        self.gate_proj = linear(D, inter)
        self.up_proj = linear(D, inter)
        self.down_proj = linear(inter, D)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Gate(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(E, D) * STD)
        self.register_buffer('e_score_correction_bias', torch.zeros(E))

    def forward(self, x):
        scores = torch.sigmoid(F.linear(x, self.weight))  # [N, E]
        with torch.no_grad():  # the bias picks the experts; the weights stay the unbiased scores
            biased = scores + self.e_score_correction_bias
            G, per = cfg['n_group'], E // cfg['n_group']
            if G > 1:
                group_scores = biased.view(-1, G, per).topk(2, dim=-1)[0].sum(-1)  # [N, G]
                keep = group_scores.topk(cfg['topk_group'], dim=-1)[1]
                group_mask = torch.zeros_like(group_scores).scatter_(1, keep, 1.0)
                expert_mask = group_mask.unsqueeze(-1).expand(-1, G, per).reshape(-1, E)
                biased = biased.masked_fill(expert_mask == 0, float('-inf'))
            idx = biased.topk(K, dim=-1)[1]  # [N, K]
        w = scores.gather(1, idx)
        if cfg['norm_topk_prob']:
            w = w / (w.sum(-1, keepdim=True) + 1e-20)
        return idx, w * cfg['routed_scaling_factor'], scores


class MoE(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate = Gate()
        self.experts = nn.ModuleList([MLP(cfg['moe_intermediate_size']) for _ in range(E)])
        self.shared_experts = MLP(cfg['n_shared_experts'] * cfg['moe_intermediate_size'])
        self.balance_loss = None
        self.counts = None

    def forward(self, x):
        b, t, _ = x.shape
        flat = x.reshape(-1, D)
        idx, w, scores = self.gate(flat)
        y = torch.zeros_like(flat)
        for e, expert in enumerate(self.experts):
            tok, slot = torch.where(idx == e)  # the tokens routed to expert e
            if tok.numel() == 0:
                continue
            out = expert(flat.index_select(0, tok)) * w[tok, slot, None]
            y.index_add_(0, tok, out)
        y = y + self.shared_experts(flat)
        with torch.no_grad():
            counts = torch.bincount(idx.flatten(), minlength=E)
            self.counts = counts.float()
        if self.training and cfg['aux_loss_alpha'] > 0:
            # sequence-wise balance loss: f_i = E/(K·T)·#tokens of the sequence routed to i, P_i = mean_t s'_i
            with torch.no_grad():
                f = torch.zeros(b, E).scatter_add_(1, idx.view(b, t * K), torch.ones(b, t * K)) * (E / (K * t))
            s = scores.view(b, t, E)
            P = (s / s.sum(-1, keepdim=True)).mean(1)
            self.balance_loss = (f * P).sum() * (cfg['aux_loss_alpha'] / b)
        return y.view(b, t, D)


class DecoderLayer(nn.Module):
    def __init__(self, moe):
        super().__init__()
        self.input_layernorm = RMSNorm(D)
        self.self_attn = MLA()
        self.post_attention_layernorm = RMSNorm(D)
        self.mlp = MoE() if moe else MLP(cfg['intermediate_size'])

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


def is_moe(layer):
    return E > 0 and layer >= cfg['first_k_dense_replace'] and layer % cfg.get('moe_layer_freq', 1) == 0


class MTPModule(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.enorm = RMSNorm(D)
        self.hnorm = RMSNorm(D)
        self.eh_proj = linear(2 * D, D)
        self.block = DecoderLayer(is_moe(layer))
        self.head_norm = RMSNorm(D)

    def forward(self, h, emb, cos, sin, mask):
        x = self.eh_proj(torch.cat([self.enorm(emb), self.hnorm(h)], dim=-1))
        return self.block(x, cos, sin, mask)  # before shared_head.norm (the next depth's input)


class DeepseekV3(nn.Module):
    def __init__(self):
        super().__init__()
        L = cfg['num_hidden_layers']
        self.embed_tokens = nn.Embedding(V, D)
        nn.init.normal_(self.embed_tokens.weight, std=STD)
        self.layers = nn.ModuleList([DecoderLayer(is_moe(l)) for l in range(L)])
        self.norm = RMSNorm(D)
        self.lm_head = linear(D, V)
        self.mtp = nn.ModuleList([MTPModule(L + k) for k in range(cfg.get('num_nextn_predict_layers', 0))])
        cos, sin = rope_tables(cfg['max_position_embeddings'])
        self.register_buffer('rope_cos', cos)
        self.register_buffer('rope_sin', sin)

    def loss(self, ids, mtp_weight):
        inp, tgt = ids[:, :-1], ids[:, 1:]
        t = inp.shape[1]
        mask = torch.full((t, t), float('-inf')).triu_(1)
        h = self.embed_tokens(inp)
        for layer in self.layers:
            h = layer(h, self.rope_cos[:t], self.rope_sin[:t], mask)
        hidden = self.norm(h)
        loss = F.cross_entropy(self.lm_head(hidden).view(-1, V), tgt.reshape(-1))
        # MTP depth k at position i sees h_i and Emb(t_{i+k}) and predicts t_{i+k+1}
        h_prev = hidden
        for k, m in enumerate(self.mtp, start=1):
            tk = t - k
            hk = m(h_prev[:, :tk], self.embed_tokens(ids[:, k:k + tk]), self.rope_cos[:tk], self.rope_sin[:tk], mask[:tk, :tk])
            mtp = F.cross_entropy(self.lm_head(m.head_norm(hk)).reshape(-1, V), ids[:, k + 1:k + 1 + tk].reshape(-1))
            loss = loss + mtp * (mtp_weight / len(self.mtp))
            h_prev = hk
        for layer in self.layers:
            if isinstance(layer.mlp, MoE) and layer.mlp.balance_loss is not None:
                loss = loss + layer.mlp.balance_loss
        return loss

    @torch.no_grad()
    def update_routing_bias(self, gamma):
        # auxiliary-loss-free balancing: b_i += γ·sign(mean load − load_i) (main layers, as tinyseek)
        for layer in self.layers:
            if isinstance(layer.mlp, MoE):
                c = layer.mlp.counts
                layer.mlp.gate.e_score_correction_bias += gamma * torch.sign(c.mean() - c)


model = DeepseekV3().train()
n_params = sum(p.numel() for p in model.parameters())
if COUNT_ONLY:
    print(json.dumps({"params": n_params}))
    sys.exit(0)

# weight decay on matrices only (norm weights: none), as tinyseek's AdamW; betas and eps as its trainer
decay = [p for p in model.parameters() if p.dim() >= 2]
no_decay = [p for p in model.parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}],
                        lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
gen = torch.Generator().manual_seed(0)
ids = torch.randint(0, V, (B, T + 1), generator=gen)
losses = []


def step():
    opt.zero_grad(set_to_none=True)
    loss = model.loss(ids, MTP_WEIGHT)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    model.update_routing_bias(0.001)
    losses.append(loss.item())


ms, runs = median_ms(step, SECONDS)
print(json.dumps({"ms": ms, "params": n_params, "steps": runs, "first_loss": losses[0],
                  "threads": torch.get_num_threads(), "torch": torch.__version__, "attention": "sdpa" if SDPA else "eager"}))
