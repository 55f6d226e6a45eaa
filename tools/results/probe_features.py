# Features for aligner_probe.py: log-mel (the contract's numerics, torchaudio), lower-cased NFKC text and the
# word references of a corpus made by tools/festvox_ru/prepare.sh. Usage: probe_features.py CORPUS OUT.pt
import sys, os, re, unicodedata, torch, torchaudio
root = sys.argv[1]; out = sys.argv[2]
mel_fn = torchaudio.transforms.MelSpectrogram(sample_rate=22050, n_fft=1024, win_length=1024, hop_length=256,
    f_min=0, f_max=8000, n_mels=80, power=1, center=True, pad_mode='reflect', norm='slaney', mel_scale='slaney')
def tg_words(path):
    lines = [l.strip() for l in open(path, encoding='utf-8')]
    # short format: header 7 lines, then tier: class, name, xmin, xmax, n, then triples
    i = 7; tiers = {}
    while i < len(lines):
        name = lines[i+1].strip('"'); n = int(lines[i+4]); i += 5
        ivs = []
        for k in range(n):
            ivs.append((float(lines[i]), float(lines[i+1]), lines[i+2][1:-1])); i += 3
        tiers[name] = ivs
    return tiers
data = []
for line in open(os.path.join(root, 'metadata.csv'), encoding='utf-8'):
    uid, text, _ = line.rstrip('\n').split('|')
    w, sr = torchaudio.load(os.path.join(root, 'wavs', uid + '.wav'))
    w = torchaudio.functional.resample(w, sr, 22050)
    mel = torch.log(torch.clamp(mel_fn(w[0]), min=1e-5)).T.contiguous()  # [T, 80]
    norm = re.sub(r'\s+', ' ', unicodedata.normalize('NFKC', text).lower()).strip()
    tg = os.path.join(root, 'textgrids', uid + '.TextGrid')
    words = None
    if os.path.exists(tg):
        words = [(round(a*22050/256), round(b*22050/256), l) for a, b, l in tg_words(tg)['words'] if l]
    data.append(dict(id=uid, text=norm, mel=mel, words=words))
    if len(data) % 100 == 0: print(len(data), flush=True)
torch.save(data, out)
