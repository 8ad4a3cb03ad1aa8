import { errorPage, escapeHtml, homePage, refusedPage, snapshotPage } from 'src/oauth/views/pages';

describe('OAuth pages', () => {
  describe(escapeHtml.name, () => {
    it('should escape every character that can open markup or close an attribute', () => {
      expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe(
        '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
      );
    });
  });

  describe(homePage.name, () => {
    it('should greet a guest as 游客 with the 微信登录 link', () => {
      const html = homePage(null);
      expect(html).toContain('游客');
      expect(html).toContain('href="/oauth/authorize">微信登录</a>');
    });

    it('should greet a user by escaped nickname with an http(s) avatar only', () => {
      const html = homePage({ nickname: '"><img src=x onerror=alert(1)>', avatarUrl: 'https://a.example/1.png' });
      expect(html).toContain('欢迎, &quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
      expect(html).not.toContain('<img src=x');
      expect(html).toContain('src="https://a.example/1.png"');
    });

    it.each([['javascript:alert(1)'], ['data:image/svg+xml,<svg onload=alert(1)>'], ['not a url'], [null]])(
      'should show no avatar image for %p',
      (avatarUrl) => {
        expect(homePage({ nickname: 'n', avatarUrl })).not.toContain('<img');
      },
    );

    it('should call a user without nickname 微信用户', () => {
      expect(homePage({ nickname: null, avatarUrl: null })).toContain('欢迎, 微信用户');
    });
  });

  it('should link the refusal and snapshot pages to the retry URL, escaped', () => {
    const retry = '/oauth/authorize?scope=snsapi_userinfo&returnTo=%2Fa';
    expect(refusedPage(retry)).toContain('href="/oauth/authorize?scope=snsapi_userinfo&amp;returnTo=%2Fa"');
    expect(snapshotPage(retry)).toContain('使用完整服务');
  });

  it('should say what happened on an error page, never echoing markup from the message', () => {
    const html = errorPage({ statusCode: 401, error: 'invalid_code', message: '<b>bad</b>' });
    expect(html).toContain('微信授权未通过');
    expect(html).toContain('&lt;b&gt;bad&lt;/b&gt;');
    expect(html).toContain('重新登录');
  });
});
