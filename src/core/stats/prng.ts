// Seeded randomness for the simulator and the tests: sfc32 (a small, fast 128-bit
// state generator that passes PractRand) plus exact samplers for the distributions the
// traffic model draws from. The core never calls Math.random(); whoever needs chance
// passes one of these in, so every run is reproducible from its seed. Not for secrets.

/** A stream of uniform numbers in [0, 1). */
export type Random = () => number;

/** sfc32 seeded through splitmix32, so nearby seeds give unrelated streams. */
export function createRandom(seed: number): Random {
  let s = seed >>> 0;
  const split = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** A 32-bit seed from a label, so a simulated cell keeps its stream when others change. */
export function seedFrom(label: string, index = 0): number {
  let h = 2166136261 ^ index;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 16777619);
  return Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
}

export function normal(random: Random): number {
  // Box-Muller; the spare is dropped to keep the sampler stateless.
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

const LOG_FACTORIAL: number[] = [0];
for (let i = 1; i < 256; i++) LOG_FACTORIAL[i] = LOG_FACTORIAL[i - 1]! + Math.log(i);

export function logFactorial(k: number): number {
  if (k < 256) return LOG_FACTORIAL[k]!;
  const n = k + 1; // Stirling series for ln Γ(n); error below 1e-10 here
  return (n - 0.5) * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * n) - 1 / (360 * n ** 3);
}

/** Poisson: inversion for small means, Hörmann's PTRS (exact, O(1)) above 30. */
export function poisson(random: Random, mean: number): number {
  if (!(mean > 0)) return 0;
  if (mean < 30) {
    let p = Math.exp(-mean);
    let cdf = p;
    let k = 0;
    const u = random();
    while (u > cdf && k < 1000) {
      k++;
      p *= mean / k;
      cdf += p;
    }
    return k;
  }
  const smu = Math.sqrt(mean);
  const b = 0.931 + 2.53 * smu;
  const a = -0.059 + 0.02483 * b;
  const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  const logMean = Math.log(mean);
  for (;;) {
    const u = random() - 0.5;
    const v = random();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + mean + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (Math.log(v) + Math.log(invAlpha) - Math.log(a / (us * us) + b) <= -mean + k * logMean - logFactorial(k)) return k;
  }
}

/** Gamma(shape, 1), Marsaglia-Tsang; shapes below 1 through the boost Γ(a) = Γ(a+1)·U^(1/a). */
export function gamma(random: Random, shape: number): number {
  if (shape < 1) return gamma(random, shape + 1) * Math.pow(1 - random(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - random();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

export function beta(random: Random, a: number, b: number): number {
  const x = gamma(random, a);
  return x / (x + gamma(random, b));
}

/** Binomial: inversion when the smaller tail mean is small, else Knuth's exact beta split. */
export function binomial(random: Random, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomial(random, n, 1 - p);
  if (n * p < 30) {
    const q = 1 - p;
    const ratio = p / q;
    let prob = Math.pow(q, n);
    let cdf = prob;
    let k = 0;
    const u = random();
    while (u > cdf && k < n) {
      prob *= (ratio * (n - k)) / (k + 1);
      k++;
      cdf += prob;
    }
    return k;
  }
  const a = 1 + Math.floor(n / 2);
  const b = n + 1 - a;
  const x = beta(random, a, b);
  return x >= p ? binomial(random, a - 1, p / x) : a + binomial(random, b - 1, (p - x) / (1 - x));
}
