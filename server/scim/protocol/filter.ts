import type { Filter } from 'scim2-parse-filter';
import { parseFilter as parseTokens, type Token, Tokens } from 'scim2-parse-filter/lib/src/parser.js';
import { isStorableText, showText, UNSTORABLE } from '../../store/index.ts';
import { DATE_TIME } from './date-time.ts';
import { InvalidFilter } from './errors.ts';

export type { Filter } from 'scim2-parse-filter';

/** Longer filters are refused before parsing: Entra's are a few dozen characters, and parsing cost grows with length. */
export const MAX_FILTER_LENGTH = 4096;

const COMPARE = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt', 'ge', 'le']);
const EOT: Token = { type: 'EOT', literal: '' };

/**
 * Parses an RFC 7644 §3.4.2.2 filter into scim2-parse-filter's AST.
 *
 * The grammar (precedence of not/and/or, parentheses, value paths) is the
 * package's parser. Its tokenizer is replaced, because it
 *  - doubles every backslash in a quoted value, so JSON escapes ("a\\b",
 *    "\u00e9") come out wrong;
 *  - cannot read a negative number followed by a space or ")";
 *  - turns `emails[type eq "work"].value eq "x"` (what Entra sends to match
 *    on the work email) into `emails[type eq "work"] and emails.value eq "x"`,
 *    which matches a user whose work email is anything and whose home email
 *    is x. We rewrite it to `emails[(type eq "work") and value eq "x"]`: the
 *    same element must satisfy both, as Entra means.
 * Microsoft's documentation also shows `externalId eq jyoung` with a bare
 * value; a bare word in value position is read as a string, and so is a
 * bare date and time (`meta.created gt 2015-10-10T14:38:21.8617979-07:00`).
 */
export function parseFilter(text: string): Filter {
  if (text.length > MAX_FILTER_LENGTH) throw new InvalidFilter(`the filter is longer than ${MAX_FILTER_LENGTH} characters`);
  if (text.trim() === '') throw new InvalidFilter('the filter is empty');
  const tokens = quoteBareValues(joinSubAttributePaths(tokenize(text)));
  const list = new Tokens([...tokens, EOT]);
  let filter: Filter;
  try {
    filter = parseTokens(list);
  } catch (error) {
    if (error instanceof RangeError) throw new InvalidFilter('the filter is nested too deeply');
    throw new InvalidFilter(`the filter is not valid: ${describe(error)}`);
  }
  if (list.peek().type !== 'EOT') {
    throw new InvalidFilter(`the filter is not valid: unexpected "${list.peek().literal}" after a complete expression`);
  }
  return filter;
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/is not json/.test(message)) return 'a comparison value must be a quoted string, a number, true, false or null';
  if (/expected '\)'/.test(message)) return 'a "(" is not closed';
  if (/expected '\]'/.test(message)) return 'a "[" is not closed';
  const operator = /^Unexpected token \S+ (\S*) as valFilter operator/.exec(message);
  if (operator) return `"${operator[1]}" is not an operator (use eq, ne, co, sw, ew, gt, ge, lt, le or pr)`;
  if (/Unexpected token\s+\(EOT\)/.test(message)) return 'it ends too early';
  return message.replace(/\(EOT\)/g, '(end of filter)');
}

const WORD = /^[A-Za-z$][\w$.:-]*/;
const NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.:$-])/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      const end = closingQuote(text, i);
      const literal = text.slice(i, end + 1);
      let value: string;
      try {
        value = JSON.parse(literal);
      } catch {
        throw new InvalidFilter(`the filter is not valid: ${literal} is not a valid JSON string`);
      }
      // "\u0000" and "\ud800" are valid JSON escapes, but no store can compare with what they make.
      if (!isStorableText(value)) {
        throw new InvalidFilter(`the filter is not valid: ${showText(literal)} ${UNSTORABLE}`);
      }
      tokens.push({ type: 'Quoted', literal });
      i = end + 1;
      continue;
    }
    if (c === '(' || c === ')' || c === '[') {
      tokens.push({ type: 'Bracket', literal: c });
      i++;
      continue;
    }
    if (c === ']') {
      const dotted = text[i + 1] === '.';
      tokens.push({ type: 'Bracket', literal: dotted ? '].' : ']' });
      i += dotted ? 2 : 1;
      continue;
    }
    const rest = text.slice(i);
    const moment = DATE_TIME.exec(rest);
    if (moment && !/^[\w.:$-]/.test(rest.slice(moment[0].length))) {
      // An unquoted date and time (Microsoft's validator sends them): a bare value, read as the quoted form.
      tokens.push({ type: 'Word', literal: moment[0] });
      i += moment[0].length;
      continue;
    }
    const number = NUMBER.exec(rest);
    if (number) {
      tokens.push({ type: 'Number', literal: number[0] });
      i += number[0].length;
      continue;
    }
    const word = WORD.exec(rest);
    if (word) {
      tokens.push({ type: 'Word', literal: word[0] });
      i += word[0].length;
      continue;
    }
    throw new InvalidFilter(`the filter is not valid: unexpected "${c}" at position ${i + 1}`);
  }
  return tokens;
}

function closingQuote(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  throw new InvalidFilter('the filter is not valid: a quoted value is not closed');
}

/** `attr[f].sub op v` becomes `attr[(f) and sub op v]`; see parseFilter. */
function joinSubAttributePaths(tokens: Token[]): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (!(token.type === 'Bracket' && token.literal === '].')) {
      out.push(token);
      continue;
    }
    const sub = tokens[i + 1];
    const op = tokens[i + 2];
    if (sub?.type !== 'Word' || op?.type !== 'Word')
      throw new InvalidFilter('the filter is not valid: "]." must be followed by a sub-attribute');
    const opening = openingBracket(out);
    out.splice(opening + 1, 0, { type: 'Bracket', literal: '(' });
    out.push({ type: 'Bracket', literal: ')' }, { type: 'Word', literal: 'and' }, sub, op);
    i += 2;
    if (op.literal.toLowerCase() !== 'pr') {
      const value = tokens[i + 1];
      if (!value) throw new InvalidFilter(`the filter is not valid: "${op.literal}" needs a value`);
      out.push(value);
      i += 1;
    }
    out.push({ type: 'Bracket', literal: ']' });
  }
  return out;
}

function openingBracket(tokens: Token[]): number {
  let depth = 0;
  for (let j = tokens.length - 1; j >= 0; j--) {
    const t = tokens[j];
    if (t.type !== 'Bracket') continue;
    if (t.literal === ']' || t.literal === '].') depth++;
    else if (t.literal === '[') {
      if (depth === 0) return j;
      depth--;
    }
  }
  throw new InvalidFilter('the filter is not valid: "]" without "["');
}

function quoteBareValues(tokens: Token[]): Token[] {
  return tokens.map((token, i) => {
    const op = tokens[i - 1];
    const attribute = tokens[i - 2];
    const bare =
      token.type === 'Word' &&
      op?.type === 'Word' &&
      COMPARE.has(op.literal.toLowerCase()) &&
      attribute?.type === 'Word' &&
      !['true', 'false', 'null'].includes(token.literal);
    return bare ? { type: 'Quoted', literal: JSON.stringify(token.literal) } : token;
  });
}
