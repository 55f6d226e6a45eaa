# Aligner-only probe (docs/RESULTS.md, round 9): the forward-sum aligner of model/aligner.cc (same layers,
# prior, loss, optimizer settings and batch size) trained alone in PyTorch on festvox-ru with character
# input, MAS on the validation utterances every --eval_every steps, word-boundary MAE against the
# references (ms) beside uniform durations. Input: the .pt written by probe_features.py. Not used by the
# project's commands or tests; Debian's python3-torch. E.g.
#   /usr/bin/python3 tools/results/aligner_probe.py --data=fr.pt --norm=uttg --trim --seed=2
import argparse, math, random, time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
p = argparse.ArgumentParser()
p.add_argument('--data'); p.add_argument('--steps', type=int, default=2000); p.add_argument('--lr', type=float, default=1e-3)
p.add_argument('--warmup', type=int, default=100); p.add_argument('--batch_frames', type=int, default=3000)
p.add_argument('--prior', type=float, default=1.0); p.add_argument('--noprior', action='store_true')
p.add_argument('--norm', default='none')  # none | global | channel
p.add_argument('--temp', type=float, default=0.0005); p.add_argument('--seed', type=int, default=1)
p.add_argument('--eval_every', type=int, default=250); p.add_argument('--max_frames', type=int, default=0)
p.add_argument('--key_kernel', type=int, default=1); p.add_argument('--decay', default='isqrt')
p.add_argument('--trim', action='store_true'); p.add_argument('--blank', type=float, default=-1.0)
p.add_argument('--edge', action='store_true')  # a silence token at both ends of every text
p.add_argument('--threads', type=int, default=1); p.add_argument('--save', default='')
a = p.parse_args()
torch.set_num_threads(a.threads); torch.manual_seed(a.seed); random.seed(a.seed)
data = torch.load(a.data)
chars = sorted(set(''.join(d['text'] for d in data)))
sym = {c: i + 1 for i, c in enumerate(chars)}
for d in data:
    d['tok'] = torch.tensor([sym[c] for c in d['text']])
    if a.edge: d['tok'] = torch.cat([torch.tensor([len(sym) + 1]), d['tok'], torch.tensor([len(sym) + 1])])
    if a.trim:
        e = d['mel'].exp().sum(1); db = 20*torch.log10(e / e.max() + 1e-12)
        idx = (db > -40).nonzero()[:,0]; s0, s1 = int(idx[0]), int(idx[-1]) + 1
        d['mel'] = d['mel'][s0:s1]
        if d['words']: d['words'] = [(max(0, x - s0), min(s1 - s0, y - s0), l) for x, y, l in d['words']]
rnd = random.Random(0); ids = list(range(len(data))); rnd.shuffle(ids)
val = [data[i] for i in ids[:60] if data[i]['words']][:40]; train = [data[i] for i in ids[60:]]
allmel = torch.cat([d['mel'] for d in train]); mu_c, sd_c = allmel.mean(0), allmel.std(0); mu_g, sd_g = allmel.mean(), allmel.std()
def nm(m):
    if a.norm == 'channel': return (m - mu_c) / sd_c
    if a.norm == 'global': return (m - mu_g) / sd_g
    if a.norm == 'utt': return (m - m.mean(0, keepdim=True)) / m.std()
    if a.norm == 'uttc': return (m - m.mean(0, keepdim=True)) / (m.std(0, keepdim=True) + 1.0)
    if a.norm == 'uttg': return (m - m.mean()) / m.std()
    if a.norm == 'fixed': return (m + 5.0) / 3.0
    return m
