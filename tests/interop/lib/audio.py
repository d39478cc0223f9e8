"""Tone detection in recordings (WAV): the share of the signal's energy at one frequency,
computed with the Goertzel algorithm over 20 ms blocks. 1.0 = a pure tone at that frequency,
~0 = silence, noise or another tone. Mirrors media::tone_energy_ratio in the C++ code."""
import math
import struct
import wave


def read_wav_mono(path):
    """(samples as floats, sample rate). 16-bit PCM; several channels are averaged."""
    with wave.open(path, "rb") as w:
        n, ch, rate, width = w.getnframes(), w.getnchannels(), w.getframerate(), w.getsampwidth()
        if width != 2:
            raise ValueError(f"{path}: {8 * width}-bit samples, expected 16-bit PCM")
        raw = w.readframes(n)
    values = struct.unpack("<%dh" % (len(raw) // 2), raw)
    if ch > 1:
        values = [sum(values[i:i + ch]) / ch for i in range(0, len(values), ch)]
    return [float(v) for v in values], rate


def tone_energy_ratio(samples, rate, hz):
    block = max(1, rate // 50)
    tone = total = 0.0
    coeff = 2 * math.cos(2 * math.pi * hz / rate)
    for start in range(0, len(samples) - block + 1, block):
        s1 = s2 = 0.0
        energy = 0.0
        for x in samples[start:start + block]:
            s0 = x + coeff * s1 - s2
            s2, s1 = s1, s0
            energy += x * x
        power = s1 * s1 + s2 * s2 - coeff * s1 * s2  # |X(f)|^2
        tone += 2 * power / block
        total += energy
    return tone / total if total > 0 else 0.0


def wav_tone_ratio(path, hz):
    samples, rate = read_wav_mono(path)
    return tone_energy_ratio(samples, rate, hz)
