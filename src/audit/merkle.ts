import crypto from 'node:crypto';

// RFC 9162 §2.1 Merkle trees: leaf hash SHA-256(0x00 ‖ entry), interior node SHA-256(0x01 ‖ left ‖ right),
// MTH of n > 1 leaves split at the largest power of two below n. Proofs are planned as lists of
// leaf ranges [lo, hi) first and hashed afterwards, so that the server can fetch every stored node
// a proof needs in one query and a verifier can evaluate the same plan from what it holds.

export type Hash = Buffer;
/** A half-open range of leaf indices. */
export type Range = readonly [lo: number, hi: number];
/** A stored complete subtree: leaves [index·2^level, (index+1)·2^level). */
type NodeRef = readonly [level: number, index: number];

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export const EMPTY_ROOT: Hash = crypto.createHash('sha256').digest();

export function leafHash(entry: string | Buffer): Hash {
  return crypto.createHash('sha256').update(LEAF).update(entry).digest();
}

export function nodeHash(left: Hash, right: Hash): Hash {
  return crypto.createHash('sha256').update(NODE).update(left).update(right).digest();
}

/** The largest power of two smaller than n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The complete subtrees that make up a range of the recursion (an aligned power-of-two block, or
 * a block on the tree's right edge): the binary digits of its length, largest first.
 */
export function rangeNodes([lo, hi]: Range): NodeRef[] {
  const nodes: NodeRef[] = [];
  let start = lo;
  for (let level = 52; level >= 0; level--) {
    const size = 2 ** level;
    if (hi - start >= size) {
      nodes.push([level, start / size]);
      start += size;
    }
  }
  return nodes;
}

/** MTH of a range from the hashes of its complete subtrees (rangeNodes order). */
export function foldNodes(hashes: readonly Hash[]): Hash {
  if (hashes.length === 0) return EMPTY_ROOT;
  let hash = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) hash = nodeHash(hashes[i]!, hash);
  return hash;
}

/** RFC 9162 §2.1.3.1 PATH(m, D[0:n]) as ranges, leaf side first. */
export function inclusionRanges(index: number, size: number): Range[] {
  const out: Range[] = [];
  const path = (lo: number, hi: number) => {
    if (hi - lo === 1) return;
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      path(lo, lo + k);
      out.push([lo + k, hi]);
    } else {
      path(lo + k, hi);
      out.push([lo, lo + k]);
    }
  };
  path(0, size);
  return out;
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[0:n]) as ranges (empty when m is 0 or m = n). */
export function consistencyRanges(m: number, n: number): Range[] {
  const out: Range[] = [];
  if (m <= 0 || m >= n) return out;
  const subproof = (m: number, lo: number, hi: number, complete: boolean) => {
    if (m === hi - lo) {
      if (!complete) out.push([lo, hi]);
      return;
    }
    const k = splitPoint(hi - lo);
    if (m <= k) {
      subproof(m, lo, lo + k, complete);
      out.push([lo + k, hi]);
    } else {
      subproof(m - k, lo + k, hi, false);
      out.push([lo, lo + k]);
    }
  };
  subproof(m, 0, n, true);
  return out;
}

/** RFC 9162 §2.1.3.2: the root an inclusion proof leads to, or undefined when it is malformed. */
export function rootFromInclusion(index: number, size: number, leaf: Hash, proof: readonly Hash[]): Hash | undefined {
  if (index < 0 || index >= size) return undefined;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

/** RFC 9162 §2.1.4.2: whether `proof` shows the tree of size m with root `first` is a prefix of the one of size n with root `second`. */
export function verifyConsistency(m: number, n: number, first: Hash, second: Hash, proof: readonly Hash[]): boolean {
  if (m === n) return proof.length === 0 && first.equals(second);
  if (m === 0) return proof.length === 0 && first.equals(EMPTY_ROOT);
  if (m > n || proof.length === 0) return false;
  const path = (m & (m - 1)) === 0 ? [first, ...proof] : [...proof];
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && fr.equals(first) && sr.equals(second);
}

/**
 * For an export holding some of the leaves of a tree of size n (sorted indices): the ranges of
 * the MTH recursion that hold none of them, whose hashes, with the exported leaves, are enough
 * to recompute the root. A contiguous run of leaves needs about 2·log2(n) of them.
 */
export function complementRanges(n: number, held: readonly number[]): Range[] {
  const out: Range[] = [];
  const holds = (lo: number, hi: number) => {
    let a = 0;
    let b = held.length;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (held[mid]! < lo) a = mid + 1;
      else b = mid;
    }
    return a < held.length && held[a]! < hi;
  };
  const visit = (lo: number, hi: number) => {
    if (!holds(lo, hi)) out.push([lo, hi]);
    else if (hi - lo > 1) {
      const k = splitPoint(hi - lo);
      visit(lo, lo + k);
      visit(lo + k, hi);
    }
  };
  if (n > 0) visit(0, n);
  return out;
}

/**
 * MTH(D[lo:hi]) from what a verifier holds: leaf hashes by index and hashes of whole ranges
 * (keyed `lo-hi`). Undefined when something needed is missing.
 */
export function rangeHashFrom(lo: number, hi: number, leaves: ReadonlyMap<number, Hash>, ranges: ReadonlyMap<string, Hash>): Hash | undefined {
  if (hi <= lo) return lo === 0 && hi === 0 ? EMPTY_ROOT : undefined;
  const given = ranges.get(`${lo}-${hi}`);
  if (given) return given;
  if (hi - lo === 1) return leaves.get(lo);
  const k = splitPoint(hi - lo);
  const left = rangeHashFrom(lo, lo + k, leaves, ranges);
  const right = left && rangeHashFrom(lo + k, hi, leaves, ranges);
  return left && right ? nodeHash(left, right) : undefined;
}
