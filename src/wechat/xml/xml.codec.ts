import sax from 'sax';

export class XmlError extends Error {
  constructor(
    readonly reason: 'empty' | 'dtd' | 'nul' | 'malformed' | 'not_wechat',
    message: string,
  ) {
    super(message);
    this.name = 'XmlError';
  }
}

/** A parsed element: text, or a map of child elements (repeated children become arrays). */
export type XmlValue = string | XmlNode | XmlValue[];
export interface XmlNode {
  [name: string]: XmlValue;
}

// Declarations are how XXE and billion-laughs attacks start; WeChat never sends them, so they are refused before any
// parser sees the text (sax would not expand external entities, but refusing is cheaper and certain). Text inside
// CDATA is content, not markup: a follower's message that reads `<!DOCTYPE html>` or mentions `<!ENTITY` arrives
// there and must be recorded and answered like any other.
const DECLARATION = /<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)/i;
const DECLARATIONS = new RegExp(DECLARATION.source, 'gi');
const CDATA_OPEN = '<![CDATA[';
const CDATA_CLOSE = ']]>';

/** An element being read: its text so far (CDATA included) and its child elements, once it has any. */
interface OpenElement {
  name: string;
  text: string;
  cdata: boolean;
  children: XmlNode | null;
}

/**
 * Parses a WeChat XML document (`<xml>…</xml>`) into a plain object: text and CDATA become trimmed strings, repeated
 * children arrays, attributes are ignored. DOCTYPE and entity declarations are refused up front; malformed XML is
 * refused.
 *
 * sax (the strict streaming parser xml2js is built on) reads the text; the tree is built here from its events, in
 * the shape xml2js gives with `explicitArray: false, explicitRoot: false, trim: true, ignoreAttrs: true` (a unit test
 * holds the two to the same result). xml2js's own tree building cost more than sax itself, about 11 µs a message.
 */
export function parseXml(xml: string): XmlNode {
  if (typeof xml !== 'string' || xml.trim() === '') {
    throw new XmlError('empty', 'the body is empty');
  }
  refuseDeclarations(xml);
  if (xml.includes('\u0000')) {
    // XML 1.0 has no NUL character, and PostgreSQL cannot store one: the sender's fault, refused before recording.
    throw new XmlError('nul', 'the XML contains a NUL character');
  }
  if (!/^\s*(<\?xml[^>]*\?>\s*)?<xml[\s>]/.test(xml)) {
    throw new XmlError('not_wechat', 'the body is not a WeChat <xml> document');
  }
  const text = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
  const stack: OpenElement[] = [];
  let root: XmlValue | undefined;
  let rootEnd = -1;
  // A fresh parser per document keeps no state between requests. Any error ends the parse at once (sax would go on).
  const parser = sax.parser(true, {});
  parser.onerror = (error) => {
    throw error;
  };
  // Past the prolog sax refuses a DOCTYPE itself; any other declaration outside CDATA (`<!ENTITY …>` in an element's
  // text) it would report and skip: refused here.
  const refuse = () => {
    throw new XmlError('dtd', 'DOCTYPE and entity declarations are not accepted');
  };
  parser.ondoctype = refuse;
  parser.onsgmldeclaration = refuse;
  parser.onopentag = (node) => {
    if (root !== undefined) {
      throw new Error('a second root element');
    }
    stack.push({ name: node.name, text: '', cdata: false, children: null });
  };
  parser.ontext = (chunk) => {
    if (stack.length > 0) {
      stack[stack.length - 1].text += chunk;
    }
  };
  parser.oncdata = (chunk) => {
    if (stack.length > 0) {
      stack[stack.length - 1].text += chunk;
      stack[stack.length - 1].cdata = true;
    }
  };
  parser.onclosetag = () => {
    const element = stack.pop()!;
    const value = valueOf(element);
    const parent = stack[stack.length - 1];
    if (parent === undefined) {
      root = value;
      rootEnd = parser.position;
      return;
    }
    parent.children ??= {};
    addChild(parent.children, element.name, value);
  };
  try {
    parser.write(text).close();
  } catch (error) {
    if (error instanceof XmlError) {
      throw error;
    }
    throw new XmlError('malformed', 'the XML is malformed');
  }
  // What follows the root may only be whitespace.
  if (root === undefined || text.slice(rootEnd).trim() !== '') {
    throw new XmlError('malformed', 'the XML is malformed');
  }
  return typeof root === 'object' && !Array.isArray(root) ? root : {};
}

