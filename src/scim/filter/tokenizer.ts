import type { Token } from 'scim2-parse-filter/lib/src/parser.js';

// Our own tokenizer in front of scim2-parse-filter's parser. The package's tokenizer mangles
// string escapes (it doubles every backslash not followed by a quote, so the RFC 7159 string
// "a\\b" would become a\\b and "\u00e9" would stay a literal \u00e9), cannot tokenize `$ref`,
// reports no positions, and would recurse without bound on hostile nesting. Its precedence parser
// is sound, so we feed it tokens that are already correct.

export const MAX_FILTER_LENGTH = 10_000;
export const MAX_FILTER_DEPTH = 50;

export interface PositionedToken extends Token {
  /** Offset of the token in the filter text, for error messages. */
  position: number;
}

export class FilterSyntaxError extends Error {
  constructor(message: string, readonly position?: number) {
    super(position === undefined ? message : `${message} at position ${position}`);
  }
}

// RFC 7644 §3.4.2.2 ABNF: attrPath = [URI ":"] ATTRNAME *1subAttr, ATTRNAME = ALPHA *(nameChar),
// plus `$ref` (RFC 7643 §2.3.7). Digits, '.' and ':' appear in schema URNs.
const WORD = /[A-Za-z$_][A-Za-z0-9$_.:-]*/y;
// RFC 7159 §6 number.
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?(?![A-Za-z0-9$_.:-])/y;
const JSON_LITERALS = new Set(['true', 'false', 'null']);

export function tokenize(text: string): PositionedToken[] {
  if (text.length > MAX_FILTER_LENGTH) {
    throw new FilterSyntaxError(`filter is longer than ${MAX_FILTER_LENGTH} characters`);
  }
  const tokens: PositionedToken[] = [];
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (isSeparator(c)) {
      i++;
    } else if (c === '(' || c === '[') {
      if (++depth > MAX_FILTER_DEPTH) throw new FilterSyntaxError(`filter is nested deeper than ${MAX_FILTER_DEPTH} levels`, i);
      tokens.push({ type: 'Bracket', literal: c, position: i++ });
    } else if (c === ')' || c === ']') {
      depth--;
      if (c === ']' && text[i + 1] === '.') {
        throw new FilterSyntaxError(`unexpected '.' after ']' (a sub-attribute after a value filter is only allowed in PATCH paths)`, i + 1);
      }
      tokens.push({ type: 'Bracket', literal: c, position: i++ });
    } else if (c === '"') {
      const end = stringEnd(text, i);
      tokens.push({ type: 'Quoted', literal: text.slice(i, end), position: i });
      i = end;
    } else {
      const token = matchAt(NUMBER, text, i, 'Number') ?? matchAt(WORD, text, i, 'Word');
      if (!token) throw new FilterSyntaxError(`unexpected character ${JSON.stringify(c)}`, i);
      tokens.push(token);
      i += token.literal.length;
    }
  }
  checkNotFollowedByParenthesis(tokens);
  tokens.push({ type: 'EOT', literal: '', position: text.length });
  return tokens;
}

// `+` stands for a space in application/x-www-form-urlencoded query strings and Entra ID is known
// to send `filter=userName+eq+"x"`. The HTTP layer decodes it, but a client or proxy that encodes
// twice delivers a literal `+`. Outside a quoted string `+` can never be part of the grammar (the
// exponent of a number is consumed by NUMBER first), so reading it as a space only rescues filters
// that would fail otherwise. Inside a string it stays a plus: `john+tag@example.com` is a real
// address and decoding it there would silently match someone else.
function isSeparator(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '+';
}

/** Index just past the closing quote of the JSON string starting at `start`; validates it. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') i += 2;
    else if (c === '"') break;
    else i++;
  }
  if (i >= text.length) throw new FilterSyntaxError('unterminated string', start);
  let value: string;
  try {
    value = JSON.parse(text.slice(start, i + 1)) as string;
  } catch {
    throw new FilterSyntaxError('invalid string (comparison values are JSON strings, RFC 7644 §3.4.2.2)', start);
  }
  // PostgreSQL text cannot hold NUL (the query would fail with a 500), and an unpaired surrogate
  // has no UTF-8 encoding (it would silently become U+FFFD).
  if (value.includes('\u0000') || /\p{Cs}/u.test(value)) {
    throw new FilterSyntaxError('invalid string (NUL and unpaired surrogates are not allowed)', start);
  }
  return i + 1;
}

function matchAt(pattern: RegExp, text: string, position: number, type: 'Number' | 'Word'): PositionedToken | undefined {
  pattern.lastIndex = position;
  const match = pattern.exec(text);
  if (!match) return undefined;
  let literal = match[0];
  // JSON literals are case-sensitive, but operators are not (RFC 7644 §3.4.2.2); accept `True`
  // the same way we accept `EQ`.
  if (type === 'Word' && JSON_LITERALS.has(literal.toLowerCase())) literal = literal.toLowerCase();
  return { type, literal, position };
}

// RFC 7644 §3.4.2.2 ABNF: "not" "(" valFilter ")". scim2-parse-filter also accepts a bare
// `not x eq y`, which would let `not not not ...` recurse without passing through a bracket, so
// the depth limit above would not see it.
function checkNotFollowedByParenthesis(tokens: PositionedToken[]): void {
  tokens.forEach((token, index) => {
    if (token.type === 'Word' && token.literal.toLowerCase() === 'not' && tokens[index + 1]?.literal !== '(') {
      throw new FilterSyntaxError(`'not' must be followed by '('`, token.position);
    }
  });
}