print(f'train {len(train)} val {len(val)} vocab {len(sym)} mean frames {np.mean([len(d["mel"]) for d in train]):.0f} mean chars {np.mean([len(d["tok"]) for d in train]):.0f}', flush=True)
class Aligner(nn.Module):
    def __init__(s, V, C=256, A=80):
        super().__init__(); s.emb = nn.Embedding(V, C)
        s.k1 = nn.Conv1d(C, C, a.key_kernel, padding=a.key_kernel//2); s.k2 = nn.Conv1d(C, A, 1)
        s.q1 = nn.Conv1d(80, C, 3, padding=1); s.q2 = nn.Conv1d(C, C, 1); s.q3 = nn.Conv1d(C, A, 1)
    def forward(s, tok, tl, mel, ml):
        N, T = tok.shape[1], mel.shape[1]
        tm = torch.arange(N)[None] < tl[:, None]; fm = torch.arange(T)[None] < ml[:, None]
        x = s.emb(tok) * tm[..., None]
        k = s.k2(F.relu(s.k1(x.transpose(1, 2))))
        q = s.q3(F.relu(s.q2(F.relu(s.q1((mel * fm[..., None]).transpose(1, 2))))))
        dist = q.square().sum(1)[:, :, None] + k.square().sum(1)[:, None, :] - 2 * torch.bmm(q.transpose(1, 2), k)
        sc = (-a.temp * dist).masked_fill(~tm[:, None], -1e4)
        la = torch.log_softmax(sc, -1)
        if not a.noprior:
            la = torch.log_softmax((la + prior(tl, ml, N, T)).masked_fill(~tm[:, None], -1e4), -1)
        return la.masked_fill(~tm[:, None], -1e4).masked_fill(~fm[..., None], 0.0)
def prior(tl, ml, N, T):
    nb = tl.double().view(-1, 1, 1); tb = ml.double().view(-1, 1, 1)
    tt = torch.minimum(torch.arange(T).double().view(1, -1, 1), (tb - 1).clamp_min(0)); bn = (nb - 1).clamp_min(0)
    k = torch.minimum(torch.arange(N).double().view(1, 1, -1), bn); A_ = a.prior * (tt + 1); B_ = a.prior * (tb - tt)
    lb = lambda x, y: torch.lgamma(x) + torch.lgamma(y) - torch.lgamma(x + y)
    lp = torch.lgamma(bn + 1) - torch.lgamma(k + 1) - torch.lgamma(bn - k + 1) + lb(k + A_, bn - k + B_) - lb(A_, B_)
    tm = torch.arange(N)[None, None] < tl.view(-1, 1, 1); fm = torch.arange(T)[None, :, None] < ml.view(-1, 1, 1)
    return lp.masked_fill(~tm, -float('inf')).masked_fill(~fm, 0).float()
def fsloss(la, tl, ml):
    B, T, N = la.shape
    pad = F.pad(la, (1, 0), value=a.blank)
    keep = torch.cat([torch.ones(B, 1, dtype=torch.bool), torch.arange(N)[None] < tl[:, None]], 1)
    pad = torch.log_softmax(pad.masked_fill(~keep[:, None], -1e4), -1)
    tg = torch.arange(1, N + 1)[None].expand(B, N)
    l = F.ctc_loss(pad.transpose(0, 1), tg, ml, tl, blank=0, reduction='none', zero_infinity=True)
    return (l / tl.clamp_min(1)).mean()
def mas(lp):  # lp [T, N] numpy -> durations
    T, N = lp.shape; v = np.full((T, N), -np.inf); v[0, 0] = lp[0, 0]
    for t in range(1, T):
        prev = v[t - 1]; shift = np.concatenate([[-np.inf], prev[:-1]])
        v[t] = np.maximum(prev, shift) + lp[t]
    d = np.zeros(N, dtype=int); n = N - 1
    for t in range(T - 1, -1, -1):
        d[n] += 1
        if t > 0 and n > 0 and (n == t or v[t - 1, n - 1] > v[t - 1, n]): n -= 1
    return d
def word_spans(text, dur):
    ends = np.cumsum(dur); starts = ends - dur; spans = []; i = 0
    for tok in text.split(' '):
        j = i + len(tok); al = [k for k in range(i, j) if text[k].isalnum()]
        if al: spans.append((starts[al[0]], ends[al[-1]]))
        i = j + 1
    return spans
def wmae(d, dur):
    off = 0
    if a.edge: off = dur[0]; dur = dur[1:-1]  # the edge tokens' frames are outside every word
    sp = [(x + off, y + off) for x, y in word_spans(d['text'], dur)]; ref = d['words']
    if len(sp) != len(ref): return None
    return [abs(int(x) - r) for (x, y), (r, s, _) in zip(sp, ref)] + [abs(int(y) - s) for (x, y), (r, s, _) in zip(sp, ref)]
def evaluate(model):
    errs, errs_u, skipped = [], [], 0
    with torch.no_grad():
        for d in val:
            tl = torch.tensor([len(d['tok'])]); ml = torch.tensor([len(d['mel'])])
            la = model(d['tok'][None], tl, nm(d['mel'])[None], ml)[0].numpy()
            e = wmae(d, mas(la)); T, N = la.shape
            u = np.diff(np.round(np.linspace(0, T, N + 1)).astype(int)); eu = wmae(d, u)
            if e is None: skipped += 1; continue
            errs += e; errs_u += eu
    ms = 256 / 22050 * 1000
    return np.mean(errs) * ms, np.mean(errs_u) * ms, skipped
model = Aligner(len(sym) + 2)
opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.98), eps=1e-9, weight_decay=1e-6)
def lr_at(s):
    s = s + 1
    if a.decay == 'const': return a.lr * min(1, s / a.warmup)
    return a.lr * min(s / a.warmup, math.sqrt(a.warmup / s))
order = sorted(range(len(train)), key=lambda i: len(train[i]['mel']))
def batches():
    while True:
        bs, cur, mx = [], [], 0
        for i in order:
            L = len(train[i]['mel'])
            if cur and max(mx, L) * (len(cur) + 1) > a.batch_frames: bs.append(cur); cur, mx = [], 0
            cur.append(i); mx = max(mx, L)
        if cur: bs.append(cur)
        random.shuffle(bs)
        for b in bs: yield b
it = batches(); t0 = time.time(); losses = []
print('step 0 eval', evaluate(model), flush=True)
for step in range(1, a.steps + 1):
    b = [train[i] for i in next(it)]
    tl = torch.tensor([len(d['tok']) for d in b]); ml = torch.tensor([len(d['mel']) for d in b])
    tok = nn.utils.rnn.pad_sequence([d['tok'] for d in b], batch_first=True)
    mel = nn.utils.rnn.pad_sequence([nm(d['mel']) for d in b], batch_first=True)
    for g in opt.param_groups: g['lr'] = lr_at(step - 1)
    loss = fsloss(model(tok, tl, mel, ml), tl, ml)
    opt.zero_grad(); loss.backward(); nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
    losses.append(loss.item())
    if step % 50 == 0: print(f'step {step} loss {np.mean(losses[-50:]):.3f} {time.time()-t0:.0f}s', flush=True)
    if step % a.eval_every == 0 and a.save: torch.save(model.state_dict(), a.save)
    if step % a.eval_every == 0: print(f'step {step} eval word MAE ms, uniform, skipped:', evaluate(model), flush=True)
