import { Injectable, Logger } from '@nestjs/common';
import { DomainError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { MenuDefinition, OfficialAccountClient } from '../wechat/official-account.client';
import { WechatApiError, WechatUnavailableError } from '../wechat/official-account.errors';

export const MENU_CREATED_MESSAGE = '菜单创建成功';
export const CREATE_MENU_FAILED_DETAIL = '创建菜单失败';
export const GET_MENU_FAILED_DETAIL = '获取菜单失败';
/** menu/get when the account has no menu: not an error for us. */
const MENU_NOT_EXIST_ERRCODE = 46003;

/**
 * The member pages the menu opens. The links open the page itself, never WeChat's OAuth: the page
 * starts the login with a state of its own and refuses codes it did not ask for (login CSRF).
 */
export const MENU_PAGES = [
  { name: '开通会员', page: 'member.html' },
  { name: '购买额度', page: 'credits.html' },
  { name: '额度查询', page: 'credits_info.html' },
] as const;

export interface CreateMenuView {
  success: true;
  message: string;
  menu_structure: MenuDefinition;
  wechat_response: Record<string, unknown>;
}

export interface GetMenuView {
  success: true;
  menu: unknown;
  conditionalmenu: unknown;
}

/** The official account's custom menu (admin): built from config, published with `menu/create`. */
@Injectable()
export class MenuService {
  private readonly logger = new Logger(MenuService.name);

  constructor(
    private readonly wechat: OfficialAccountClient,
    private readonly config: AppConfig,
  ) {}

  /** 芯图相册 → HOMEPAGE_URL; 会员服务 → the three pages (`PUBLIC_BASE_URL/wechat/<page>`), which log in themselves. */
  defaultMenu(): MenuDefinition {
    const base = `${this.config.http.publicBaseUrl}/wechat`;
    return {
      button: [
        { type: 'view', name: '芯图相册', url: this.config.http.homepageUrl },
        { name: '会员服务', sub_button: MENU_PAGES.map((p) => ({ type: 'view', name: p.name, url: `${base}/${p.page}` })) },
      ],
    };
  }

  /** `menu/create` replaces the menu atomically, so there is no delete first (no menu-less window). */
  async create(override?: Record<string, unknown>): Promise<CreateMenuView> {
    let menu: MenuDefinition;
    if (override === undefined) {
      menu = this.defaultMenu();
    } else {
      if (!Array.isArray(override.button)) throw new DomainError(400, 'menu: button must be an array');
      menu = override as MenuDefinition;
    }
    let answer: Record<string, unknown>;
    try {
      answer = { ...(await this.wechat.createMenu(menu)) };
    } catch (err) {
      throw this.failure(err, CREATE_MENU_FAILED_DETAIL);
    }
    this.logger.log('menu published');
    return { success: true, message: MENU_CREATED_MESSAGE, menu_structure: menu, wechat_response: { errcode: 0, errmsg: 'ok', ...answer } };
  }

  async get(): Promise<GetMenuView> {
    try {
      const res = await this.wechat.getMenu();
      return { success: true, menu: res.menu ?? null, conditionalmenu: res.conditionalmenu ?? null };
    } catch (err) {
      if (err instanceof WechatApiError && err.errcode === MENU_NOT_EXIST_ERRCODE)
        return { success: true, menu: null, conditionalmenu: null };
      throw this.failure(err, GET_MENU_FAILED_DETAIL);
    }
  }

  /** WeChat refused (the detail names its errcode/errmsg, for the operator) or was unreachable: 502. */
  private failure(err: unknown, detail: string): unknown {
    if (err instanceof WechatApiError) {
      this.logger.warn(`${err.api} refused: errcode ${err.errcode} ${err.errmsg}`);
      return new DomainError(502, `${detail}: ${err.errcode} ${err.errmsg}`);
    }
    if (err instanceof WechatUnavailableError) {
      this.logger.warn(err.message);
      return new DomainError(502, detail);
    }
    return err;
  }
}
