/** Seeded fuzzing helpers shared by the XML and webhook fuzz tests. */

/** A small seeded PRNG, so a failing fuzz case can be replayed from its seed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY = [
  '<',
  '>',
  '&',
  ']]>',
  '<![CDATA[',
  '</xml>',
  '<xml>',
  '"',
  "'",
  '\u0000',
  '\uFFFF',
  '🐼',
  '&#x0;',
  '&lt;',
  '\r\n',
  '<!--',
  '<?',
  '%',
];

/** One random damage to a document: cut, insert a nasty token, delete, replace a character, repeat, rename, renumber. */
export function mutate(xml: string, random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const at = () => Math.floor(random() * (xml.length + 1));
  switch (Math.floor(random() * 7)) {
    case 0:
      return xml.slice(0, at());
    case 1: {
      const i = at();
      return xml.slice(0, i) + pick(NASTY) + xml.slice(i);
    }
    case 2: {
      const i = at();
      const j = Math.min(xml.length, i + Math.floor(random() * 20));
      return xml.slice(0, i) + xml.slice(j);
    }
    case 3: {
      const i = at();
      return xml.slice(0, i) + String.fromCharCode(Math.floor(random() * 0xffff)) + xml.slice(i + 1);
    }
    case 4: {
      const i = at();
      return xml.slice(0, i) + xml.slice(i, i + 30).repeat(1 + Math.floor(random() * 5)) + xml.slice(i);
    }
    case 5:
      return xml.replace(/<(\/?)([A-Za-z]+)/, (_m, slash: string, name: string) => `<${slash}${name}x`);
    default:
      return xml.replace(/\d+/, String(Math.floor(random() * 1e15)));
  }
}
