import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { fenToYuanNumber } from '../config/money';
import type { OrderType } from './entities/payment-order.entity';
import { CreditPackage, creditPackagesOf } from './price-list';

export interface PricedItem {
  orderType: OrderType;
  amountFen: number;
  /** Credits bought (credits orders) or granted as the member bonus (member orders). */
  credits: number;
  description: string;
}

/** Prices from configuration; only configured packages can be bought (money in fen). */
@Injectable()
export class PricingService {
  private readonly packages: CreditPackage[];

  constructor(private readonly config: AppConfig) {
    this.packages = creditPackagesOf(config.pricing);
  }

  /** null when the request names no configured package. */
  price(orderType: OrderType, creditsAmount?: number): PricedItem | null {
    const p = this.config.pricing;
    if (orderType === 'member') {
      const days = p.memberDurationDays;
      return {
        orderType,
        amountFen: p.memberPriceFen,
        credits: p.memberBonusCredits,
        description: days > 0 ? `会员${days}天` : '终身会员',
      };
    }
    const pkg = this.packages.find((c) => c.credits === creditsAmount);
    return pkg ? { orderType, amountFen: pkg.priceFen, credits: pkg.credits, description: `图片编辑额度${pkg.credits}张` } : null;
  }

  /** GET /payment/prices (docs/api.md). */
  view() {
    const p = this.config.pricing;
    const first = this.packages[0];
    return {
      success: true as const,
      data: {
        member_price: fenToYuanNumber(p.memberPriceFen),
        // Per-credit price of the first package, half-up to two decimals (kept for old pages).
        credits_price: Math.round(first.priceFen / first.credits) / 100,
        credits_amount: first.credits,
        credits_packages: this.packages.map((c) => ({ credits: c.credits, price: fenToYuanNumber(c.priceFen) })),
        member_duration_days: p.memberDurationDays,
        member_bonus_credits: p.memberBonusCredits,
        is_test_price: p.useTestPrice,
      },
    };
  }
}
