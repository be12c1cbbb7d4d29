/**
 * Text either store can keep. PostgreSQL refuses U+0000 (NUL) in text and
 * jsonb, and an unpaired UTF-16 surrogate ("\ud800", what JSON's escapes
 * allow) has no UTF-8 form; SQLite would store both. Whatever comes from
 * outside is held to this one rule before it reaches a store, so a request
 * gets the same answer on every deployment.
 */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && text.isWellFormed();
}

/** How every refusal says what is wrong with such text, after naming where it was. */
export const UNSTORABLE = 'contains U+0000 (NUL) or an unpaired UTF-16 surrogate, which cannot be stored';

/**
 * Where the first string that is not storable text sits in a parsed JSON
 * value, keys included: `name.givenName`, `emails[1].value`,
 * `urn:…:enterprise:2.0:User:manager.value`, or `` for the value itself.
 * Undefined when every string is storable. A bad key is shown escaped.
 */
export function findUnstorableText(value: unknown): string | undefined {
  // `urn` marks the value of a schema URN key: its attributes are named `urn:…:name`, as SCIM writes them.
  const stack: { node: unknown; path: string; urn: boolean }[] = [{ node: value, path: '', urn: false }];
  while (stack.length > 0) {
    const { node, path, urn } = stack.pop()!;
    if (typeof node === 'string') {
      if (!isStorableText(node)) return path;
      continue;
    }
    if (typeof node !== 'object' || node === null) continue;
    const children = Array.isArray(node)
      ? node.map((child, i) => ({ node: child, path: `${path}[${i}]`, urn: false }))
      : Object.entries(node).map(([key, child]) => ({
          node: child,
          path: `${path}${path === '' ? '' : urn ? ':' : '.'}${showText(key)}`,
          urn: /^urn:/i.test(key),
          bad: !isStorableText(key),
        }));
    const badKey = children.find((child) => 'bad' in child && child.bad);
    if (badKey) return badKey.path;
    // Depth first, in document order: the first bad string is the one a reader meets first.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  return undefined;
}

/** The text with NUL, other control characters and unpaired surrogates written as \uXXXX, for messages and logs. */
export function showText(text: string): string {
  let shown = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const high = code >= 0xd800 && code <= 0xdbff;
    const low = code >= 0xdc00 && code <= 0xdfff;
    if (high && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        shown += text[i] + text[i + 1];
        i++;
        continue;
      }
    }
    shown += code < 0x20 || code === 0x7f || high || low ? `\\u${code.toString(16).padStart(4, '0')}` : text[i];
  }
  return shown;
}
