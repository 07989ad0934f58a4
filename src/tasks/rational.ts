// Exact rational numbers over BigInt, so the Countdown verifier gets 7 / 2 * 2 = 7 exactly.

/** A reduced fraction num/den with den > 0. */
export interface Rational {
  num: bigint;
  den: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** Builds a reduced rational; den must be non-zero. */
export function rat(num: bigint, den: bigint = 1n): Rational {
  if (den === 0n) throw new RangeError('rational with zero denominator');
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  const g = gcd(num, den) || 1n;
  return { num: num / g, den: den / g };
}

/** x + y */
export function addR(x: Rational, y: Rational): Rational {
  return rat(x.num * y.den + y.num * x.den, x.den * y.den);
}

/** x - y */
export function subR(x: Rational, y: Rational): Rational {
  return rat(x.num * y.den - y.num * x.den, x.den * y.den);
}

/** x * y */
export function mulR(x: Rational, y: Rational): Rational {
  return rat(x.num * y.num, x.den * y.den);
}

/** x / y, or null when y = 0. */
export function divR(x: Rational, y: Rational): Rational | null {
  if (y.num === 0n) return null;
  return rat(x.num * y.den, x.den * y.num);
}

/** x == y */
export function eqR(x: Rational, y: Rational): boolean {
  return x.num === y.num && x.den === y.den;
}
