#!/usr/bin/env python3
"""Trains the small T5-style SentencePiece unigram model used by random-weight model folders and tokenizer tests.

The corpus is generated here, deterministically (seeded), so the model can be rebuilt anywhere:
    .venv/bin/python packages/stable-audio/scripts/train_spiece.py --out packages/convert/assets/spiece.model
It uses T5's special ids (pad 0, eos 1, unk 2, no bos) and the nmt_nfkc normaliser, like t5-base's spiece.model.
Dev-time only (Python `sentencepiece` from scripts/requirements-ci.txt); never needed by users.
"""
import argparse
import io
import random

import sentencepiece as spm

INSTRUMENTS = """piano guitar drums bass synth violin cello flute trumpet saxophone harp organ choir strings
pads bells marimba kalimba sitar koto banjo ukulele accordion clarinet oboe horn trombone tuba timpani congas
bongos tabla djembe shaker tambourine cymbals hihat snare kick 808 vocoder theremin mellotron rhodes""".split()
GENRES = """ambient techno house trance dubstep drum-and-bass lofi hip-hop jazz blues rock metal punk funk soul
disco reggae afrobeat cinematic orchestral folk country classical chiptune synthwave trap garage""".split()
ADJ = """warm dark bright gentle aggressive dreamy calm energetic melancholic uplifting distorted clean
lush sparse deep punchy crisp muddy airy glitchy groovy driving slow fast soft loud""".split()
SOUNDS = """birds singing in the morning, rain on a tin roof, thunder rolling over hills, waves crashing on rocks,
footsteps on gravel, a door creaking open, crowd cheering in a stadium, wind through pine trees, a dog barking,
a car engine starting, glass breaking, a clock ticking, fire crackling, a train passing, keyboard typing,
a helicopter flying overhead, water dripping in a cave, children laughing, a cat purring, sirens in the city""".split(',')
FOREIGN = [
    'musique électronique douce avec piano', 'Klavier und Streicher, ruhig', 'guitarra española rápida',
    'música ambiente relajante', 'chitarra acustica e voce', 'ретро синтезатор', 'музыка для сна',
    '雨の音とピアノ', '静かな夜のジャズ', '鸟儿在早晨歌唱', '电子舞曲', '피아노 발라드', '조용한 음악',
    'موسيقى هادئة', 'שיר ערש', 'ดนตรีบรรเลง', 'Ελληνική μουσική', 'café crème naïve façade', 'Ærø Øresund Åland',
    'ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ １２３', 'ｶﾀｶﾅ', '①②③ ⅣⅤ ㎏ ㎞ ﬁ ﬂ', 'emoji 🎹🎸🥁🎺 🎶', 'Straße Maß',
]


def corpus(seed: int, n: int):
    rnd = random.Random(seed)
    for _ in range(n):
        kind = rnd.random()
        if kind < 0.55:
            words = [rnd.choice(ADJ), rnd.choice(GENRES), 'track with', rnd.choice(INSTRUMENTS), 'and',
                     rnd.choice(INSTRUMENTS)]
            if rnd.random() < 0.5:
                words.append(f'{rnd.randrange(60, 180)} BPM')
            if rnd.random() < 0.3:
                words.append(rnd.choice(['in C minor', 'in A major', 'in F# minor', 'in Eb major']))
            yield ' '.join(words)
        elif kind < 0.85:
            yield f'{rnd.choice(SOUNDS).strip()}, {rnd.choice(ADJ)} and {rnd.choice(ADJ)}'
        else:
            yield rnd.choice(FOREIGN) + ' ' + rnd.choice(ADJ)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--vocab-size', type=int, default=500)
    ap.add_argument('--byte-fallback', action='store_true')
    ap.add_argument('--seed', type=int, default=1234)
    args = ap.parse_args()
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=corpus(args.seed, 20000),
        model_writer=buf,
        model_type='unigram',
        vocab_size=args.vocab_size,
        normalization_rule_name='nmt_nfkc',
        character_coverage=0.995,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        byte_fallback=args.byte_fallback,
        user_defined_symbols=['<extra_id_0>'] if args.byte_fallback else [],
        num_threads=1,
        minloglevel=2,
    )
    with open(args.out, 'wb') as f:
        f.write(buf.getvalue())
    print(f'wrote {args.out} ({len(buf.getvalue())} bytes)')


if __name__ == '__main__':
    main()
