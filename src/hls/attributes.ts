/** Formats a decimal-floating-point value with up to `digits` decimals, at least three. */
export function decimal(value: number, digits = 5): string {
  const fixed = value.toFixed(digits);
  let end = fixed.length;
  const dot = fixed.indexOf('.');
  while (end > dot + 4 && fixed[end - 1] === '0') end--;
  return fixed.slice(0, end);
}

/**
 * An HLS attribute list (RFC 8216bis 4.2): every value goes through one of the typed writers,
 * which refuse what the grammar does not allow.
 */
export class AttributeList {
  private text = '';

  private add(name: string, value: string): this {
    this.text += (this.text === '' ? '' : ',') + name + '=' + value;
    return this;
  }

  integer(name: string, value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name}: ${value} is not a decimal-integer`);
    return this.add(name, String(value));
  }

  decimal(name: string, value: number, digits = 5): this {
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name}: ${value} is not a decimal-floating-point`);
    return this.add(name, decimal(value, digits));
  }

  quoted(name: string, value: string): this {
    // "quoted-string: ... MUST NOT include CR, LF or double quote"
    if (/["\r\n]/.test(value)) throw new Error(`${name}: ${JSON.stringify(value)} cannot be a quoted-string`);
    return this.add(name, `"${value}"`);
  }

  enumerated(name: string, value: string): this {
    if (!/^[A-Za-z0-9-]+$/.test(value)) throw new Error(`${name}: ${value} is not an enumerated-string`);
    return this.add(name, value);
  }

  /** hexadecimal-sequence: `0x` and the bytes, upper case. */
  hex(name: string, bytes: Buffer): this {
    if (bytes.length === 0) throw new Error(`${name}: no bytes for a hexadecimal-sequence`);
    return this.add(name, '0x' + bytes.toString('hex').toUpperCase());
  }

  resolution(name: string, width: number, height: number): this {
    return this.add(name, `${Math.round(width)}x${Math.round(height)}`);
  }

  toString(): string {
    return this.text;
  }
}

export function tag(name: string, attributes: AttributeList): string {
  return `${name}:${attributes.toString()}`;
}
