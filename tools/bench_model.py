#!/usr/bin/python3
"""PyTorch twin of tools/bench_model.cc: the same modules, batch, lengths and training step.

Run by //tools:bench_model in the same process run (it passes the same flags); prints one JSON line.
Architectures mirror model/*.cc exactly (the parameter counts are printed and compared by the caller).
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


DEVICE = torch.device('cpu')


def sync():
    if DEVICE.type == 'cuda':
        torch.cuda.synchronize()


def apply_mask(x, mask):
    return x * mask.unsqueeze(-1).to(x.dtype)


class SepConvBlock(nn.Module):
    def __init__(self, c, k, dropout):
        super().__init__()
        self.depthwise = nn.Conv1d(c, c, k, padding=k // 2, groups=c)
        self.pointwise = nn.Conv1d(c, c, 1)
        self.norm = nn.LayerNorm(c)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask):
        y = apply_mask(x, mask).transpose(1, 2)
        y = torch.relu(self.pointwise(self.depthwise(y))).transpose(1, 2)
        return apply_mask(self.norm(x + self.dropout(y)), mask)


def packed_gru(gru, x, lengths):
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, _ = gru(packed)
    return nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.size(1))[0]


class Model(nn.Module):
    def __init__(self, light, vocab, k, n_mels=80):
        super().__init__()
        self.light = light
        if light:
            c = 256
            self.embedding = nn.Embedding(vocab, c)
            self.enc_blocks = nn.ModuleList([SepConvBlock(c, 5, 0.1) for _ in range(4)])
            self.enc_proj = nn.Linear(c, c)
            self.dec_in = nn.Linear(c, 256)
            self.dec_blocks = nn.ModuleList([SepConvBlock(256, 17, 0.1) for _ in range(4)])
            self.dec_out = nn.Linear(256, n_mels)
        else:
            c = 512
            self.embedding = nn.Embedding(vocab, 512)
            self.enc_gru = nn.GRU(512, 256, batch_first=True, bidirectional=True)
            self.enc_proj = nn.Linear(512, 512)
            self.dec_gru = nn.GRU(512, 256, num_layers=2, batch_first=True, bidirectional=True)
            self.dec_out = nn.Linear(512, n_mels)
        self.pol_hidden = nn.Linear(c, c)
        self.pol_out = nn.Linear(c, k)

    def actor_parameters(self):
        skip = ('dec_',)
        return [p for n, p in self.named_parameters() if not n.startswith(skip)]

    def encode(self, tokens, mask):
        x = self.embedding(tokens)
        if self.light:
            for b in self.enc_blocks:
                x = b(x, mask)
        else:
            x = packed_gru(self.enc_gru, x, mask.sum(1))
        return apply_mask(self.enc_proj(x), mask)

    def logits(self, enc):
        return self.pol_out(torch.relu(self.pol_hidden(enc)))

    def decode(self, frames, frame_mask):
        if self.light:
            h = apply_mask(self.dec_in(frames), frame_mask)
            for b in self.dec_blocks:
                h = b(h, frame_mask)
        else:
            h = packed_gru(self.dec_gru, frames, frame_mask.sum(1))
        return apply_mask(self.dec_out(h), frame_mask)


def fit(d, mask, target):
    m = mask.double()
    d = d.double().clamp_min(0) * m
    total = d.sum(1, keepdim=True)
    d = torch.where(total > 0, d, m)
    total = d.sum(1, keepdim=True).clamp_min(1)
    cum = torch.round(d.cumsum(1) * target.double().unsqueeze(1) / total)
    prev = F.pad(cum, (1, 0))[:, :-1]
    return ((cum - prev) * m).long()


def regulate(enc, d, mask, target):
    d = fit(d * mask, mask, target)
    cum = d.cumsum(1)
    lengths = cum[:, -1]
    frames = max(int(lengths.max()), 1)
    t = torch.arange(frames, device=d.device)
    index = torch.searchsorted(cum.contiguous(), t.unsqueeze(0).expand(d.size(0), frames).contiguous(), right=True)
    frame_mask = t.unsqueeze(0) < lengths.unsqueeze(1)
    index = torch.where(frame_mask, index.clamp_max(d.size(1) - 1), torch.zeros_like(index))
    out = enc.gather(1, index.unsqueeze(-1).expand(-1, -1, enc.size(2))) * frame_mask.unsqueeze(-1).to(enc.dtype)
    return out, frame_mask, index


PHASES = ('encode', 'sample_regulate', 'decode', 'losses', 'policy_grad', 'mel_backward', 'adam')


class Laps:
    """Wall time per phase of the step, summed over steps (synchronized on CUDA)."""

    def __init__(self):
        self.ms = dict.fromkeys(PHASES, 0.0)
        self.last = time.perf_counter()

    def start(self):
        sync()
        self.last = time.perf_counter()

    def lap(self, phase):
        sync()
        now = time.perf_counter()
        self.ms[phase] += 1000 * (now - self.last)
        self.last = now


def step(model, opt_all, opt_actor, tokens, mask, target, target_mask, target_lengths, laps):
    laps.start()
    enc = model.encode(tokens, mask)
    logits = model.logits(enc)
    laps.lap('encode')
    log_probs = torch.log_softmax(logits, -1)
    with torch.no_grad():
        u = torch.rand(log_probs.shape, device=log_probs.device).clamp_(1e-20, 1.0)
        index = (log_probs.detach() - torch.log(-torch.log(u))).argmax(-1)
    durations = torch.where(mask, index + 1, torch.zeros_like(index))
    idx = torch.where(mask, durations - 1, torch.zeros_like(durations))
    log_prob = log_probs.gather(-1, idx.unsqueeze(-1)).squeeze(-1) * mask.float()
    frames, frame_mask, f2t = regulate(enc, durations, mask, target_lengths)
    laps.lap('sample_regulate')
    mel = model.decode(frames, frame_mask)
    laps.lap('decode')
    m = frame_mask.unsqueeze(-1).float()
    mel_loss = ((mel - target).square() * m).sum() / (m.sum() * mel.size(2))
    with torch.no_grad():
        fm = frame_mask.float()
        err = (mel.detach() - target).square().mean(-1) * fm
        total = torch.zeros(mask.shape, device=err.device).scatter_add_(1, f2t, err)
        count = torch.zeros(mask.shape, device=err.device).scatter_add_(1, f2t, fm)
        reward = -total / count.clamp_min(1)
        mk = mask.float()
        n = mk.sum()
        mean = (reward * mk).sum() / n
        std = ((reward.square() * mk).sum() / n - mean.square()).clamp_min(0).sqrt()
        adv = (reward - mean) / (std + 1e-5) * mk
    entropy = -(log_probs.exp() * log_probs).sum(-1) * mask.float()
    pg = -(adv * log_prob).sum() / mask.float().sum() - 0.01 * entropy.sum() / mask.float().sum()
    actor = model.actor_parameters()
    laps.lap('losses')
    grads = torch.autograd.grad(pg, actor, retain_graph=True)
    laps.lap('policy_grad')
    opt_all.zero_grad()
    mel_loss.backward()
    laps.lap('mel_backward')
    opt_all.step()
    for p, g in zip(actor, grads):
        p.grad = g
    opt_actor.step()
    for p in actor:
        p.grad = None
    laps.lap('adam')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--tokens', type=int, default=32)
    ap.add_argument('--frames_per_token', type=int, default=5)
    ap.add_argument('--vocab', type=int, default=80)
    ap.add_argument('--max_duration', type=int, default=24)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--iters', type=int, default=3)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--configs', default='prototype,light')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    global DEVICE
    DEVICE = torch.device(args.device)
    torch.manual_seed(0)
    b, n = args.batch, args.tokens
    lengths = torch.tensor([max(n - 3 * i, 1) for i in range(b)])
    mask = torch.arange(n).unsqueeze(0) < lengths.unsqueeze(1)
    tokens = torch.tensor([[(7 * i + 3 * j) % (args.vocab - 1) + 1 for j in range(n)] for i in range(b)]) * mask
    target_lengths = lengths * args.frames_per_token
    t_max = int(target_lengths.max())
    target_mask = torch.arange(t_max).unsqueeze(0) < target_lengths.unsqueeze(1)
    target = torch.randn(b, t_max, 80) * target_mask.unsqueeze(-1)
    mask, tokens, target_lengths, target = (x.to(DEVICE) for x in (mask, tokens, target_lengths, target))
    result = {}
    for name in args.configs.split(','):
        model = Model(name == 'light', args.vocab, args.max_duration).to(DEVICE)
        model.train()
        opt_all = torch.optim.Adam(model.parameters(), lr=1e-3)
        opt_actor = torch.optim.Adam(model.actor_parameters(), lr=1e-3)
        for _ in range(args.warmup):
            step(model, opt_all, opt_actor, tokens, mask, target, target_mask, target_lengths, Laps())
        laps = Laps()
        steps = []
        for _ in range(args.iters):
            sync()
            start = time.perf_counter()
            step(model, opt_all, opt_actor, tokens, mask, target, target_mask, target_lengths, laps)
            sync()
            steps.append(1000 * (time.perf_counter() - start))
        result[name] = {
            'step_ms': sorted(steps)[len(steps) // 2],  # median (upper median for even counts)
            'mean_ms': sum(steps) / len(steps),
            'sample_lr_ms': laps.ms['sample_regulate'] / args.iters,
            'params': sum(p.numel() for p in model.parameters()),
            'phases_ms': {k: v / args.iters for k, v in laps.ms.items()},
        }
    result['torch'] = torch.__version__
    print(json.dumps(result))


if __name__ == '__main__':
    main()
