export type XmlValue = string | number | boolean | undefined | null;
export type XmlAttributes = ReadonlyArray<readonly [string, XmlValue]>;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes a value for an attribute or text node; every value the writer emits goes through here. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;

/**
 * A small XML element writer that cannot emit an unescaped value: names are checked, values are
 * escaped, undefined/null attributes are left out, booleans are written as "true"/"false".
 */
export class XmlWriter {
  private readonly out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  private readonly stack: string[] = [];

  private attributes(attrs: XmlAttributes): string {
    let s = '';
    for (const [name, value] of attrs) {
      if (value === undefined || value === null) continue;
      if (!NAME.test(name)) throw new Error(`invalid XML attribute name '${name}'`);
      if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`attribute ${name} is not a finite number`);
      s += ` ${name}="${escapeXml(String(value))}"`;
    }
    return s;
  }

  private indent(): string {
    return '  '.repeat(this.stack.length);
  }

  open(name: string, attrs: XmlAttributes = []): this {
    if (!NAME.test(name)) throw new Error(`invalid XML element name '${name}'`);
    this.out.push(`${this.indent()}<${name}${this.attributes(attrs)}>\n`);
    this.stack.push(name);
    return this;
  }

  leaf(name: string, attrs: XmlAttributes = [], text?: string): this {
    if (!NAME.test(name)) throw new Error(`invalid XML element name '${name}'`);
    const body = text === undefined ? '/>' : `>${escapeXml(text)}</${name}>`;
    this.out.push(`${this.indent()}<${name}${this.attributes(attrs)}${body}\n`);
    return this;
  }

  close(): this {
    const name = this.stack.pop();
    if (!name) throw new Error('close without open');
    this.out.push(`${this.indent()}</${name}>\n`);
    return this;
  }

  toString(): string {
    if (this.stack.length > 0) throw new Error(`unclosed elements: ${this.stack.join(' > ')}`);
    return this.out.join('');
  }
}

/** xs:duration in seconds with millisecond precision: `PT2S`, `PT1.5S`. */
export function xsDuration(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const s = ms / 1000;
  return `PT${Number.isInteger(s) ? s : s.toFixed(3).replace(/0+$/, '')}S`;
}

/** xs:dateTime in UTC with milliseconds. */
export function xsDateTime(ms: number): string {
  return new Date(ms).toISOString();
}