/**
 * An element's value: its trimmed text when it has no children, else its children (with any text that is not just
 * whitespace under `_`). An element of only whitespace keeps it as it is, as xml2js does; in CDATA it is trimmed.
 */
function valueOf(element: OpenElement): XmlValue {
  const blank = !element.cdata && element.text.trim() === '';
  if (element.children === null) {
    return blank ? element.text : element.text.trim();
  }
  if (!blank) {
    addChild(element.children, '_', element.text.trim());
  }
  return element.children;
}

/** A repeated child turns into an array. A child named `__proto__` becomes a plain property, never the prototype. */
function addChild(children: XmlNode, name: string, value: XmlValue): void {
  if (!Object.prototype.hasOwnProperty.call(children, name)) {
    if (name === '__proto__') {
      Object.defineProperty(children, name, { value, enumerable: true, writable: true, configurable: true });
    } else {
      children[name] = value;
    }
    return;
  }
  const earlier = children[name];
  if (Array.isArray(earlier)) {
    earlier.push(value);
  } else {
    children[name] = [earlier, value];
  }
}

/**
 * Throws when the text declares a DTD or entities (XXE, billion laughs) as markup, i.e. outside CDATA. parseXml runs
 * it on what it parses: call it only for text that is never parsed (the envelope of an encrypted message), so no
 * text is searched twice. Almost every text has no declaration-like string at all: one search, as before; the rest
 * are walked once, matches and CDATA sections in step (linear on hostile input too).
 */
export function refuseDeclarations(xml: string): void {
  if (DECLARATION.test(xml) && hasDeclarationOutsideCdata(xml)) {
    throw new XmlError('dtd', 'DOCTYPE and entity declarations are not accepted');
  }
}

function hasDeclarationOutsideCdata(xml: string): boolean {
  DECLARATIONS.lastIndex = 0;
  // Where the last CDATA section seen so far ends, and where to look for the next one.
  let cdataEnd = 0;
  for (let match = DECLARATIONS.exec(xml); match !== null; match = DECLARATIONS.exec(xml)) {
    while (match.index >= cdataEnd) {
      const open = xml.indexOf(CDATA_OPEN, cdataEnd);
      if (open === -1 || open > match.index) {
        return true;
      }
      const close = xml.indexOf(CDATA_CLOSE, open + CDATA_OPEN.length);
      if (close === -1) {
        // An unterminated section runs to the end: the parser refuses the document as malformed.
        return false;
      }
      cdataEnd = close + CDATA_CLOSE.length;
    }
  }
  return false;
}

/** The text of a child element, or undefined when absent or not text. */
export function textOf(node: XmlNode, name: string): string | undefined {
  if (!Object.prototype.hasOwnProperty.call(node, name)) {
    return undefined;
  }
  const value = node[name];
  return typeof value === 'string' ? value : undefined;
}

/** Wraps text in CDATA; a `]]>` inside is split across two sections so the document stays valid. */
export function cdata(text: string): string {
  return `<![CDATA[${text.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
}

/** A number element: digits only, else 0 (replies never carry anything else unescaped). */
export function numberElement(name: string, value: number | string): string {
  const text = String(value);
  return `<${name}>${/^\d+$/.test(text) ? text : '0'}</${name}>`;
}

export function textElement(name: string, value: string): string {
  return `<${name}>${cdata(value)}</${name}>`;
}

// The Encrypt element of a safe-mode envelope, found without parsing: its signature is checked before any parser runs.
// No two quantifiers overlap, so the search stays linear on hostile input.
const ENCRYPT_ELEMENT = /<Encrypt>(?:<!\[CDATA\[([^\]<]*)\]\]>|([^<]*))<\/Encrypt>/;

/** The base64 text of the first `<Encrypt>` element, or undefined when there is none. */
export function extractEncrypt(xml: string): string | undefined {
  const match = ENCRYPT_ELEMENT.exec(xml);
  if (!match) {
    return undefined;
  }
  return (match[1] ?? match[2]).trim();
}
