import { cdata, parseXml, XmlError } from 'src/wechat/xml/xml.codec';

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

  it('should refuse a billion-laughs document at once', () => {
    const lol = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`,
    ).join('')}]><xml>&lol9;</xml>`;
    const started = Date.now();
    expect(reasonOf(lol)).toBe('dtd');
    expect(Date.now() - started).toBeLessThan(100);
  });

  it.each([
    ['truncated', '<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Fro'],
    ['mismatched tags', '<xml><a></b></xml>'],
    ['an undefined entity', '<xml><a>&nope;</a></xml>'],
    ['two roots', '<xml></xml><xml></xml>'],
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
    expect(typeof parsed).toBe('object');
  });
});

describe('parseXml after the root', () => {
  it('should refuse stray closing tags after the root instead of throwing something else', () => {
    expect(() =>
      parseXml('<xml><a><![CDATA[K]]></a></xml>CDATA[K]]></EventKey></xml>CDATA[K]]></EventKey></xml>'),
    ).toThrow(XmlError);
  });
});
