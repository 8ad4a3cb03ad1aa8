import { Parser } from 'xml2js';

export class XmlError extends Error {
  constructor(
    readonly reason: 'empty' | 'dtd' | 'malformed' | 'not_wechat',
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
// parser sees the text (xml2js/sax would not expand external entities, but refusing is cheaper and certain).
const DECLARATION = /<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)/i;

const parserOptions = {
  explicitArray: false,
  explicitRoot: false,
  trim: true,
  normalizeTags: false,
  ignoreAttrs: true,
  emptyTag: '',
  strict: true,
  async: false,
};

/**
 * Parses a WeChat XML document (`<xml>…</xml>`) into a plain object: text and CDATA become strings, repeated children
 * arrays. DOCTYPE and entity declarations are refused up front; malformed XML is refused.
 */
export function parseXml(xml: string): XmlNode {
  if (typeof xml !== 'string' || xml.trim() === '') {
    throw new XmlError('empty', 'the body is empty');
  }
  refuseDeclarations(xml);
  if (!/^\s*(<\?xml[^>]*\?>\s*)?<xml[\s>]/.test(xml)) {
    throw new XmlError('not_wechat', 'the body is not a WeChat <xml> document');
  }
  let result: unknown;
  let failure: unknown;
  let calls = 0;
  let rootEnd = -1;
  // With async:false, xml2js (sax underneath) calls back synchronously; a fresh parser per document keeps no state.
  const parser = new Parser(parserOptions);
  parser.on('end', () => {
    rootEnd = (parser as unknown as { saxParser: { position: number } }).saxParser.position;
  });
  try {
    parser.parseString(xml, (error: unknown, parsed: unknown) => {
      calls += 1;
      failure = failure ?? error;
      result = parsed;
    });
  } catch (error) {
    // xml2js rethrows errors that sax raises after the root element has closed (e.g. a stray closing tag).
    failure = failure ?? error;
  }
  // xml2js stops at the end of the first root and ignores what follows: anything but whitespace there is malformed.
  if (failure || result === undefined || calls !== 1 || rootEnd < 0 || xml.slice(rootEnd).trim() !== '') {
    throw new XmlError('malformed', 'the XML is malformed');
  }
  if (result === null || typeof result !== 'object') {
    return {};
  }
  return result as XmlNode;
}

/** Throws when the text declares a DTD or entities (XXE, billion laughs); cheap enough to run on every body. */
export function refuseDeclarations(xml: string): void {
  if (DECLARATION.test(xml)) {
    throw new XmlError('dtd', 'DOCTYPE and entity declarations are not accepted');
  }
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
