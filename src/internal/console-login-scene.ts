/**
 * What the push path needs to know about console login codes, without touching the database (the
 * push handler also runs in role `web`): the scene prefix, distinct from the desktop binding scenes
 * (`bind_…`, decimal legacy ids), and the replies the scanning operator reads in WeChat.
 */
export const CONSOLE_SCENE_PREFIX = 'console_';
/** What a console scene can look like at all (the prefix and 20 base64url characters, with room to spare). */
export const CONSOLE_SCENE_PATTERN = /^console_[A-Za-z0-9_-]{1,56}$/;

export const CONSOLE_LOGIN_TEXTS = {
  approved: '已确认登录运营后台。请回到浏览器继续操作；如非本人操作，请立即联系管理员。',
  refused: '您没有运营后台的权限，本次登录已被拒绝并记录。',
  expired: '登录二维码已失效，请在浏览器刷新后重新扫码。',
} as const;

export type ConsoleLoginResult = 'approved' | 'refused' | 'expired';
