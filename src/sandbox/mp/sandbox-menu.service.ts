import { Injectable } from '@nestjs/common';
import { randomInt } from 'node:crypto';
import { isObject } from '../core/sandbox-json';
import { SandboxStore } from '../core/sandbox.store';
import { WX_OK, WxErrcode, wxError } from './sandbox-wx-errors';

const TYPES_WITH_KEY = [
  'click',
  'scancode_push',
  'scancode_waitmsg',
  'pic_sysphoto',
  'pic_photo_or_album',
  'pic_weixin',
  'location_select',
];
const TYPES = [...TYPES_WITH_KEY, 'view', 'media_id', 'article_id', 'article_view_limited', 'miniprogram'];

type Button = Record<string, unknown>;

function bytes(s: unknown): number {
  return typeof s === 'string' ? Buffer.byteLength(s, 'utf8') : 0;
}

/** Errcodes for a top-level button vs a sub button (WeChat distinguishes them). */
const CODES = {
  top: { name: 40018, type: 40017, key: 40019, urlSize: 40020, urlDomain: 40055, nameMax: 16 },
  sub: { name: 40025, type: 40024, key: 40026, urlSize: 40027, urlDomain: 40054, nameMax: 60 },
} as const;

/** `menu/create`, `menu/get`, `menu/delete`, with WeChat's structural checks. */
@Injectable()
export class SandboxMenuService {
  constructor(private readonly store: SandboxStore) {}

  create(body: unknown): object {
    if (body === undefined || body === null) return wxError(44002);
    if (!isObject(body)) return wxError(47001);
    const buttons = body.button;
    if (!Array.isArray(buttons) || buttons.length < 1 || buttons.length > 3) return wxError(40016);
    for (const button of buttons) {
      if (!isObject(button)) return wxError(47001);
      const subs = button.sub_button;
      if (Array.isArray(subs) && subs.length > 0) {
        if (subs.length > 5) return wxError(40023);
        if (!button.name || bytes(button.name) > CODES.top.nameMax) return wxError(40018);
        for (const sub of subs) {
          if (!isObject(sub)) return wxError(47001);
          if (Array.isArray(sub.sub_button) && sub.sub_button.length > 0) return wxError(40024, 'sub buttons cannot nest');
          const error = this.leafError(sub, 'sub');
          if (error) return wxError(error);
        }
      } else {
        if (subs !== undefined && !Array.isArray(subs)) return wxError(47001);
        const error = this.leafError(button, 'top');
        if (error) return wxError(error);
      }
    }
    this.store.menu = { button: structuredClone(buttons), menuid: randomInt(100_000_000, 999_999_999) };
    this.store.count('menu_creates');
    return { ...WX_OK };
  }

  private leafError(button: Button, level: 'top' | 'sub'): WxErrcode | null {
    const c = CODES[level];
    if (typeof button.name !== 'string' || button.name === '' || bytes(button.name) > c.nameMax) return c.name;
    if (typeof button.type !== 'string' || !TYPES.includes(button.type)) return c.type;
    if (TYPES_WITH_KEY.includes(button.type) && (typeof button.key !== 'string' || button.key === '' || bytes(button.key) > 128))
      return c.key;
    if (button.type === 'view' || button.type === 'miniprogram') {
      if (typeof button.url !== 'string' || button.url === '' || bytes(button.url) > 1024) return c.urlSize;
      if (!/^https?:\/\/[^\s/]+/i.test(button.url)) return c.urlDomain;
    }
    if (button.type === 'miniprogram' && (typeof button.appid !== 'string' || typeof button.pagepath !== 'string')) return c.type;
    if (
      (button.type === 'media_id' || button.type === 'article_id' || button.type === 'article_view_limited') &&
      typeof button.media_id !== 'string' &&
      typeof button.article_id !== 'string'
    ) {
      return c.type;
    }
    return null;
  }

  /** WeChat's shape: every button carries `sub_button` (empty for leaves). */
  get(): object {
    const menu = this.store.menu;
    if (!menu) return wxError(46003);
    const withSubs = (b: unknown): unknown => {
      const button = { ...(b as Button) };
      button.sub_button = Array.isArray(button.sub_button) ? button.sub_button.map(withSubs) : [];
      return button;
    };
    return { menu: { button: menu.button.map(withSubs), menuid: menu.menuid } };
  }

  delete(): object {
    this.store.menu = null;
    return { ...WX_OK };
  }
}
