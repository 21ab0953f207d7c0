'use strict';
// sha256.js — an incremental SHA-256 (FIPS 180-4) for the chat page.
// Why not crypto.subtle.digest: it exists only in secure contexts (https,
// localhost), so a page served over plain http from another host would
// have none, and it takes the whole input at once, so a large file would
// have to sit in memory twice. This one is fed chunk by chunk.
//
//   const h = new Sha256(); h.update(bytes1); h.update(bytes2); h.hex();
//
// Also loadable from node (module.exports), where the browser test checks
// it against node's crypto at every split point.

(function (root) {
  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);

  class Sha256 {
    constructor() {
      this.h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
      this.w = new Uint32Array(64);
      this.buf = new Uint8Array(64); // a partial block
      this.fill = 0;
      this.length = 0; // bytes so far (exact up to 2^53)
    }

    // data: a Uint8Array (or an ArrayBuffer). Returns this.
    update(data) {
      const d = data instanceof Uint8Array ? data : new Uint8Array(data);
      let i = 0;
      this.length += d.length;
      if (this.fill > 0) {
        const k = Math.min(64 - this.fill, d.length);
        this.buf.set(d.subarray(0, k), this.fill);
        this.fill += k;
        i = k;
        if (this.fill < 64) return this;
        this.block(this.buf, 0);
        this.fill = 0;
      }
      for (; i + 64 <= d.length; i += 64) this.block(d, i);
      if (i < d.length) {
        this.buf.set(d.subarray(i), 0);
        this.fill = d.length - i;
      }
      return this;
    }

    // FIPS 180-4 §6.2.2: one 64-byte block at p[o].
    block(p, o) {
      const w = this.w;
      for (let t = 0; t < 16; t++, o += 4) w[t] = (p[o] << 24) | (p[o + 1] << 16) | (p[o + 2] << 8) | p[o + 3];
      for (let t = 16; t < 64; t++) {
        const x = w[t - 15];
        const y = w[t - 2];
        const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
      }
      const H = this.h;
      let a = H[0] | 0, b = H[1] | 0, c = H[2] | 0, d = H[3] | 0;
      let e = H[4] | 0, f = H[5] | 0, g = H[6] | 0, h = H[7] | 0;
      for (let t = 0; t < 64; t++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[t] + w[t]) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        h = g; g = f; f = e; e = (d + t1) | 0;
        d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      H[0] += a; H[1] += b; H[2] += c; H[3] += d;
      H[4] += e; H[5] += f; H[6] += g; H[7] += h;
    }

    // The digest as 64 lower-case hex digits. Ends the hash: call once.
    hex() {
      // §5.1.1: a 1 bit, zeros to 56 mod 64, the length in bits (64-bit BE).
      const hi = Math.floor(this.length / 0x20000000); // length * 8 / 2^32
      const lo = (this.length % 0x20000000) * 8; // exact, unlike length * 8
      const pad = new Uint8Array(((this.fill < 56 ? 56 : 120) - this.fill) + 8);
      pad[0] = 0x80;
      const v = new DataView(pad.buffer);
      v.setUint32(pad.length - 8, hi);
      v.setUint32(pad.length - 4, lo);
      const n = this.length;
      this.update(pad);
      this.length = n;
      let s = '';
      for (const x of this.h) s += x.toString(16).padStart(8, '0');
      return s;
    }
  }

  if (typeof module === 'object' && module.exports) module.exports = Sha256;
  else root.Sha256 = Sha256;
}(this));
