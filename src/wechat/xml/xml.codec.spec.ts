import { Parser } from 'xml2js';
import { cdata, parseXml, refuseDeclarations, XmlError, XmlNode } from 'src/wechat/xml/xml.codec';
import { mutate, prng } from 'test/support/fuzz';
import { wechatMessages } from 'test/support/wechat-signer';

const reasonOf = (xml: string): string => {
  try {
    parseXml(xml);
    return 'accepted';
  } catch (error) {
    return (error as XmlError).reason;
  }
};

describe('XmlCodec', () => {
  it('should parse text and CDATA children into strings', () => {
    expect(parseXml('<xml><A><![CDATA[你好 🐼]]></A><B>12</B><C/></xml>')).toEqual({ A: '你好 🐼', B: '12', C: '' });
  });

  it('should parse nested and repeated children', () => {
    expect(parseXml('<xml><L><item><T>a</T></item><item><T>b</T></item></L></xml>')).toEqual({
      L: { item: [{ T: 'a' }, { T: 'b' }] },
    });
  });

  it('should refuse DOCTYPE and ENTITY declarations before parsing', () => {
    expect(reasonOf('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml>&e;</xml>')).toBe(
      'dtd',
    );
    expect(reasonOf('<xml><!ENTITY a "b"></xml>')).toBe('dtd');
    expect(reasonOf('<!doctype xml><xml/>')).toBe('dtd');
  });

  it('should take declaration-like text inside CDATA as content: a follower may write <!DOCTYPE html>', () => {
    const text = (content: string) =>
      `<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Content><![CDATA[${content}]]></Content></xml>`;
    expect(parseXml(text('<!DOCTYPE html>')).Content).toBe('<!DOCTYPE html>');
    expect(parseXml(text('what does <!ENTITY x "y"> do?')).Content).toBe('what does <!ENTITY x "y"> do?');
    expect(() => refuseDeclarations(text('<!DOCTYPE html>'))).not.toThrow();
  });

  it('should still refuse a declaration outside CDATA, before or after a CDATA section', () => {
    expect(reasonOf('<!DOCTYPE x><xml><A><![CDATA[<!DOCTYPE html>]]></A></xml>')).toBe('dtd');
    expect(reasonOf('<xml><A><![CDATA[<!DOCTYPE html>]]></A><!ENTITY a "b"></xml>')).toBe('dtd');
    expect(() => refuseDeclarations('<!DOCTYPE x [<!ENTITY e "e">]><xml><Encrypt>abc</Encrypt></xml>')).toThrow(
      XmlError,
    );
  });

  it('should refuse a raw NUL character (no XML has one, PostgreSQL cannot store one)', () => {
    expect(reasonOf('<xml><Content><![CDATA[a\u0000b]]></Content></xml>')).toBe('nul');
  });

  it('should search hostile text for declarations in linear time', () => {
    // 30,000 sections take about 10 ms; a scan that went back over the text per match would take minutes. The bound
    // is loose so that a busy machine's pause cannot fail it.
    const hostile = `<xml>${'<![CDATA[<!ENTITY]]>'.repeat(30_000)}</xml>`;
    const started = Date.now();
    expect(() => refuseDeclarations(hostile)).not.toThrow();
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('should refuse a billion-laughs document at once', () => {
    const lol = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`,
    ).join('')}]><xml>&lol9;</xml>`;
    const started = Date.now();
    expect(reasonOf(lol)).toBe('dtd');
    // Expanded, the document is 3 GB: anything that began to expand it would not finish in a second.
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it.each([
    ['truncated', '<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Fro'],
    ['mismatched tags', '<xml><a></b></xml>'],
    ['an undefined entity', '<xml><a>&nope;</a></xml>'],
    ['two roots', '<xml></xml><xml></xml>'],
    ['a second, unclosed root', '<xml><a>1</a></xml>\n<xml>'],
    ['text after the root', '<xml></xml>junk'],
    ['CDATA after the root', '<xml></xml><![CDATA[x]]>'],
  ])('should refuse %s XML as malformed', (_label, xml) => {
    expect(reasonOf(xml)).toBe('malformed');
  });

  it.each([
    ['empty', ''],
    ['JSON', '{"a":1}'],
    ['another root', '<root><a>1</a></root>'],
  ])('should refuse a body that is %s', (_label, xml) => {
    expect(['empty', 'not_wechat']).toContain(reasonOf(xml));
  });

  it('should keep a ]]> inside CDATA valid and intact', () => {
    const text = 'a]]>b]]]]>c';
    expect(parseXml(`<xml><A>${cdata(text)}</A></xml>`)).toEqual({ A: text });
  });

  it('should not let element names touch object prototypes', () => {
    const parsed = parseXml('<xml><__proto__><polluted>yes</polluted></__proto__><constructor>x</constructor></xml>');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.keys(parsed)).toEqual(['__proto__', 'constructor']);
    expect(parsed.constructor).toBe('x');
    expect(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value).toEqual({ polluted: 'yes' });
  });

  it('should keep whitespace-only text as sent, trim other text, and keep mixed text under _', () => {
    expect(parseXml('<xml><W>  </W><C><![CDATA[  ]]></C><T>\n a b \n</T><M> x <A>1</A> y </M></xml>')).toEqual({
      W: '  ',
      C: '',
      T: 'a b',
      M: { A: '1', _: 'x  y' },
    });
  });

  it('should read entities, character references and text around comments', () => {
    expect(parseXml('<xml><A>&lt;&amp;&#x4F60;&#22909;</A><B>a<!-- c -->b</B></xml>')).toEqual({
      A: '<&你好',
      B: 'ab',
    });
  });

  it('should accept a byte-order mark, an XML declaration and whitespace around the root', () => {
    expect(parseXml('\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<xml><A>🐼🐼</A></xml>\n\t ')).toEqual({
      A: '🐼🐼',
    });
  });
});

describe('parseXml after the root', () => {
  it('should refuse stray closing tags after the root instead of throwing something else', () => {
    expect(() =>
      parseXml('<xml><a><![CDATA[K]]></a></xml>CDATA[K]]></EventKey></xml>CDATA[K]]></EventKey></xml>'),
    ).toThrow(XmlError);
  });
});

/**
 * The reference: xml2js itself, with the options whose shape parseXml promises, refusing what follows the first root
 * unless it is whitespace (xml2js stops reading there).
 */
function parseWithXml2js(xml: string): unknown {
  let result: unknown;
  let failure: unknown;
  let rootEnd = -1;
  const parser = new Parser({
    explicitArray: false,
    explicitRoot: false,
    trim: true,
    ignoreAttrs: true,
    emptyTag: '',
    strict: true,
    async: false,
  });
  parser.on('end', () => {
    rootEnd = (parser as unknown as { saxParser: { position: number } }).saxParser.position;
  });
  try {
    parser.parseString(xml, (error: unknown, parsed: unknown) => {
      failure = failure ?? error;
      result = parsed;
    });
  } catch (error) {
    failure = failure ?? error;
  }
  if (failure || rootEnd < 0 || xml.slice(rootEnd).trim() !== '') {
    throw new Error('refused');
  }
  return result !== null && typeof result === 'object' ? result : {};
}

describe('parseXml against xml2js', () => {
  const messages = [
    wechatMessages.text('你好 🐼 <b>&amp; ]]> end'),
    wechatMessages.image(),
    wechatMessages.voice('识别结果'),
    wechatMessages.video(),
    wechatMessages.video({}, 'shortvideo'),
    wechatMessages.location(),
    wechatMessages.link(),
    wechatMessages.event('subscribe', { EventKey: 'qrscene_123', Ticket: 'TICKET' }),
    wechatMessages.event('CLICK', { EventKey: 'MENU_KEY' }),
    `<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>
      <CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[pic_sysphoto]]></Event>
      <EventKey><![CDATA[6]]></EventKey><SendPicsInfo><Count>2</Count><PicList><item><PicMd5Sum><![CDATA[a]]></PicMd5Sum>
      </item><item><PicMd5Sum><![CDATA[b]]></PicMd5Sum></item></PicList></SendPicsInfo></xml>`,
    '<xml attr="1"><A b="2">x</A><E/><E></E><W>  </W><M> t <N>1</N></M></xml>',
  ];

  it.each(messages.map((xml, i) => [i, xml]))('should give the same object as xml2js for document %i', (_i, xml) => {
    expect(parseXml(xml as string)).toEqual(parseWithXml2js(xml as string));
  });

  it('should agree with xml2js on 3,000 mutations of valid messages: the same object, or both refuse', () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20261124);
    const random = prng(seed);
    let accepted = 0;
    for (let i = 0; i < 3000; i += 1) {
      let xml = messages[i % messages.length];
      for (let n = 1 + Math.floor(random() * 3); n > 0; n -= 1) {
        xml = mutate(xml, random);
      }
      let ours: XmlNode | XmlError;
      try {
        ours = parseXml(xml);
      } catch (error) {
        expect(error).toBeInstanceOf(XmlError);
        ours = error as XmlError;
      }
      if (ours instanceof XmlError) {
        // What parseXml finds malformed, xml2js must refuse too (the other refusals come before any parser runs).
        if (ours.reason === 'malformed') {
          expect({ seed, i, xml, xml2js: accepts(xml) }).toEqual({ seed, i, xml, xml2js: false });
        }
        continue;
      }
      accepted += 1;
      expect({ seed, i, xml, parsed: ours }).toEqual({ seed, i, xml, parsed: parseWithXml2js(xml) });
    }
    // The mutations must leave many documents readable, or the comparison says little.
    expect(accepted).toBeGreaterThan(300);
  });
});

/** Whether the reference reads the text as one WeChat document. */
function accepts(xml: string): boolean {
  try {
    parseWithXml2js(xml);
    return true;
  } catch {
    return false;
  }
}
