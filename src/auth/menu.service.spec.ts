import { AppConfig } from '../config/app-config';
import { OfficialAccountClient } from '../wechat/official-account.client';
import { MenuService } from './menu.service';

const config = {
  http: { publicBaseUrl: 'https://www.example.com', homepageUrl: 'https://album.example.com/' },
  wechat: { appId: 'wx1234567890abcdef', oauthBase: 'https://open.weixin.qq.com' },
} as AppConfig;

describe('MenuService.defaultMenu', () => {
  const menu = new MenuService({} as OfficialAccountClient, config).defaultMenu();

  it('is the album link and the three member pages themselves (each page starts its own OAuth with its own state)', () => {
    expect(menu).toEqual({
      button: [
        { type: 'view', name: '芯图相册', url: 'https://album.example.com/' },
        {
          name: '会员服务',
          sub_button: [
            { type: 'view', name: '开通会员', url: 'https://www.example.com/wechat/member.html' },
            { type: 'view', name: '购买额度', url: 'https://www.example.com/wechat/credits.html' },
            { type: 'view', name: '额度查询', url: 'https://www.example.com/wechat/credits_info.html' },
          ],
        },
      ],
    });
    // No OAuth link in the menu: a state fixed in a menu would be one anyone can replay.
    expect(JSON.stringify(menu)).not.toMatch(/oauth2|state=/);
  });

  it("keeps WeChat's limits: top-level names ≤ 16 bytes, sub-button names ≤ 60 bytes, URLs ≤ 1024 bytes", () => {
    for (const b of menu.button as Array<{ name: string; sub_button?: Array<{ name: string; url: string }> }>) {
      expect(Buffer.byteLength(b.name)).toBeLessThanOrEqual(16);
      for (const s of b.sub_button ?? []) {
        expect(Buffer.byteLength(s.name)).toBeLessThanOrEqual(60);
        expect(Buffer.byteLength(s.url)).toBeLessThanOrEqual(1024);
      }
    }
  });
});
