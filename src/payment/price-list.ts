import type { AppConfig, PriceListVariables } from '../config/app-config';
import { ConfigError } from '../config/config-error';
import { yuanToFen } from '../config/money';

/** One package of credits on sale: how many, for how much (fen). */
export interface CreditPackage {
  credits: number;
  priceFen: number;
}

type Suffix = 'PROD' | 'TEST';

/** The lists on sale when neither `CREDITS_PACKAGES_*` nor the legacy pair is set (docs/config.md). */
const DEFAULT_PACKAGES: Record<Suffix, string> = { PROD: '10:9.9;20:18;50:39;100:69', TEST: '1:0.01;5:0.05;10:0.1' };

/**
 * The credit packages on sale (`USE_TEST_PRICE` picks the `_TEST` list). Both lists are read, so a
 * bad one is refused whichever is in use: main.ts calls this at start (a ConfigError stops the
 * process with one line), PricingService when it is built.
 */
export function creditPackagesOf(pricing: Pick<AppConfig['pricing'], 'useTestPrice' | 'priceLists'>): CreditPackage[] {
  const prod = priceList(pricing.priceLists.PROD, 'PROD');
  const test = priceList(pricing.priceLists.TEST, 'TEST');
  return pricing.useTestPrice ? test : prod;
}

/** One list: `CREDITS_PACKAGES_*`, else the legacy pair (both or neither), else the default. */
export function priceList(vars: PriceListVariables, suffix: Suffix): CreditPackage[] {
  if (vars.packages) return parseCreditPackages(vars.packages, `CREDITS_PACKAGES_${suffix}`);
  if (vars.amounts && vars.unitPrice) return legacyPackages(vars.amounts, vars.unitPrice, `CREDITS_AMOUNTS_${suffix}`);
  if (vars.amounts || vars.unitPrice) {
    throw new ConfigError(vars.amounts ? `CREDITS_PRICE_${suffix}` : `CREDITS_AMOUNTS_${suffix}`, 'must be set together with its pair');
  }
  return parseCreditPackages(DEFAULT_PACKAGES[suffix], `CREDITS_PACKAGES_${suffix}`);
}

/** `10:9.9;20:18` → [{credits:10, priceFen:990}, …]; duplicates and zero credits are refused. */
export function parseCreditPackages(spec: string, variable: string): CreditPackage[] {
  const out: CreditPackage[] = [];
  for (const part of spec
    .split(/[;,]/)
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [c, p] = part.split(':').map((x) => x.trim());
    const credits = Number(c);
    const priceFen = yuanToFen(p);
    if (!Number.isSafeInteger(credits) || credits <= 0 || credits > 1_000_000) {
      throw new ConfigError(variable, `has an invalid credit amount "${c}"`);
    }
    if (priceFen <= 0) throw new ConfigError(variable, `has a zero price for ${credits} credits`);
    if (out.some((x) => x.credits === credits)) throw new ConfigError(variable, `lists ${credits} credits twice`);
    out.push({ credits, priceFen });
  }
  if (out.length === 0) throw new ConfigError(variable, 'lists no package');
  return out;
}

/** Legacy pair: amounts "10,20,50" × unit price "0.99" → packages, exact in fen or refused. */
function legacyPackages(amounts: string, unitPrice: string, variable: string): CreditPackage[] {
  const [int, dec = ''] = unitPrice.split('.');
  const unitTenThousandths = Number(int) * 10000 + Number(dec.padEnd(4, '0'));
  return amounts
    .split(/[;,]/)
    .map((a) => a.trim())
    .filter(Boolean)
    .map((a) => {
      const credits = Number(a);
      const total = credits * unitTenThousandths; // in 1/10000 yuan = 1/100 fen
      if (total % 100 !== 0) throw new ConfigError(variable, `× unit price is not a whole number of fen for ${credits}`);
      if (credits <= 0 || total <= 0) throw new ConfigError(variable, `has an invalid amount "${a}"`);
      return { credits, priceFen: total / 100 };
    });
}
