// Where each key of a TOML document is written, so a validation error can name its line.
//
// smol-toml reports the position of syntax errors but returns plain values, without positions.
// This scanner runs only on documents smol-toml has already accepted, so it can be lenient: it
// follows table headers, dotted keys, inline tables and arrays, and records the 1-based line on
// which every key (and every array element) starts. Paths use the form formatPath() prints.

export type PathSegment = string | number;

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** `rules.prefix_rules[0].pattern[1].token`, `mcp_servers."my server".identity`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = BARE_KEY.test(segment) ? segment : JSON.stringify(segment);
      out += out === '' ? key : `.${key}`;
    }
  }
  return out;
}

class Scanner {
  pos = 0;
  line = 1;
  readonly lines = new Map<string, number>();
  /** Array-of-tables paths (formatted) → index of their last element. */
  private readonly arrayTables = new Map<string, number>();

  constructor(private readonly src: string) {}

  private peek(offset = 0): string {
    return this.src[this.pos + offset] ?? '';
  }

  private advance(n = 1): void {
    for (let i = 0; i < n && this.pos < this.src.length; i++) {
      if (this.src[this.pos] === '\n') this.line++;
      this.pos++;
    }
  }

  private record(path: readonly PathSegment[], line: number): void {
    const key = formatPath(path);
    if (!this.lines.has(key)) this.lines.set(key, line);
  }

  /** Spaces, tabs, and (when `newlines`) line breaks and comments. */
  private skipSpace(newlines: boolean): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\r') this.advance();
      else if (c === '#') while (this.pos < this.src.length && this.peek() !== '\n') this.advance();
      else if (newlines && c === '\n') this.advance();
      else return;
    }
  }

  scan(): Map<string, number> {
    let table: PathSegment[] = [];
    while (this.pos < this.src.length) {
      this.skipSpace(true);
      if (this.pos >= this.src.length) break;
      const line = this.line;
      if (this.peek() === '[') {
        const isArray = this.peek(1) === '[';
        this.advance(isArray ? 2 : 1);
        const keys = this.readKey();
        this.skipSpace(false);
        this.advance(isArray ? 2 : 1);
        table = this.resolveHeader(keys, isArray);
        this.record(table, line);
      } else {
        this.readKeyValue(table);
      }
    }
    return this.lines;
  }

  /** A header's path: every prefix that names an array of tables points at its last element. */
  private resolveHeader(keys: string[], isArray: boolean): PathSegment[] {
    const path: PathSegment[] = [];
    keys.forEach((key, i) => {
      path.push(key);
      const formatted = formatPath(path);
      const last = i === keys.length - 1;
      if (last && isArray) {
        const index = (this.arrayTables.get(formatted) ?? -1) + 1;
        this.arrayTables.set(formatted, index);
        this.record(path, this.line);
        path.push(index);
      } else if (this.arrayTables.has(formatted)) {
        path.push(this.arrayTables.get(formatted)!);
      }
    });
    return path;
  }

  private readKeyValue(table: PathSegment[]): void {
    const line = this.line;
    const keys = this.readKey();
    const path = [...table, ...keys];
    for (let i = table.length + 1; i <= path.length; i++) this.record(path.slice(0, i), line);
    this.skipSpace(false);
    if (this.peek() === '=') this.advance();
    this.skipSpace(false);
    this.readValue(path);
  }

  /** A dotted key: bare, "basic" or 'literal' parts. */
  private readKey(): string[] {
    const parts: string[] = [];
    for (;;) {
      this.skipSpace(false);
      const c = this.peek();
      if (c === '"' || c === "'") parts.push(this.readString());
      else {
        let key = '';
        while (/[A-Za-z0-9_-]/.test(this.peek())) {
          key += this.peek();
          this.advance();
        }
        parts.push(key);
      }
      this.skipSpace(false);
      if (this.peek() !== '.') return parts;
      this.advance();
    }
  }

  /** Any of the four string forms; returns the (roughly) decoded text, good enough for keys. */
  private readString(): string {
    const quote = this.peek();
    const multi = this.peek(1) === quote && this.peek(2) === quote;
    const delimiter = multi ? quote.repeat(3) : quote;
    this.advance(delimiter.length);
    let text = '';
    while (this.pos < this.src.length) {
      if (this.src.startsWith(delimiter, this.pos)) {
        // A multi-line string may end with up to two extra quotes before its delimiter.
        while (multi && this.src.startsWith(delimiter + quote, this.pos)) {
          text += quote;
          this.advance();
        }
        this.advance(delimiter.length);
        return text;
      }
      const c = this.peek();
      if (c === '\\' && quote === '"') {
        const next = this.peek(1);
        if (next === 'u' || next === 'U') {
          const hex = this.src.slice(this.pos + 2, this.pos + (next === 'u' ? 6 : 10));
          text += String.fromCodePoint(Number.parseInt(hex, 16) || 0);
          this.advance(2 + hex.length);
          continue;
        }
        text += ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', e: '\u001b' } as Record<string, string>)[next] ?? next;
        this.advance(2);
        continue;
      }
      text += c;
      this.advance();
    }
    return text;
  }

  private readValue(path: PathSegment[]): void {
    const c = this.peek();
    if (c === '"' || c === "'") this.readString();
    else if (c === '[') this.readArray(path);
    else if (c === '{') this.readInlineTable(path);
    else {
      // Numbers, booleans, dates (which may contain one space): up to a delimiter.
      while (this.pos < this.src.length && !/[,\]}#\n]/.test(this.peek())) this.advance();
    }
  }

  private readArray(path: PathSegment[]): void {
    this.advance(); // [
    let index = 0;
    for (;;) {
      this.skipSpace(true);
      if (this.peek() === ']' || this.pos >= this.src.length) break;
      const element = [...path, index++];
      this.record(element, this.line);
      this.readValue(element);
      this.skipSpace(true);
      if (this.peek() === ',') this.advance();
    }
    this.advance(); // ]
  }

  private readInlineTable(path: PathSegment[]): void {
    this.advance(); // {
    for (;;) {
      this.skipSpace(true); // TOML 1.1 allows newlines in inline tables; harmless for 1.0
      if (this.peek() === '}' || this.pos >= this.src.length) break;
      this.readKeyValue(path);
      this.skipSpace(true);
      if (this.peek() === ',') this.advance();
    }
    this.advance(); // }
  }
}

/** The line of every key and array element of an already-parsed document. */
export function keyLines(source: string): Map<string, number> {
  return new Scanner(source).scan();
}

/** The line of `path`, or of its closest ancestor that is written down; undefined for the root. */
export function lineOf(lines: Map<string, number>, path: readonly PathSegment[]): number | undefined {
  for (let n = path.length; n > 0; n--) {
    const line = lines.get(formatPath(path.slice(0, n)));
    if (line !== undefined) return line;
  }
  return undefined;
}
