import { ConfigError } from '../config/config-error';
import { creditPackagesOf, parseCreditPackages, priceList } from './price-list';

const pricing = (PROD: object = {}, TEST: object = {}, useTestPrice = false) => ({ useTestPrice, priceLists: { PROD, TEST } });

/** The ConfigError a price list is refused with (main.ts prints its message and exits). */
function refusal(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('not refused');
}

describe('creditPackagesOf (docs/config.md "Prices and credits")', () => {
  it('nothing set: the default lists, PROD unless USE_TEST_PRICE', () => {
    expect(creditPackagesOf(pricing())).toEqual([
      { credits: 10, priceFen: 990 },
      { credits: 20, priceFen: 1800 },
      { credits: 50, priceFen: 3900 },
      { credits: 100, priceFen: 6900 },
    ]);
    expect(creditPackagesOf(pricing({}, {}, true))).toEqual([
      { credits: 1, priceFen: 1 },
      { credits: 5, priceFen: 5 },
      { credits: 10, priceFen: 10 },
    ]);
  });

  it('both lists are checked whichever is in use', () => {
    expect(refusal(() => creditPackagesOf(pricing({}, { packages: '1:0.01;1:0.02' }))).variable).toBe('CREDITS_PACKAGES_TEST');
    expect(refusal(() => creditPackagesOf(pricing({ amounts: '10' }, {}, true))).variable).toBe('CREDITS_PRICE_PROD');
  });
});

describe('priceList', () => {
  it('CREDITS_PACKAGES_* wins over the legacy pair', () => {
    expect(priceList({ packages: '10:9.9', amounts: '20', unitPrice: '1' }, 'PROD')).toEqual([{ credits: 10, priceFen: 990 }]);
  });

  it('legacy CREDITS_AMOUNTS_* × CREDITS_PRICE_* build packages exactly in fen', () => {
    expect(priceList({ amounts: '10,20;50', unitPrice: '0.99' }, 'PROD')).toEqual([
      { credits: 10, priceFen: 990 },
      { credits: 20, priceFen: 1980 },
      { credits: 50, priceFen: 4950 },
    ]);
    expect(priceList({ amounts: '4', unitPrice: '0.0025' }, 'TEST')).toEqual([{ credits: 4, priceFen: 1 }]);
  });

  it('legacy amounts whose price is not a whole fen are refused, naming the amounts', () => {
    const e = refusal(() => priceList({ amounts: '3', unitPrice: '0.333' }, 'PROD'));
    expect(e.message).toBe('Invalid configuration: CREDITS_AMOUNTS_PROD × unit price is not a whole number of fen for 3');
  });

  it('a legacy amount of 0 or a zero unit price is refused', () => {
    expect(refusal(() => priceList({ amounts: '0,10', unitPrice: '1' }, 'PROD')).reason).toBe('has an invalid amount "0"');
    expect(refusal(() => priceList({ amounts: '10', unitPrice: '0' }, 'PROD')).reason).toBe('has an invalid amount "10"');
  });

  it('half a legacy pair names the missing half', () => {
    expect(refusal(() => priceList({ amounts: '10,20' }, 'PROD')).message).toBe(
      'Invalid configuration: CREDITS_PRICE_PROD must be set together with its pair',
    );
    expect(refusal(() => priceList({ unitPrice: '0.99' }, 'TEST')).variable).toBe('CREDITS_AMOUNTS_TEST');
  });
});

describe('parseCreditPackages', () => {
  it('reads credits:price pairs separated by ";" or ",", with spaces and up to 2 decimals', () => {
    expect(parseCreditPackages(' 10:9.90, 30 : 25;', 'CREDITS_PACKAGES_PROD')).toEqual([
      { credits: 10, priceFen: 990 },
      { credits: 30, priceFen: 2500 },
    ]);
  });

  it.each([
    ['10:9.9;10:8', 'lists 10 credits twice'],
    ['10:0', 'has a zero price for 10 credits'],
    ['10:0.00', 'has a zero price for 10 credits'],
    ['0:1', 'has an invalid credit amount "0"'],
    ['1000001:1', 'has an invalid credit amount "1000001"'],
    [';', 'lists no package'],
  ])('%s is refused: %s', (spec, reason) => {
    const e = refusal(() => parseCreditPackages(spec, 'CREDITS_PACKAGES_PROD'));
    expect(e.variable).toBe('CREDITS_PACKAGES_PROD');
    expect(e.message).toBe(`Invalid configuration: CREDITS_PACKAGES_PROD ${reason}`);
  });
});
